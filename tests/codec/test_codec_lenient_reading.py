"""What the decoders read leniently or refuse at the edges: media types, BOM sniffing,
MetInf wrappers and repeated Meta/LocURI, WBXML Data holding markup (and what XML
cannot carry of it), TNDS opaque values and text, attribute values in WBXML
attribute lists."""

from __future__ import annotations

import pytest
from wbxml_samples import wbxml_with_data_markup

from dmproto.codec import Encoding, decode_message, detect_encoding, encode_message
from dmproto.codec.model import (
    Item,
    Location,
    Meta,
    Replace,
    SyncHdr,
    XmlData,
)
from dmproto.codec.tnds import (
    MgmtTree,
    RTProperties,
    TreeNode,
    decode_tree_document,
    encode_tree_document,
    tree_to_element,
)
from dmproto.codec.wbxml import DDF_OPTIONS, parse_wbxml, serialize_wbxml
from dmproto.codec.xml import parse_xml
from dmproto.errors import MalformedMessageError

HEADER = SyncHdr(
    session_id="1", msg_id="1", target=Location(loc_uri="dev"), source=Location(loc_uri="srv")
)


def _message(meta_xml: str = "", target_xml: str = "<LocURI>./a</LocURI>") -> bytes:
    return (
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>'
        "<VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>"
        "<Target><LocURI>dev</LocURI></Target><Source><LocURI>srv</LocURI></Source>"
        f"</SyncHdr><SyncBody><Replace><CmdID>2</CmdID><Item><Target>{target_xml}</Target>"
        f"{meta_xml}<Data>v</Data></Item></Replace><Final/></SyncBody></SyncML>"
    ).encode()


def _item(data: bytes) -> Item:
    message = decode_message(data)
    command = message.commands[0]
    assert isinstance(command, Replace)
    return command.items[0]


def test_media_types() -> None:
    assert Encoding.XML.media_type == "application/vnd.syncml.dm+xml"
    assert Encoding.WBXML.media_type == "application/vnd.syncml.dm+wbxml"


def test_utf8_bom_then_white_space_is_xml() -> None:
    data = b"\xef\xbb\xbf \r\n" + _message()
    assert detect_encoding(data) is Encoding.XML
    assert _item(data).data == "v"
    with pytest.raises(MalformedMessageError) as info:
        detect_encoding(b"\xef\xbb\xbfnot xml")
    assert info.value.reason == "detect.unknown"


def test_metinf_wrapper_inside_meta_is_read() -> None:
    # Some engines wrap the MetInf fields in a <MetInf> element (OMA-TS-DM_RepPro-V1_2_1 §4.1.3).
    meta = '<Meta><MetInf xmlns="syncml:metinf"><Format>int</Format><Size>3</Size></MetInf></Meta>'
    assert _item(_message(meta)).meta == Meta(format="int", size=3)


def test_repeated_meta_field_and_loc_uri_keep_the_first() -> None:
    meta = (
        '<Meta><Format xmlns="syncml:metinf">chr</Format>'
        '<Format xmlns="syncml:metinf">int</Format><EMI xmlns="syncml:metinf">a</EMI>'
        '<EMI xmlns="syncml:metinf">b</EMI></Meta>'
    )
    target = (
        "<LocURI>./first</LocURI><LocName>n1</LocName><LocURI>./2</LocURI><LocName>n2</LocName>"
    )
    item = _item(_message(meta, target))
    assert item.meta == Meta(format="chr", emi=("a", "b"))
    assert item.target == Location(loc_uri="./first", loc_name="n1")


def test_wbxml_data_markup_becomes_xml_text() -> None:
    item = _item(wbxml_with_data_markup("t"))
    assert isinstance(item.data, XmlData)
    assert item.data.text == '<MgmtTree xmlns="syncml:dmddf1.2">t</MgmtTree>'


def test_wbxml_data_markup_that_xml_cannot_carry_is_malformed() -> None:
    with pytest.raises(MalformedMessageError) as info:
        decode_message(wbxml_with_data_markup("bell \x07"))
    assert info.value.reason == "message.encoding"
    assert info.value.position == "SyncML/SyncBody/Replace[1]/Item[1]/Data"


def _tnds_wbxml(name_part: str | bytes, value: bytes, fmt: str) -> bytes:
    tree = MgmtTree(
        nodes=[TreeNode(node_name="n", rt_properties=RTProperties(format=fmt), value="v")]
    )
    root = tree_to_element(tree)
    node = next(c for c in root.children if c.name == "Node")
    for child in node.children:
        if child.name == "NodeName":
            child.parts = [name_part]
        elif child.name == "Value":
            child.parts = [value]
    return serialize_wbxml(root, options=DDF_OPTIONS)


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (b"caf\xc3\xa9", "chr", "caf\u00e9"),  # OPAQUE text value: UTF-8 decoded
        (b"\xff\xfe", "chr", b"\xff\xfe"),  # not UTF-8: kept as octets
        (b"abc", "bin", b"abc"),  # Format bin: always octets
    ],
)
def test_tnds_opaque_values(value: bytes, fmt: str, expected: str | bytes) -> None:
    tree = decode_tree_document(_tnds_wbxml(b"name", value, fmt))
    assert tree.nodes[0].node_name == "name"
    assert tree.nodes[0].value == expected


def test_tnds_text_that_is_not_utf8_is_malformed() -> None:
    with pytest.raises(MalformedMessageError) as info:
        decode_tree_document(_tnds_wbxml(b"\xff", b"v", "chr"))
    assert info.value.reason == "tnds.encoding"


def test_tnds_xml_round_trip_of_opaque_value_is_text() -> None:
    doc = encode_tree_document(decode_tree_document(_tnds_wbxml("n", b"ok", "chr")))
    assert decode_tree_document(doc).nodes[0].value == "ok"


_HEAD = b"\x02\xa4\x01\x6a"  # WBXML 1.2, public id 0x1201, UTF-8


@pytest.mark.parametrize(
    "document",
    [
        _HEAD + b"\x00\x8f\x05\x02\x41\xc3\x02\xff\xfe\x01",  # ENTITY and OPAQUE values
        _HEAD + b"\x02a\x00\x8f\x05\x83\x00\x01",  # STR_T value
    ],
)
def test_attribute_values_are_skipped(document: bytes) -> None:
    root = parse_wbxml(document).root
    assert (root.name, root.children, root.parts) == ("Data", [], [])


def test_attribute_opaque_past_the_end_is_truncated() -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_wbxml(_HEAD + b"\x00\x8f\x05\xc3\x09\xff\x01")
    assert info.value.reason == "wbxml.truncated"


def test_element_repr_and_equality() -> None:
    root = parse_xml(b"<SyncML><Final/></SyncML>")
    assert repr(root) == "Element('SyncML', SYNCML, children=1, parts=0)"
    assert root != "SyncML"
    assert root == parse_xml(b"<SyncML><Final/></SyncML>")


def test_xml_encoded_wbxml_data_markup_round_trips() -> None:
    message = decode_message(wbxml_with_data_markup("t"))
    again = decode_message(encode_message(message, Encoding.XML))
    assert again == message
