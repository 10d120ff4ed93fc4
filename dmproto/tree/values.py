"""Node value formats: wire Meta Format <-> stored value, and value validation
(OMA-TS-DM_TND-V1_2 §8.3 "Format values", §8.3.7.2).

Stored values are ``str`` for text formats, ``bytes`` for ``bin`` and ``None`` for
``null``/interior nodes. Binary arrives as Meta Format ``b64`` (XML) or ``bin``
(WBXML OPAQUE) and is always stored as ``bytes`` with Format ``bin``. Values whose
text does not match their Format (``int``, ``bool``, ``float``, ``date``, ``time``)
are refused with 415, as the Android engine does.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re

from ..codec.model import XmlData
from ..codes import StatusCode
from .errors import TreeCommandError

__all__ = ["BinaryWire", "NodeFormat", "Value", "value_from_wire", "value_size", "value_to_wire"]

Value = str | bytes | None


class NodeFormat(enum.Enum):
    """The Format property values (OMA-TS-DM_TND-V1_2 §8.3)."""

    B64 = "b64"
    BIN = "bin"
    BOOL = "bool"
    CHR = "chr"
    INT = "int"
    NODE = "node"
    NULL = "null"
    XML = "xml"
    DATE = "date"
    TIME = "time"
    FLOAT = "float"


class BinaryWire(enum.Enum):
    """How binary leaf values leave the tree in Results Items.

    ``B64`` (default) writes base64 text with Meta Format ``b64`` — valid in XML and
    WBXML (OMA-TS-DM_TND-V1_2 §8.3); ``BIN`` hands raw ``bytes`` with Format ``bin`` (WBXML only).
    """

    B64 = "b64"
    BIN = "bin"


_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MM = r"(?:0[1-9]|1[0-2])"
_DD = r"(?:0[1-9]|[12][0-9]|3[01])"
_DDD = r"(?:00[1-9]|0[1-9][0-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-6])"
_WW = r"(?:0[1-9]|[1-4][0-9]|5[0-3])"
# ISO 8601 dates with century, extended and basic forms (the Android engine's set).
_DATE = re.compile(
    rf"[0-9]{{4}}(?:-{_MM}-{_DD}|-{_MM}|-{_DDD}|-W{_WW}(?:-[1-7])?"
    rf"|{_MM}{_DD}|{_MM}|{_DDD}|W{_WW}[1-7]?)?"
)
_HH = r"(?:[01][0-9]|2[0-3])"
_MI = r"[0-5][0-9]"
_SS = r"(?:[0-5][0-9]|60)"
# ISO 8601 times: hh:mm:ss, hh:mm, hhmmss, hhmm, hh, with Z or +-hh:mm.
_TIME = re.compile(
    rf"(?:{_HH}:{_MI}:{_SS}|{_HH}:{_MI}|{_HH}{_MI}{_SS}|{_HH}{_MI}|{_HH})(?:Z|[+-]{_HH}:{_MI})?"
)


def _valid_text(fmt: NodeFormat, text: str) -> bool:
    if fmt is NodeFormat.INT:
        # OMA-TS-DM_TND-V1_2 §8.3: int is a 32-bit signed decimal integer.
        return bool(_INT.fullmatch(text)) and -(2**31) <= int(text) < 2**31
    if fmt is NodeFormat.BOOL:
        return text.lower() in ("true", "false")
    if fmt is NodeFormat.FLOAT:
        return bool(_FLOAT.fullmatch(text))
    if fmt is NodeFormat.DATE:
        return bool(_DATE.fullmatch(text))
    if fmt is NodeFormat.TIME:
        return bool(_TIME.fullmatch(text))
    return True


def _unsupported(detail: str) -> TreeCommandError:
    return TreeCommandError(StatusCode.UNSUPPORTED_MEDIA_TYPE, "value.format", detail)


def parse_format(name: str | None) -> NodeFormat:
    """Meta Format text -> :class:`NodeFormat` (default ``chr``); unknown -> 415."""
    try:
        return NodeFormat(name or "chr")
    except ValueError:
        raise _unsupported("unsupported Format") from None


def value_from_wire(
    data: str | bytes | XmlData | None, format_name: str | None
) -> tuple[NodeFormat, Value]:
    """Decode Item Data with its Meta Format into the stored ``(format, value)``."""
    fmt = parse_format(format_name)
    if fmt is NodeFormat.NODE:
        return fmt, None
    if isinstance(data, XmlData):
        data = data.text
    if fmt is NodeFormat.NULL:
        if data:
            raise _unsupported("null Format with a value")
        return fmt, None
    if fmt in (NodeFormat.B64, NodeFormat.BIN):
        # OMA-TS-DM_TND-V1_2 §8.3: b64 on the wire is decoded and stored as bin.
        if isinstance(data, str) and fmt is NodeFormat.B64:
            try:
                return NodeFormat.BIN, base64.b64decode(data.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError):
                raise _unsupported("invalid base64 data") from None
        if isinstance(data, str):
            return NodeFormat.BIN, data.encode("utf-8")
        return NodeFormat.BIN, data or b""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise _unsupported("text Format with non-UTF-8 data") from None
    text = data or ""
    if not _valid_text(fmt, text):
        raise _unsupported(f"value does not match Format {fmt.value}")
    return fmt, text


def value_to_wire(
    fmt: NodeFormat, value: Value, binary: BinaryWire
) -> tuple[str | bytes | None, str]:
    """Stored ``(format, value)`` -> Item Data and its Meta Format name."""
    if isinstance(value, bytes):
        if binary is BinaryWire.BIN:
            return value, NodeFormat.BIN.value
        return base64.b64encode(value).decode("ascii"), NodeFormat.B64.value
    return value, fmt.value


def value_size(value: Value) -> int:
    """Size property: unencoded byte length (OMA-TS-DM_TND-V1_2 §8.3)."""
    if value is None:
        return 0
    return len(value) if isinstance(value, bytes) else len(value.encode("utf-8"))
