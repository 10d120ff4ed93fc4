"""TNDS / DDF documents: decode the corpus DDF, round trips, the OMA-TS-DM_TND-V1_2 §8.6 bytes."""

from __future__ import annotations

import pytest
from datapaths import CORPUS
from hypothesis import given
from hypothesis import strategies as st
from strategies import identifiers, texts

from dmproto.codec.tnds import (
    DFProperties,
    MgmtTree,
    RTProperties,
    TreeNode,
    decode_tree_document,
    encode_tree_document,
)
from dmproto.errors import EncodeError, MalformedMessageError
from dmproto.limits import Limits

FORMATS = ["b64", "bin", "bool", "chr", "int", "node", "null", "xml", "date", "time", "float"]
OCCURRENCES = ["One", "ZeroOrOne", "ZeroOrMore", "OneOrMore", "ZeroOrN", "OneOrN"]
ACCESS = ["Add", "Copy", "Delete", "Exec", "Get", "Replace"]
maybe_id = st.none() | identifiers()


@st.composite
def rt_properties(draw: st.DrawFn) -> RTProperties:
    return RTProperties(
        acl=draw(maybe_id),
        format=draw(st.none() | st.sampled_from(FORMATS)),
        name=draw(maybe_id),
        size=draw(maybe_id),
        title=draw(maybe_id),
        tstamp=draw(maybe_id),
        mime=draw(maybe_id),
        ddf_name=draw(maybe_id),
        verno=draw(maybe_id),
    )


@st.composite
def df_properties(draw: st.DrawFn) -> DFProperties:
    occurrence = draw(st.none() | st.sampled_from(OCCURRENCES))
    n = draw(maybe_id) if occurrence in ("ZeroOrN", "OneOrN") else None
    return DFProperties(
        access_type=draw(st.lists(st.sampled_from(ACCESS), unique=True)),
        default_value=draw(maybe_id),
        description=draw(maybe_id),
        df_format=draw(st.none() | st.sampled_from(FORMATS)),
        occurrence=occurrence,
        occurrence_n=n,
        scope=draw(st.none() | st.sampled_from(["Permanent", "Dynamic"])),
        df_title=draw(maybe_id),
        df_type_mime=draw(st.lists(identifiers(), max_size=2)),
        df_type_ddf_name=draw(maybe_id),
        case_sense=draw(st.none() | st.sampled_from(["CS", "CIS"])),
    )


def nodes(depth: int = 1, binary: bool = False) -> st.SearchStrategy[TreeNode]:
    @st.composite
    def node(draw: st.DrawFn) -> TreeNode:
        rt = draw(st.none() | rt_properties())
        children = draw(st.lists(nodes(depth - 1, binary), max_size=2)) if depth > 0 else []
        value: str | bytes | None = None
        if not children:
            value = draw(st.none() | texts())
            if binary and draw(st.booleans()):
                value = draw(st.binary(min_size=1, max_size=10))
                rt = attrs_evolve_format(rt)
        return TreeNode(
            node_name=draw(st.just("") | identifiers()),
            path=draw(maybe_id),
            rt_properties=rt,
            df_properties=draw(st.none() | df_properties()),
            children=children,
            value=value,
        )

    return node()


def attrs_evolve_format(rt: RTProperties | None) -> RTProperties:
    import attrs

    return attrs.evolve(rt or RTProperties(), format="bin")


def trees(binary: bool = False) -> st.SearchStrategy[MgmtTree]:
    return st.builds(
        MgmtTree,
        ver_dtd=st.just("1.2"),
        man=maybe_id,
        mod=maybe_id,
        nodes=st.lists(nodes(binary=binary), min_size=1, max_size=2),
    )


def test_corpus_ddf_decodes() -> None:
    tree = decode_tree_document((CORPUS / "libwbxml" / "ddf-001.ddf").read_bytes())
    (email,) = tree.nodes
    assert email.node_name == "E-Mail"
    assert email.rt_properties == RTProperties(format="node", ddf_name="com.operatorX.dm/1.0/EMail")
    (pop3,) = email.children
    assert [n.node_name for n in pop3.children] == ["POPServer", "UserID", "PWD"]
    assert pop3.children[0].value == "mail.Operatorx.com"
    assert pop3.children[2].rt_properties.mime == "text/plain"  # type: ignore[union-attr]
    # and it survives both encodings
    assert decode_tree_document(encode_tree_document(tree)) == tree
    assert decode_tree_document(encode_tree_document(tree, wbxml=True)) == tree


def test_spec_2_6_c_wbxml_bytes() -> None:
    tree = MgmtTree(
        nodes=(
            TreeNode(
                node_name="POPServer",
                rt_properties=RTProperties(format="chr", mime="text/plain"),
                value="mail.operatorx.com",
            ),
        )
    )
    expected = (
        b"\x02\x00\x00\x6a\x1b-//OMA//DTD-DM-DDF 1.2//EN\x00"
        b"\x00\x02\x60\x77\x031.2\x00\x01"
        b"\x64\x66\x03POPServer\x00\x01"
        b"\x6f\x5c\x0b\x01\x75\x61\x03text/plain\x00\x01\x01\x01"
        b"\x76\x03mail.operatorx.com\x00\x01"
        b"\x01\x01"
    )
    assert encode_tree_document(tree, wbxml=True) == expected
    assert decode_tree_document(expected) == tree


def test_ddf_properties_xml() -> None:
    doc = b"""<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD> 1.2 </VerDTD><Man>m</Man>
      <Node><NodeName>X</NodeName><DFProperties><AccessType><Get/><Replace/></AccessType>
      <DFFormat><int/></DFFormat><Occurrence><ZeroOrN>7</ZeroOrN></Occurrence>
      <Scope><Permanent/></Scope><DFType><MIME>text/plain</MIME><MIME>a/b</MIME></DFType>
      <CaseSense><CIS/></CaseSense><Unknown/></DFProperties></Node></MgmtTree>"""
    tree = decode_tree_document(doc)
    assert tree.man == "m"
    assert tree.nodes[0].df_properties == DFProperties(
        access_type=("Get", "Replace"),
        df_format="int",
        occurrence="ZeroOrN",
        occurrence_n="7",
        scope="Permanent",
        df_type_mime=("text/plain", "a/b"),
        case_sense="CIS",
    )
    assert decode_tree_document(encode_tree_document(tree)) == tree


@given(trees())
def test_xml_round_trip(tree: MgmtTree) -> None:
    assert decode_tree_document(encode_tree_document(tree)) == tree


@given(trees(binary=True))
def test_wbxml_round_trip(tree: MgmtTree) -> None:
    assert decode_tree_document(encode_tree_document(tree, wbxml=True)) == tree


def test_bytes_value_not_xml() -> None:
    tree = MgmtTree(nodes=(TreeNode(node_name="b", value=b"\xff"),))
    with pytest.raises(EncodeError):
        encode_tree_document(tree)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<SyncML/>", "tnds.root"),
        (b"garbage", "detect.unknown"),
        (b"<MgmtTree><Node>", "xml.syntax"),
        (b"\x02\x01\x6a\x00\x00\x02\x60\x77", "wbxml.truncated"),
    ],
)
def test_malformed_documents(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        decode_tree_document(data)
    assert info.value.reason == reason


def test_depth_limit_applies() -> None:
    doc = b"<MgmtTree>" + b"<Node>" * 20 + b"</Node>" * 20 + b"</MgmtTree>"
    with pytest.raises(MalformedMessageError) as info:
        decode_tree_document(doc, limits=Limits(max_depth=10))
    assert info.value.reason == "limit.depth"
