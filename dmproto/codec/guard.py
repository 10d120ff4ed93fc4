"""The input-size check every decoder runs first (CONTRIBUTING.md#limits-before-work)."""

from __future__ import annotations

from ..errors import MalformedMessageError
from ..limits import Limits

__all__ = ["check_message_size"]


def check_message_size(size: int, limits: Limits, what: str) -> None:
    """Raise ``limit.message-size`` (status hint 413) when ``size`` bytes of ``what``
    exceed ``limits.max_message_size``; the position is the first byte over the limit."""
    # CONTRIBUTING.md#limits-before-work: the size limit is checked before any parsing.
    if size > limits.max_message_size:
        raise MalformedMessageError(
            "limit.message-size",
            f"{what} of {size} bytes exceeds max_message_size {limits.max_message_size}",
            position=limits.max_message_size,
            status_hint=413,
        )
