"""The direct writers write exactly the bytes of the element-tree serializers (issue 12).

``encode_message`` writes messages straight to bytes (``codec.writers``); the element tree
(``message_to_element``) and its serializers stay for the CLI and for WBXML options. Both
consume one element stream (``mapping.write_message``), and these tests hold them to the same
bytes, or the same ``EncodeError``, on generated messages and every corpus message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datapaths import CORPUS
from hypothesis import given, settings
from strategies import messages

from dmproto.codec import Encoding, WbxmlOptions, decode_message, encode_message
from dmproto.codec.mapping import message_to_element
from dmproto.codec.model import Item, Location, Message, Meta, Replace, SyncHdr, XmlData
from dmproto.codec.wbxml import serialize_wbxml
from dmproto.codec.writers import write_wbxml, write_xml
from dmproto.codec.xml import _text, serialize_xml
from dmproto.errors import EncodeError, MalformedMessageError

FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "ORIGIN.md")


def result(write: object, message: Message) -> bytes | str:
    try:
        return write(message)  # type: ignore[operator,no-any-return]
    except EncodeError as exc:
        return exc.reason


def same_bytes(message: Message) -> None:
    assert result(write_xml, message) == result(
        lambda m: serialize_xml(message_to_element(m)), message
    )
    assert result(write_wbxml, message) == result(
        lambda m: serialize_wbxml(message_to_element(m)), message
    )


@settings(max_examples=200, deadline=None)
@given(messages(data_kinds=("str", "bytes", "xml")))
def test_generated_messages_are_written_as_the_tree_writes_them(message: Message) -> None:
    same_bytes(message)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_corpus_messages_are_written_as_the_tree_writes_them(path: Path) -> None:
    try:
        message = decode_message(path.read_bytes())
    except MalformedMessageError:
        return  # not a message (test_corpus.py classifies these)
    same_bytes(message)


HEADER = SyncHdr(
    session_id="1",
    msg_id="1",
    target=Location(loc_uri="srv"),
    source=Location(loc_uri="dev"),
)


@pytest.mark.parametrize(
    "item",
    [
        Item(data=""),
        Item(data=b""),
        Item(data=b"\x00\xff"),
        Item(data=XmlData("")),
        Item(data="a\x00b"),
        Item(data="\ud800"),
        Item(data="\x01"),
        Item(meta=Meta(), data="x"),
        Item(meta=Meta(format=""), more_data=True),
        Item(),
    ],
    ids=repr,
)
def test_edge_values_are_written_or_refused_alike(item: Item) -> None:
    same_bytes(Message(header=HEADER, commands=(Replace(items=(item,)),)))


def test_empty_containers_and_version_11_root() -> None:
    message = Message(header=attrs_11(), commands=(Replace(),))
    same_bytes(message)
    assert write_xml(message).startswith(b'<SyncML xmlns="SYNCML:SYNCML1.1"><SyncHdr>')
    assert b"<SyncBody><Replace/></SyncBody>" in write_xml(message)


def attrs_11() -> SyncHdr:
    return SyncHdr(
        ver_dtd="1.1",
        ver_proto="DM/1.1",
        session_id="1",
        msg_id="1",
        target=Location(loc_uri="srv"),
        source=Location(loc_uri="dev"),
    )


def test_wbxml_options_still_take_the_tree() -> None:
    message = Message(
        header=HEADER, commands=(Replace(items=(Item(data="value"), Item(data="value"))),)
    )
    options = WbxmlOptions(string_table=True)
    body = encode_message(message, Encoding.WBXML, wbxml_options=options)
    assert body == serialize_wbxml(message_to_element(message), options=options)
    assert body != encode_message(message, Encoding.WBXML)
    assert decode_message(body) == message


def _text_by_rule(char: str) -> str | None:
    """What XML 1.0 makes of one character: refused (None), escaped, or itself."""
    code = ord(char)
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
    allowed = allowed or code >= 0x10000
    if not allowed:
        return None
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}.get(char, char)


def test_every_code_point_is_written_escaped_or_refused_by_the_xml_char_rule() -> None:
    # The writer's fast path skips escaping when a regex finds nothing special: a
    # character missing from that regex would be written raw (XML 1.0 §2.2, §2.4).
    for code in range(0x110000):
        char = chr(code)
        expected = _text_by_rule(char)
        try:
            written = _text(f"a{char}b")
        except EncodeError as exc:
            assert expected is None, f"U+{code:04X} refused"
            assert exc.reason == "xml.invalid-char"
        else:
            assert written == f"a{expected}b", f"U+{code:04X}"
