"""Encode and decode whole SyncML DM messages (XML and WBXML).

Entry points::

    message = decode_message(body)                      # encoding sniffed from the bytes
    body = encode_message(message, Encoding.WBXML)

Decoders raise :class:`dmproto.errors.MalformedMessageError` for any input they cannot
read, within the bounds of :class:`dmproto.limits.Limits`; nothing else escapes.

How (issue 12): XML is parsed by expat straight into the C tree builder of ``xml.etree``
(:mod:`.fastxml`) and WBXML by a lean token loop (:mod:`.wbxml_fast`) that reads only the
regular shape (plain tags, one inline string per element); one pass of :mod:`.reading`
builds the model from either tree. A message either path cannot reproduce exactly, and
every error or limit, is read again by the positioned reference of its encoding,
:func:`.xml.parse_xml` or :func:`.wbxml.parse_wbxml`, which reports the error.
Encoding writes bytes directly (:mod:`.writers`) from the one DTD-order walk of
:func:`.mapping.write_message`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from ..errors import MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from .fastxml import parse_tree
from .guard import check_message_size
from .mapping import message_to_element
from .model import Message, SyncHdr
from .reading import Irregular, Node, header_from_tree, message_from_tree
from .utf16 import is_utf16_xml
from .wbxml import WbxmlOptions, parse_wbxml, parse_wbxml_tree, serialize_wbxml
from .writers import write_wbxml, write_xml
from .xml import parse_xml

__all__ = [
    "Encoding",
    "WbxmlOptions",
    "decode_header",
    "decode_message",
    "detect_encoding",
    "encode_message",
]


class Encoding(enum.Enum):
    """The two representations of a DM message (OMA-TS-DM_RepPro-V1_2_1 §4.1)."""

    XML = "xml"
    WBXML = "wbxml"

    @property
    def media_type(self) -> str:
        """The DM media type: ``application/vnd.syncml.dm+xml`` or ``+wbxml``."""
        return f"application/vnd.syncml.dm+{self.value}"


def detect_encoding(data: bytes) -> Encoding:
    """Tell XML from WBXML by the first bytes.

    WBXML starts with its version byte (0x01–0x03, WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1);
    XML with ``<``, optionally after a UTF-8 byte-order mark or white space, or is UTF-16 (a
    byte-order mark, or ``<?`` in UTF-16 without one: see :mod:`.utf16`).

    Raises:
        MalformedMessageError: ``detect.unknown`` when it is neither.
    """
    if is_utf16_xml(data):
        return Encoding.XML
    if data[:1] in (b"\x00", b"\x01", b"\x02", b"\x03"):
        return Encoding.WBXML
    head = data[:256]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.lstrip(b" \t\r\n").startswith(b"<"):
        return Encoding.XML
    raise MalformedMessageError("detect.unknown", "input is neither XML nor WBXML", position=0)


def decode_message(
    data: bytes, *, encoding: Encoding | None = None, limits: Limits = DEFAULT_LIMITS
) -> Message:
    """Decode one DM message.

    Args:
        data: the whole message body.
        encoding: XML or WBXML; sniffed from the bytes when ``None``.
        limits: bounds on the input, checked before and while parsing.

    Raises:
        MalformedMessageError: the input is not a readable DM message or exceeds a
            limit (reasons ``limit.*``, ``xml.*``, ``wbxml.*``, ``message.*``).
    """
    return _read(data, encoding, limits, message_from_tree)


def decode_header(
    data: bytes, *, encoding: Encoding | None = None, limits: Limits = DEFAULT_LIMITS
) -> SyncHdr:
    """Decode only the ``SyncHdr`` of one DM message (to route it: SessionID, Source,
    MsgID, Cred), without building the body's commands.

    The whole input is still parsed (well-formedness and every limit of
    :func:`decode_message`), so a message this accepts may still fail
    :func:`decode_message` on its body (a malformed command).

    Raises:
        MalformedMessageError: as :func:`decode_message`, for the document and header.
    """
    return _read(data, encoding, limits, header_from_tree)


_T = TypeVar("_T")


def _read(
    data: bytes,
    encoding: Encoding | None,
    limits: Limits,
    read: Callable[..., _T],
) -> _T:
    """``read`` the tree of the hot path (:mod:`.fastxml`, :func:`.wbxml.parse_wbxml_tree`),
    else, or on any error, the positioned tree: the reference for every error."""
    check_message_size(len(data), limits, "message")
    if encoding is None:
        encoding = detect_encoding(data)
    xml = encoding is Encoding.XML
    try:
        tree = parse_tree(data, limits) if xml else parse_wbxml_tree(data, limits=limits)
        if tree is not None:
            return read(tree, limits=limits)
    except (Irregular, MalformedMessageError):
        pass  # read again with positions
    root: Node = parse_xml(data, limits=limits) if xml else parse_wbxml(data, limits=limits).root
    return read(root, limits=limits)


def encode_message(
    message: Message,
    encoding: Encoding = Encoding.XML,
    *,
    wbxml_options: WbxmlOptions | None = None,
) -> bytes:
    """Encode one DM message, deterministically.

    XML: UTF-8, no prolog, ``xmlns`` on the root and on each MetInf child.
    WBXML: version 1.2, public id 0x1201 unless ``wbxml_options`` says otherwise.

    Raises:
        EncodeError: the model cannot be written in that encoding (e.g. ``bytes``
            Data as XML).
    """
    if encoding is Encoding.XML:
        return write_xml(message)
    if wbxml_options is None:
        return write_wbxml(message)
    return serialize_wbxml(message_to_element(message), options=wbxml_options)
