"""Transport header fields as the core sees them: ``(name, value)`` pairs.

A session reads one header (``x-syncml-hmac``, OMA-TS-DM_Security-V1_2_1 §5.1) and
the HTTP binding several; both look them up here. Names compare case-insensitively
(HTTP field names are case-insensitive).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Headers", "header_value"]

Headers = Iterable[tuple[str, str]]


def header_value(headers: Headers, name: str) -> str | None:
    """The value of the first header called ``name`` (case-insensitive), or ``None``."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None
