"""XML codec: namespaces, raw Data markup, the bare-& recovery, canonical output."""

from __future__ import annotations

import pytest
from hypothesis import given
from strategies import messages

from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.element import CodePage, Element
from dmproto.codec.model import Message
from dmproto.codec.xml import parse_xml, serialize_xml
from dmproto.errors import EncodeError, MalformedMessageError
from dmproto.limits import Limits


def test_namespaces_map_to_pages_and_root_namespace_kept() -> None:
    root = parse_xml(
        b'<SyncML xmlns="SYNCML:SYNCML1.1" xmlns:mi="syncml:metinf"><Meta>'
        b"<mi:Type>a</mi:Type><Format xmlns='SyncML:MetInf'>b</Format><Size>1</Size></Meta>"
        b'<X xmlns="urn:unknown"><Y/></X></SyncML>'
    )
    assert root.page is CodePage.SYNCML
    assert root.namespace == "SYNCML:SYNCML1.1"
    meta, unknown = root.children
    assert [(c.name, c.page) for c in meta.children] == [
        ("Type", CodePage.METINF),
        ("Format", CodePage.METINF),
        ("Size", CodePage.SYNCML),
    ]
    assert unknown.page is CodePage.SYNCML and unknown.namespace == "urn:unknown"
    assert unknown.children[0].namespace == "urn:unknown"


def test_root_without_namespace() -> None:
    assert parse_xml(b"<SyncML/>").page is CodePage.SYNCML
    assert parse_xml(b"<MgmtTree/>").page is CodePage.DDF
    assert parse_xml(b"<SyncML/>").namespace is None


def test_doctype_without_entities_accepted() -> None:
    doc = (
        b'<?xml version="1.0"?>\n<!DOCTYPE SyncML PUBLIC "-//SYNCML//DTD SyncML 1.2//EN"'
        b' "http://www.openmobilealliance.org/tech/DTD/OMA-TS-SyncML_RepPro_DTD-V1_2.dtd">'
        b"<SyncML><A>x</A></SyncML>"
    )
    assert parse_xml(doc).children[0].text_content() == "x"


def test_text_cdata_and_positions() -> None:
    doc = b"<a>\n  <b>x &amp; <![CDATA[<y>&]]> </b></a>"
    root = parse_xml(doc)
    assert root.parts == []  # ignorable white space between children dropped
    (b,) = root.children
    assert b.text_content() == "x & <y>& "
    assert b.position == doc.index(b"<b>")


def test_raw_xml_is_exact_input_text() -> None:
    inner = '\n <MgmtTree xmlns="syncml:dmddf1.2"><!-- c --><V a=">">é&amp;</V></MgmtTree> '
    doc = f'<SyncML><Item><Data  x="/>">{inner}</Data><Data/><Data>t</Data></Item></SyncML>'
    item = parse_xml(doc.encode()).children[0]
    assert item.children[0].raw_xml == inner
    assert item.children[0].children[0].page is CodePage.DDF
    assert item.children[1].raw_xml is None and item.children[2].raw_xml is None
    assert serialize_xml(parse_xml(doc.encode())).count(inner.encode()) == 1


def test_raw_xml_latin1_document() -> None:
    doc = '<?xml version="1.0" encoding="ISO-8859-1"?><SyncML><Data><a>é</a></Data></SyncML>'
    data = parse_xml(doc.encode("latin-1")).children[0]
    assert data.raw_xml == "<a>é</a>"


def test_bare_ampersand_recovery() -> None:
    root = parse_xml(b"<a><b>MAXDT=15&DR=1</b><c><![CDATA[k&v]]></c><d>&lt;&#38;</d></a>")
    assert [c.text_content() for c in root.children] == ["MAXDT=15&DR=1", "k&v", "<&"]


@pytest.mark.parametrize(
    "doc",
    [
        b"<a>&nbsp;</a>",  # named entity other than the 5 predefined: still an error
        b"<a>x & y</b>",  # recovery does not hide another error
        b"<a>&</a",
    ],
)
def test_bare_ampersand_recovery_limits(doc: bytes) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_xml(doc)
    assert info.value.reason == "xml.syntax"
    assert isinstance(info.value.position, int)


