"""Base64 as DM uses it (RFC 2045 alphabet, with padding), read leniently, written strictly.

Readers accept embedded ASCII whitespace (line-wrapped values from MIME-minded
encoders) and missing ``=`` padding — both seen in the field — and reject anything
else with :class:`~dmproto.errors.MalformedMessageError`, never ``binascii.Error``.
"""

from __future__ import annotations

import base64
import binascii
import re

from ..errors import MalformedMessageError

__all__ = ["b64decode_lenient", "b64encode_text"]

_WHITESPACE = re.compile(r"[ \t\r\n\f\v]+")
# Body of base64 text once whitespace is gone: alphabet, then at most two '='.
_B64_TEXT = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def b64encode_text(data: bytes) -> str:
    """Standard base64 with padding, as text (OMA-TS-DM_Security-V1_2_1 §5.1: B64 = RFC 2045
    base64)."""
    return base64.b64encode(data).decode("ascii")


def b64decode_lenient(text: str, *, reason: str) -> bytes:
    """Decode base64 *text*; whitespace and missing padding are tolerated.

    Raises:
        MalformedMessageError: with ``reason`` when the text is not base64.
    """
    compact = _WHITESPACE.sub("", text)
    if not _B64_TEXT.fullmatch(compact):
        raise MalformedMessageError(reason, "not base64 text")
    unpadded = compact.rstrip("=")
    if len(unpadded) % 4 == 1:
        raise MalformedMessageError(reason, "base64 text has an impossible length")
    padded = unpadded + "=" * (-len(unpadded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex prevents it
        raise MalformedMessageError(reason, "not base64 text") from exc
