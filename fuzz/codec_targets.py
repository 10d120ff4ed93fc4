"""Fuzz targets for the message codecs and TNDS/DDF documents.

Each target is a plain ``def target(data: bytes) -> None``. Base invariant
(CONTRIBUTING.md#the-fuzzing-invariant, from h11's afl harness): only
:class:`dmproto.errors.MalformedMessageError` may escape a decoder; anything else is a
bug. When the input decodes, the targets also check a differential property: re-encoding
and decoding again gives the same model. Re-encoding may legitimately refuse
(``EncodeError``) values an encoding cannot carry: ``bytes`` Data or control characters
in XML, NUL in WBXML strings (which only WBXML OPAQUE can smuggle into a text element).

Run one with ``python fuzz/atheris_main.py NAME`` (atheris) or through
``tests/fuzz/test_fuzz_codec.py`` (Hypothesis); seeds live in ``fuzz/corpus/NAME/``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.model import Item, Message, XmlData
from dmproto.codec.tnds import MgmtTree, decode_tree_document, encode_tree_document
from dmproto.codec.transform import map_items
from dmproto.errors import EncodeError, MalformedMessageError
from dmproto.limits import Limits

__all__ = [
    "TARGETS",
    "decode_tree_document_target",
    "decode_wbxml",
    "decode_xml",
    "wbxml_roundtrip",
]

#: Small limits keep each run cheap; the code paths are the same as the defaults'.
LIMITS = Limits(max_message_size=256 * 1024, max_elements=20_000, max_data_size=64 * 1024)

#: Encoder refusals that are legitimate for a model decoded from arbitrary input.
_ACCEPTED_REFUSALS = frozenset({"xml.binary", "xml.invalid-char", "wbxml.nul-in-text"})


def _try_encode(message: Message, encoding: Encoding) -> bytes | None:
    try:
        return encode_message(message, encoding)
    except EncodeError as exc:
        if exc.reason not in _ACCEPTED_REFUSALS:
            raise
        return None


def xml_data_as_text(message: Message) -> Message:
    """``message`` with every :class:`XmlData` replaced by its text.

    WBXML carries XML markup inside Data as a string, so a WBXML round trip turns
    XmlData into ``str``; comparisons across encodings normalise with this.
    """

    def item(it: Item) -> Item:
        return attrs.evolve(it, data=it.data.text) if isinstance(it.data, XmlData) else it

    return map_items(message, item)


def _check_reencodings(message: Message) -> None:
    """Re-encode both ways; whatever re-encodes decodes to the same model."""
    xml = _try_encode(message, Encoding.XML)
    if xml is not None:
        assert decode_message(xml, limits=LIMITS) == message, "XML round trip differs"
    wbxml = _try_encode(message, Encoding.WBXML)
    if wbxml is not None:
        again = decode_message(wbxml, limits=LIMITS)
        assert xml_data_as_text(again) == xml_data_as_text(message), "WBXML round trip differs"


def decode_xml(data: bytes) -> None:
    """Decode as XML; if it decodes, both re-encodings round trip."""
    try:
        message = decode_message(data, encoding=Encoding.XML, limits=LIMITS)
    except MalformedMessageError:
        return
    _check_reencodings(message)


def decode_wbxml(data: bytes) -> None:
    """Decode as WBXML: only MalformedMessageError may escape."""
    try:
        decode_message(data, encoding=Encoding.WBXML, limits=LIMITS)
    except MalformedMessageError:
        return


def wbxml_roundtrip(data: bytes) -> None:
    """Decode as WBXML; if it decodes, re-encode both ways and compare the models."""
    try:
        message = decode_message(data, encoding=Encoding.WBXML, limits=LIMITS)
    except MalformedMessageError:
        return
    _check_reencodings(message)


def _try_encode_tree(tree: MgmtTree, wbxml: bool) -> bytes | None:
    try:
        return encode_tree_document(tree, wbxml=wbxml)
    except EncodeError as exc:
        # also "wbxml.unknown-tag": a lenient decoder keeps any Format child name
        if exc.reason not in _ACCEPTED_REFUSALS | {"wbxml.unknown-tag"}:
            raise
        return None


def decode_tree_document_target(data: bytes) -> None:
    """Decode a TNDS/DDF document (either encoding); re-encodings round trip."""
    try:
        tree = decode_tree_document(data, limits=LIMITS)
    except MalformedMessageError:
        return
    for wbxml in (False, True):
        encoded = _try_encode_tree(tree, wbxml)
        if encoded is not None:
            assert decode_tree_document(encoded, limits=LIMITS) == tree, "TNDS round trip"


TARGETS: dict[str, Callable[[bytes], None]] = {
    "decode_xml": decode_xml,
    "decode_wbxml": decode_wbxml,
    "wbxml_roundtrip": wbxml_roundtrip,
    "decode_tree_document": decode_tree_document_target,
}