def test_error_position_is_byte_offset() -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_xml(b"<a><b></c></a>")
    assert info.value.position == 8  # expat points at the mismatched name


def test_serialize_canonical() -> None:
    root = Element(
        "SyncML",
        children=[
            Element(
                "Meta",
                children=[
                    Element("Type", CodePage.METINF, parts=["t"]),
                    Element("Size", CodePage.METINF, parts=["1"]),
                ],
            ),
            Element("Data", parts=["a<b>&c]]>\r\n\t"]),
            Element("Final"),
        ],
        namespace="SYNCML:SYNCML1.1",
    )
    out = serialize_xml(root)
    assert out == (
        b'<SyncML xmlns="SYNCML:SYNCML1.1"><Meta><Type xmlns="syncml:metinf">t</Type>'
        b'<Size xmlns="syncml:metinf">1</Size></Meta>'
        b"<Data>a&lt;b&gt;&amp;c]]&gt;&#13;\n\t</Data><Final/></SyncML>"
    )
    assert parse_xml(out) == root
    assert serialize_xml(root, xml_declaration=True).startswith(
        b'<?xml version="1.0" encoding="UTF-8"?><SyncML'
    )


def test_serialize_refuses_bytes_and_invalid_chars() -> None:
    with pytest.raises(EncodeError) as info:
        serialize_xml(Element("Data", parts=[b"\x00"]))
    assert info.value.reason == "xml.binary"
    with pytest.raises(EncodeError) as info:
        serialize_xml(Element("Data", parts=["\x01"]))
    assert info.value.reason == "xml.invalid-char"


def test_serialize_deep_tree_iteratively() -> None:
    root = leaf = Element("a")
    for _ in range(5000):
        child = Element("a")
        leaf.children.append(child)
        leaf = child
    out = serialize_xml(root)
    assert out.count(b"</a>") == 5000
    assert len(parse_xml(out, limits=Limits(max_depth=6000)).children) == 1


@given(messages(data_kinds=("str", "xml")))
def test_decode_encode_message_xml(message: Message) -> None:
    assert decode_message(encode_message(message)) == message


@given(messages(data_kinds=("str", "bytes")))
def test_decode_encode_message_wbxml(message: Message) -> None:
    assert decode_message(encode_message(message, Encoding.WBXML)) == message


@given(messages(data_kinds=("str",)))
def test_xml_and_wbxml_decode_to_the_same_model(message: Message) -> None:
    xml = decode_message(encode_message(message, Encoding.XML))
    assert xml == decode_message(encode_message(message, Encoding.WBXML))


def test_raw_xml_redeclares_prefixes_bound_outside_data() -> None:
    doc = (
        b'<SyncML xmlns:p="urn:p"><Item><Data xmlns:q="u&amp;"> <p:a q:x="1"/>t'
        b'<b xmlns:p="o"><p:c/></b></Data></Item></SyncML>'
    )
    raw = parse_xml(doc).children[0].children[0].raw_xml
    assert raw == (' <p:a xmlns:p="urn:p" xmlns:q="u&amp;" q:x="1"/>t<b xmlns:p="o"><p:c/></b>')
    # and so the canonical output parses again to the same tree
    again = parse_xml(serialize_xml(parse_xml(doc)))
    assert again.children[0].children[0].raw_xml == raw


def test_indented_output_keeps_text() -> None:
    root = parse_xml(b"<a><b> x </b><c><d/></c><e>t<f/></e></a>")
    pretty = serialize_xml(root, indent="  ")
    assert pretty == (
        b'<a xmlns="SYNCML:SYNCML1.2">\n  <b> x </b>\n  <c>\n    <d/>\n  </c>\n'
        b"  <e>t<f/></e>\n</a>\n"
    )
    assert parse_xml(pretty) == root
