"""WBXML codec: known answers (OMA-TS-DM_Protocol-V1_2_1 §2.6), corpus files, features, round trips.

Hostile input lives in ``test_wbxml_hostile.py``; differential tests against libwbxml
in ``test_libwbxml_interop.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from datapaths import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import messages
from wbxml_samples import PKG1, TNDS, TNDS_TREE, D, E, M, S, pkg1_tree

from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.element import CodePage, Element
from dmproto.codec.model import (
    Alert,
    Cred,
    Get,
    Item,
    Location,
    Message,
    Meta,
    Replace,
    Status,
    SyncHdr,
)
from dmproto.codec.tokens import TAG_TOKENS
from dmproto.codec.wbxml import (
    DDF_OPTIONS,
    WbxmlOptions,
    parse_wbxml,
    serialize_wbxml,
)
from dmproto.errors import EncodeError, InvalidValueError

AOSP_WBXML = sorted((CORPUS / "aosp-dm12").glob("*.wbxml"))


def runs(parts: list[str | bytes]) -> tuple[str | bytes, ...]:
    """Non-empty parts with adjacent runs of one type joined (what WBXML preserves)."""
    out: list[str | bytes] = []
    for part in parts:
        if part and out and type(out[-1]) is type(part):
            out[-1] += part  # type: ignore[operator]
        elif part:
            out.append(part)
    return tuple(out)


def shape(element: Element) -> tuple[object, ...]:
    """Everything the codec must preserve: names, pages, text runs with types."""
    return (
        element.name,
        element.page,
        runs(element.parts),
        tuple(shape(c) for c in element.children),
    )


def find(root: Element, path: str) -> Element:
    """The first element along a slash-separated path of names below ``root``."""
    node = root
    for name in path.split("/"):
        node = next(c for c in node.children if c.name == name)
    return node


def test_spec_pkg1_decodes_to_the_known_tree() -> None:
    doc = parse_wbxml(PKG1)
    assert (doc.version, doc.public_id, doc.fpi, doc.charset) == (0x02, 0x1201, None, 0x6A)
    assert shape(doc.root) == shape(pkg1_tree(b"IMEI:493005100592800"))
    # libwbxml wrapped the item Data in OPAQUE: it stays a bytes run.
    assert find(doc.root, "SyncBody/Replace/Item/Data").parts == [b"IMEI:493005100592800"]
    assert find(doc.root, "SyncHdr/Cred/Meta/Type").page is M
    assert find(doc.root, "SyncBody/Final").position == len(PKG1) - 3


def test_spec_pkg1_reencodes_byte_for_byte() -> None:
    assert serialize_wbxml(pkg1_tree(b"IMEI:493005100592800")) == PKG1
    # The one difference from libwbxml when Data is text: STR_I instead of its OPAQUE.
    ours = serialize_wbxml(pkg1_tree("IMEI:493005100592800"))
    assert ours == PKG1.replace(b"\xc3\x14IMEI:493005100592800", b"\x03IMEI:493005100592800\x00")


PKG1_MODEL = Message(
    header=SyncHdr(
        session_id="1",
        msg_id="1",
        target=Location(loc_uri="http://www.syncml.org/mgmt-server"),
        source=Location(loc_uri="IMEI:493005100592800", loc_name="Bruce2"),
        cred=Cred(meta=Meta(format="b64", type="syncml:auth-md5"), data="Zz6EivR3yeaaENcRN6lpAQ=="),
        meta=Meta(max_msg_size=5000),
    ),
    commands=(
        Alert(cmd_id="1", code=1201),
        Replace(
            cmd_id="2",
            items=(
                Item(
                    source=Location(loc_uri="./DevInfo/DevId"),
                    meta=Meta(format="chr", type="text/plain"),
                    data="IMEI:493005100592800",
                ),
            ),
        ),
    ),
    final=True,
)


def test_spec_pkg1_model_level() -> None:
    """The same bytes through the mapping: OPAQUE Data with Format chr reads as text."""
    assert decode_message(PKG1) == PKG1_MODEL
    ours = encode_message(PKG1_MODEL, Encoding.WBXML)
    assert ours == PKG1.replace(b"\xc3\x14IMEI:493005100592800", b"\x03IMEI:493005100592800\x00")


def test_aosp_testget_model_level() -> None:
    message = decode_message((CORPUS / "aosp-dm12" / "testget.wbxml").read_bytes())
    header = message.header
    assert (header.ver_proto, header.session_id, header.msg_id) == ("DM/1.2", "22100", "1")
    assert header.resp_uri == "http://10.72.34.217/Scts?0JTIAA=="
    assert header.cred == Cred(
        meta=Meta(format="b64", type="syncml:auth-basic"), data="U2N0czpTYW1wbGVDbGllbnQ="
    )
    assert header.meta == Meta(max_msg_size=3500)
    status = message.commands[0]
    assert isinstance(status, Status)
    assert (status.cmd, status.cmd_ref, status.code) == ("SyncHdr", "0", 212)
    assert message.commands[3] == Get(
        cmd_id="4",
        items=(Item(target=Location(loc_uri="./DevDetail/URI/MaxDepth")),),
    )
    assert message.final


def test_aosp_testget_decodes() -> None:
    """AOSP OMA-DM dm12/testget.wbxml: the AOSP DM engine's testget.wbxml (textual 1.1 FPI, no
    NUL)."""
    data = (CORPUS / "aosp-dm12" / "testget.wbxml").read_bytes()
    assert data[:5] == bytes([0x02, 0x00, 0x00, 0x6A, 0x1D])
    doc = parse_wbxml(data)
    assert doc.public_id == 0
    assert doc.fpi == "-//SYNCML//DTD SyncML 1.1//EN"
    root = doc.root
    assert find(root, "SyncHdr/VerProto").text_content() == "DM/1.2"
    assert find(root, "SyncHdr/SessionID").text_content() == "22100"
    assert find(root, "SyncHdr/RespURI").text_content() == "http://10.72.34.217/Scts?0JTIAA=="
    assert find(root, "SyncHdr/Cred/Meta/Type").text_content() == "syncml:auth-basic"
    assert find(root, "SyncHdr/Cred/Meta/Format").page is M
    assert find(root, "SyncHdr/Cred/Data").text_content() == "U2N0czpTYW1wbGVDbGllbnQ="
    assert find(root, "SyncHdr/Meta/MaxMsgSize").text_content() == "3500"
    body = find(root, "SyncBody")
    statuses = [c for c in body.children if c.name == "Status"]
    assert [find(s, "Data").text_content() for s in statuses] == ["212", "200", "200"]
    assert find(statuses[0], "Cmd").text_content() == "SyncHdr"
    assert find(body, "Get/Item/Target/LocURI").text_content() == "./DevDetail/URI/MaxDepth"
    assert body.children[-1].name == "Final" and find(body, "Get").page is S


def test_spec_tnds_document_decodes_and_reencodes() -> None:
    doc = parse_wbxml(TNDS)
    assert doc.fpi == "-//OMA//DTD-DM-DDF 1.2//EN"
    assert shape(doc.root) == shape(TNDS_TREE)
    assert serialize_wbxml(TNDS_TREE, options=DDF_OPTIONS) == TNDS


@pytest.mark.parametrize(
    ("encoded", "value"),
    [(b"\xa4\x01", 0x1201), (b"\x9f\x53", 0x0FD3), (b"\x9f\x51", 0x0FD1), (b"\x00", 0)],
)
def test_public_id_mb_u_int32_vectors(encoded: bytes, value: int) -> None:
    """WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML: A4 01 = 0x1201, 9F 53 = 0x0FD3, both ways."""
    body = b"\x6a\x00\x12" if value else b"\x00\x6a\x01\x41\x12"  # pubid 0 -> strtbl "A"
    doc = parse_wbxml(b"\x02" + encoded + body)
    assert doc.public_id == value
    if value:
        out = serialize_wbxml(E("Final"), options=WbxmlOptions(public_id=value))
        assert out == b"\x02" + encoded + b"\x6a\x00\x12"


def test_mb_u_int32_maximum_and_non_minimal_forms() -> None:
    # 5-byte maximum 0xFFFFFFFF as a public id; 80 80 81 00 is a non-minimal 0x80.
    doc = parse_wbxml(b"\x02\x8f\xff\xff\xff\x7f\x6a\x00\x12")
    assert doc.public_id == 0xFFFFFFFF
    assert serialize_wbxml(E("Final"), options=WbxmlOptions(public_id=0xFFFFFFFF)).startswith(
        b"\x02\x8f\xff\xff\xff\x7f"
    )
    assert parse_wbxml(b"\x02\x80\x80\x81\x00\x6a\x00\x12").public_id == 0x80


@pytest.mark.parametrize("path", AOSP_WBXML, ids=lambda p: p.name)
def test_corpus_wbxml_decodes_and_round_trips(path: Path) -> None:
    data = path.read_bytes()
    doc = parse_wbxml(data)
    assert doc.root.name == "SyncML"
    assert find(doc.root, "SyncHdr/VerProto").text_content() == "DM/1.2"
    again = serialize_wbxml(doc.root, options=WbxmlOptions(fpi=doc.fpi))
    doc2 = parse_wbxml(again)
    assert shape(doc2.root) == shape(doc.root)
    assert doc2.fpi == doc.fpi
    assert serialize_wbxml(doc2.root, options=WbxmlOptions(fpi=doc.fpi)) == again


def test_aosp_testadd_empty_data_and_interior_node() -> None:
    root = parse_wbxml((CORPUS / "aosp-dm12" / "testadd.wbxml").read_bytes()).root
    item = find(root, "SyncBody/Add/Item")
    assert find(item, "Meta/Format").text_content() == "node"
    assert find(item, "Data").text_content() == ""


# ----------------------------------------------------------------------------- features

HEAD = b"\x02\xa4\x01\x6a"  # WBXML 1.2, SyncML 1.2, UTF-8; string table follows


def test_str_t_entity_opaque_runs_are_kept_in_order() -> None:
    table = b"\x06ab\x00cd\x00"
    # <Data> STR_I "x", STR_T 3, OPAQUE(2), ENTITY 0xA0, STR_T 0 </Data>
    data = HEAD + table + b"\x4f\x03x\x00\x83\x03\xc3\x02\xff\x00\x02\x81\x20\x83\x00\x01"
    root = parse_wbxml(data).root
    assert root.name == "Data"
    assert root.parts == ["x", "cd", b"\xff\x00", "\u00a0", "ab"]


def test_switch_page_state_survives_end() -> None:
    # <Meta>[p1]<Type>a</Type><Format/>  END(Meta)  <Size> is still page 1's 0x12.
    data = HEAD + b"\x00" + b"\x6d\x5a\x00\x01\x53\x03a\x00\x01\x07\x01\x12\x01"
    root = parse_wbxml(data).root
    assert [(c.name, c.page) for c in root.children] == [("Meta", S), ("Size", M)]
    assert [(c.name, c.page) for c in root.children[0].children] == [("Type", M), ("Format", M)]


def test_literal_tags_and_skipped_attributes_and_pis() -> None:
    # String table: "SyncML\0xmlns\0Final\0". Root is LITERAL_AC "SyncML" with a
    # literal xmlns="SYNCML:SYNCML1.2" attribute (Nokia style), a PI before and after.
    table = b"SyncML\x00xmlns\x00Final\x00"
    body = (
        b"\x43\x05\x03pi\x00\x01"  # PI before the root
        + b"\xc4\x00"  # LITERAL_AC -> "SyncML"
        + b"\x04\x07\x03SYNCML:SYNCML1.2\x00\x85\x00\x7f\x01"  # attributes, skipped
        + b"\x04\x0d"  # LITERAL -> "Final", empty
        + b"\x84\x0d\x06\x01"  # LITERAL_A -> "Final" with a one-token attribute list
        + b"\x01"
        + b"\x43\x06\x01"  # PI after the root
    )
    root = parse_wbxml(HEAD + bytes([len(table)]) + table + body).root
    assert root.name == "SyncML"
    assert [c.name for c in root.children] == ["Final", "Final"]
    assert root.parts == []


def test_literal_name_from_another_page_takes_that_page() -> None:
    """libwbxml (SyncML 1.1 tables) writes Correlator as a LITERAL while page 1 is current."""
    table = b"Correlator\x00"
    body = b"\x6a\x5a\x00\x01\x07\x01\x44\x00\x03x\x00\x01\x01"  # <Meta>[p1]<Format/></Meta>
    root = parse_wbxml(HEAD + bytes([len(table)]) + table + body).root
    assert [(c.name, c.page) for c in root.children] == [("Meta", S), ("Correlator", S)]
    assert root.children[1].parts == ["x"]


@pytest.mark.parametrize(
    ("charset", "raw", "text"),
    [(0x6A, b"\xc3\xa9", "é"), (4, b"\xe9", "é"), (3, b"e", "e"), (0, b"\xc3\xa9", "é")],
)
def test_accepted_charsets(charset: int, raw: bytes, text: str) -> None:
    doc = parse_wbxml(b"\x02\xa4\x01" + bytes([charset]) + b"\x00\x4f\x03" + raw + b"\x00\x01")
    assert doc.charset == charset
    assert doc.root.parts == [text]


@pytest.mark.parametrize("version", [0x00, 0x01, 0x02, 0x03])
def test_versions_and_fpi_with_or_without_nul(version: int) -> None:
    for table in (b"-//SYNCML//DTD SyncML 1.2//EN", b"-//SYNCML//DTD SyncML 1.2//EN\x00"):
        data = bytes([version, 0x00, 0x00, 0x6A, len(table)]) + table + b"\x12"
        doc = parse_wbxml(data)
        assert (doc.version, doc.public_id, doc.fpi) == (version, 0, table.rstrip(b"\0").decode())


def test_encoder_options_header_and_string_table() -> None:
    tree = E("SyncBody", E("Status", E("Cmd", "Replace")), E("Status", E("Cmd", "Replace")))
    plain = serialize_wbxml(tree)
    assert plain[:5] == b"\x02\xa4\x01\x6a\x00"
    opts = WbxmlOptions(version=0x03, fpi="-//SYNCML//DTD SyncML 1.2//EN", string_table=True)
    packed = serialize_wbxml(tree, options=opts)
    assert packed.startswith(b"\x03\x00\x00\x6a\x26-//SYNCML//DTD SyncML 1.2//EN\x00Replace\x00")
    assert packed.count(b"\x83\x1e") == 2  # both Cmd values are STR_T to offset 30
    doc = parse_wbxml(packed)
    assert (doc.version, doc.fpi) == (0x03, "-//SYNCML//DTD SyncML 1.2//EN")
    assert shape(doc.root) == shape(tree)
    assert serialize_wbxml(tree, options=opts) == packed  # deterministic


def test_encoder_merges_adjacent_runs_of_one_kind() -> None:
    out = serialize_wbxml(E("Data", "a", "", "b", b"\x01", b"\x02", "c"))
    assert out[5:] == b"\x4f\x03ab\x00\xc3\x02\x01\x02\x03c\x00\x01"


def test_encoder_empty_elements_and_raw_xml() -> None:
    out = serialize_wbxml(E("Item", E("Data", ""), E("MoreData")))
    assert out[5:] == b"\x54\x0f\x34\x01"  # bare tokens, no content flag
    data = Element("Data", raw_xml="<MgmtTree/>")
    out = serialize_wbxml(data)
    assert out[5:] == b"\x4f\x03<MgmtTree/>\x00\x01"
    assert parse_wbxml(out).root.parts == ["<MgmtTree/>"]


def test_encoder_root_on_ddf_page_starts_with_switch_page() -> None:
    out = serialize_wbxml(E("MgmtTree", page=D), options=DDF_OPTIONS)
    assert out.endswith(b"\x00\x00\x02\x20")


@pytest.mark.parametrize(
    ("tree", "reason"),
    [
        (E("Bogus"), "wbxml.unknown-tag"),
        (E("SyncML", E("MaxMsgSize", "1")), "wbxml.unknown-tag"),  # a MetInf tag on page 0
        (E("LocURI", "a\x00b"), "wbxml.nul-in-text"),
        (E("LocURI", "a\ud800"), "wbxml.invalid-text"),
        (Element("Data", raw_xml="<a>\x00</a>"), "wbxml.nul-in-text"),
    ],
)
def test_encoder_refuses_what_wbxml_cannot_carry(tree: Element, reason: str) -> None:
    with pytest.raises(EncodeError) as info:
        serialize_wbxml(tree)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "kwargs",
    [{"version": 4}, {"version": -1}, {"public_id": 2**32}, {"fpi": "a\x00"}, {"fpi": ""}],
)
def test_options_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidValueError):
        WbxmlOptions(**kwargs)  # type: ignore[arg-type]


def test_deep_trees_encode_without_recursion() -> None:
    root = leaf = E("Atomic")
    for _ in range(5000):
        child = E("Atomic")
        leaf.children.append(child)
        leaf = child
    out = serialize_wbxml(root)
    assert out.count(b"\x48") == 5000 and out.endswith(b"\x08" + b"\x01" * 5000)


# --------------------------------------------------------------------------- properties

_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
_PARTS = st.lists(st.one_of(_TEXT, st.binary(max_size=8)), max_size=3)


def _leaf(page: CodePage) -> st.SearchStrategy[Element]:
    names = sorted(TAG_TOKENS[page])
    return st.builds(
        lambda name, parts: Element(name, page, parts=parts), st.sampled_from(names), _PARTS
    )


_PAGE = st.sampled_from([S, M, D])
_ELEMENTS = st.recursive(
    _PAGE.flatmap(_leaf),
    lambda kids: st.builds(
        lambda page, name_index, children: Element(
            sorted(TAG_TOKENS[page])[name_index % len(TAG_TOKENS[page])], page, children=children
        ),
        _PAGE,
        st.integers(0, 100),
        st.lists(kids, max_size=4),
    ),
    max_leaves=20,
)


@given(_ELEMENTS, st.booleans(), st.sampled_from([0, 1, 2, 3]))
def test_element_round_trip(root: Element, string_table: bool, version: int) -> None:
    options = WbxmlOptions(version=version, string_table=string_table)
    data = serialize_wbxml(root, options=options)
    doc = parse_wbxml(data)
    assert shape(doc.root) == shape(root)
    assert doc.version == version
    assert serialize_wbxml(doc.root, options=options) == data


# Generating whole messages dominates these tests' time: a modest number of examples.
@settings(max_examples=50)
@given(messages(data_kinds=("str", "bytes")), st.booleans(), st.sampled_from([1, 2, 3]))
def test_model_round_trip(message: Message, string_table: bool, version: int) -> None:
    """decode(encode_wbxml(m)) == m, whatever the header and string-table options."""
    options = WbxmlOptions(version=version, string_table=string_table)
    data = encode_message(message, Encoding.WBXML, wbxml_options=options)
    assert decode_message(data) == message
    assert decode_message(data, encoding=Encoding.WBXML) == message


@settings(max_examples=50)
@given(messages(data_kinds=("str",)))
def test_xml_and_wbxml_forms_decode_alike(message: Message) -> None:
    """decode(xml_form) == decode(wbxml_form) for text-only Data."""
    xml_form = encode_message(message, Encoding.XML)
    wbxml_form = encode_message(message, Encoding.WBXML)
    assert decode_message(xml_form) == decode_message(wbxml_form) == message
