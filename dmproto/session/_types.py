"""Small public value types shared by both session roles."""

from __future__ import annotations

import enum

import attrs

__all__ = ["OutgoingMessage", "SessionState"]


class SessionState(enum.Enum):
    """Coarse session state (details live in the events)."""

    ACTIVE = "active"
    FINISHED = "finished"


@attrs.frozen(kw_only=True)
class OutgoingMessage:
    """One message to transmit.

    ``url`` (client only): where to POST — the server URI or the last RespURI.
    ``headers``: transport headers the binding must add (``x-syncml-hmac``).
    """

    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()
    url: str | None = None
