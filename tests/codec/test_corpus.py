"""Every real-world corpus file decodes (or fails with its documented error) and
re-encodes to a model-equal message, through XML and through WBXML."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from datapaths import CORPUS

from dmproto.codec import Encoding, decode_message, detect_encoding, encode_message
from dmproto.codec.model import Alert, Item, Message, Replace, XmlData
from dmproto.codec.transform import map_items
from dmproto.errors import MalformedMessageError

#: Files that are not DM messages, with the documented error decode_message raises.
NOT_MESSAGES = {
    "aosp-dm12/testinput12": "detect.unknown",  # tree-test script (text)
    "aosp-dm12/testoutput12": "detect.unknown",  # its expected output
    "aosp-dm12/testlobdata1.dat": "detect.unknown",  # large-object payload
    "aosp-dm12/testlobdata2.dat": "detect.unknown",
    "libwbxml/ddf-001.ddf": "message.root",  # a DDF document (see test_tnds.py)
    "libwbxml/syncml-011.xml": "message.root",  # a DS DevInf document
    "libwbxml/syncml-013.xml": "message.missing",  # DS fragment without SyncHdr
    "libwbxml/syncml-014.xml": "message.missing",
}

FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "ORIGIN.md")
CRASHERS = [p for p in FILES if p.name.startswith("crash-")]


def _key(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


MESSAGES = [p for p in FILES if p not in CRASHERS and _key(p) not in NOT_MESSAGES]


def _xml_data_as_text(message: Message) -> Message:
    """XmlData travels as a WBXML string (the WBXML writer's choice): compare as text."""

    def item(it: Item) -> Item:
        if isinstance(it.data, XmlData):
            return attrs.evolve(it, data=it.data.text)
        return it

    return map_items(message, item)


def test_corpus_is_classified() -> None:
    assert len(MESSAGES) >= 25
    assert len(CRASHERS) == 3
    for key in NOT_MESSAGES:
        assert (CORPUS / key).is_file(), key


@pytest.mark.parametrize("path", MESSAGES, ids=_key)
def test_message_decodes_and_reencodes(path: Path) -> None:
    data = path.read_bytes()
    message = decode_message(data)
    assert message.header.msg_id
    # XML re-encoding is model-equal (bytes Data cannot be XML: none in the corpus).
    assert decode_message(encode_message(message, Encoding.XML)) == message
    # WBXML re-encoding is model-equal, XmlData compared as its text.
    again = decode_message(encode_message(message, Encoding.WBXML))
    assert _xml_data_as_text(again) == _xml_data_as_text(message)
    # The same message read from either encoding gives the same model.
    if detect_encoding(data) is Encoding.WBXML:
        assert decode_message(encode_message(message, Encoding.XML)) == message


@pytest.mark.parametrize("key", sorted(NOT_MESSAGES))
def test_non_messages_fail_with_documented_error(key: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        decode_message((CORPUS / key).read_bytes())
    assert info.value.reason == NOT_MESSAGES[key]


@pytest.mark.parametrize("path", CRASHERS, ids=_key)
def test_libwbxml_crashers_are_malformed(path: Path) -> None:
    with pytest.raises(MalformedMessageError):
        decode_message(path.read_bytes())
    with pytest.raises(MalformedMessageError):
        decode_message(path.read_bytes(), encoding=Encoding.WBXML)


def test_unescaped_ampersand_recovered() -> None:
    # testalertconfirm.xml carries <Data>MAXDT=15&DR=1</Data> (not well-formed).
    message = decode_message((CORPUS / "aosp-dm12" / "testalertconfirm.xml").read_bytes())
    (alert,) = message.commands
    assert isinstance(alert, Alert)
    assert alert.code == 1101
    assert alert.items[0].data == "MAXDT=15&DR=1"
    assert alert.items[1].data == "Testing Confirmation Alert"


def test_windows_package1() -> None:
    message = decode_message((CORPUS / "windows" / "win10-pkg1-session1.xml").read_bytes())
    assert message.header.cred is None
    assert [c.cmd_id for c in message.commands][:2] == ["2", "3"]
    replace = next(c for c in message.commands if isinstance(c, Replace))
    assert replace.items[0].meta is None
    assert replace.items[0].data == "B5B954E81FBCB94EB79BD08BE625F4EE"


def test_wbxml_and_xml_forms_agree_for_aosp_get() -> None:
    message = decode_message((CORPUS / "aosp-dm12" / "testget.wbxml").read_bytes())
    assert message.header.session_id == "22100"
    assert message.header.meta is not None and message.header.meta.max_msg_size == 3500
    xml = encode_message(message)
    assert decode_message(xml) == message
