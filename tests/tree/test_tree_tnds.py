"""TNDS export/import (XML and WBXML), Replace with TNDS, Inbox placement and DDF
rules, including libwbxml's ``ddf-001.ddf`` example (OMA-TS-DM_TND-V1_2 §8.4, §8.5;
OMA-TS-DM_TNDS-V1_2 §9.2)."""

from __future__ import annotations

from typing import Any

import pytest
from datapaths import CORPUS
from treekit import (
    SRV,
    add,
    add_node,
    delete,
    get,
    open_tree,
    replace,
    run,
    std_tree,
    tnds_document,
    value,
)

from dmproto.codec.model import Add, Item, Location, Meta, Replace, XmlData
from dmproto.codec.tnds import (
    DFProperties,
    MgmtTree,
    RTProperties,
    TreeNode,
    decode_tree_document,
    encode_tree_document,
)
from dmproto.errors import InvalidValueError
from dmproto.tree import (
    ManagementTree,
    Node,
)
from dmproto.tree.stdobj import (
    DMACC_MO,
)
from dmproto.tree.tnds_io import TNDS_TYPES, export_subtree, load_ddf, tnds_item


def sample_tree() -> ManagementTree:
    tree = open_tree()
    for cmd in (
        add("./A/D/E/G", "g"),
        add("./A/D/F", "<x a='1'/>", fmt="xml", mtype="text/xml"),
        add("./A/D/E/H", "AAEC/w==", fmt="b64", mtype="application/octet-stream"),
        add("./A/N", "-17", fmt="int"),
        add("./A/Empty", fmt="node"),
    ):
        assert tree.execute(cmd, server_id=SRV).code == 200
    tree.set_acl("./A/D", "Get=srv&Replace=srv")
    tree.execute(replace("./A/N?prop=Title", "a number"), server_id=SRV)
    return tree


def subtree(
    tree: ManagementTree, start: tuple[str, ...]
) -> dict[tuple[str, ...], tuple[object, ...]]:
    """Comparable view of a subtree (path relative to ``start``)."""
    out: dict[tuple[str, ...], tuple[object, ...]] = {}
    for path in tree.walk(start):
        node = tree.node(path)
        assert node is not None
        out[path[len(start) - 1 :]] = (
            node.format,
            node.type,
            tree.read_value(path),
            str(node.acl),
            node.title,
            node.children,
        )
    return out


@pytest.mark.parametrize("wbxml", [False, True])
def test_tnds_round_trip_through_add(wbxml: bool) -> None:
    src = sample_tree()
    document = export_subtree(src, "./A", wbxml=wbxml)
    assert document[:1] == (b"\x02" if wbxml else b"<") or document.startswith(b"<?xml")
    dst = open_tree()
    out = dst.execute(Add(cmd_id="1", items=[tnds_item("./Copy", document)]), server_id=SRV)
    assert out.code == 200
    assert subtree(dst, ("Copy", "A")) == subtree(src, ("A",))
    assert dst.read_value(("Copy", "A", "D", "E", "H")) == b"\x00\x01\x02\xff"


def test_get_list_tnds_and_property_selection() -> None:
    tree = sample_tree()
    out = tree.execute(get("./A?list=TNDS"), server_id=SRV)
    assert out.code == 200
    result = out.results[0]
    assert result.meta is not None and result.meta.type == "application/vnd.syncml.dmtnds+xml"
    assert isinstance(result.data, XmlData) and result.data.text.startswith("<MgmtTree")
    doc = decode_tree_document(result.data.text.encode())
    top = doc.nodes[0]
    assert (top.node_name, top.path) == ("A", ".")
    assert [c.node_name for c in top.children] == ["D", "N", "Empty"]
    n = top.children[1]
    assert n.value == "-17" and n.rt_properties is not None
    assert (n.rt_properties.format, n.rt_properties.title) == ("int", "a number")

    only_acl = tree.execute(get("./A?list=TNDS+ACL"), server_id=SRV).results[0]
    assert isinstance(only_acl.data, XmlData)
    doc = decode_tree_document(only_acl.data.text.encode())
    d = doc.nodes[0].children[0]
    assert d.rt_properties is not None and d.rt_properties.acl == "Get=srv&Replace=srv"
    assert d.rt_properties.format is None and d.children[1].value is None

    no_value = tree.execute(get("./A?list=TNDS-Value"), server_id=SRV).results[0]
    assert isinstance(no_value.data, XmlData) and "<Value>" not in no_value.data.text


def test_tnds_listing_hides_what_the_server_may_not_read() -> None:
    tree = sample_tree()
    out = tree.execute(get("./A?list=TNDS"), server_id="other")
    assert isinstance(out.results[0].data, XmlData)
    doc = decode_tree_document(out.results[0].data.text.encode())
    assert [c.node_name for c in doc.nodes[0].children] == ["N", "Empty"]
    struct = tree.execute(get("./A?list=Struct"), server_id="other")
    assert [i.source.loc_uri for i in struct.results if i.source] == ["./A", "./A/N", "./A/Empty"]


def test_libwbxml_ddf_example_adds_the_email_subtree() -> None:
    document = (CORPUS / "libwbxml" / "ddf-001.ddf").read_bytes()
    tree = open_tree()
    out = tree.execute(Add(cmd_id="1", items=[tnds_item("./OperatorX", document)]), server_id=SRV)
    assert out.code == 200
    assert value(tree, "./OperatorX/E-Mail/POP3") == "POPServer/UserID/PWD"
    assert value(tree, "./OperatorX/E-Mail/POP3/POPServer") == "mail.Operatorx.com"
    assert value(tree, "./OperatorX/E-Mail/POP3/PWD") == "4571F7C34A9876B3"
    assert value(tree, "./OperatorX/E-Mail?prop=Type") == "com.operatorX.dm/1.0/EMail"
    # the same document as WBXML gives the same tree
    wb = encode_tree_document(decode_tree_document(document), wbxml=True)
    other = open_tree()
    assert (
        other.execute(Add(cmd_id="1", items=[tnds_item("./OperatorX", wb)]), server_id=SRV).code
        == 200
    )
    assert subtree(other, ("OperatorX",)) == subtree(tree, ("OperatorX",))


def test_tnds_add_failure_leaves_tree_unchanged() -> None:
    document = (CORPUS / "libwbxml" / "ddf-001.ddf").read_bytes()
    tree = open_tree()
    tree.execute(add("./OperatorX/E-Mail/POP3/UserID", "taken"), server_id=SRV)
    before = {p: tree.node(p) for p in tree.paths()}
    out = tree.execute(Add(cmd_id="1", items=[tnds_item("./OperatorX", document)]), server_id=SRV)
    assert out.code == 418
    assert {p: tree.node(p) for p in tree.paths()} == before


def test_malformed_tnds_is_400() -> None:
    tree = open_tree()
    assert (
        tree.execute(
            Add(cmd_id="1", items=[tnds_item("./X", b"<MgmtTree><Node>")]), server_id=SRV
        ).code
        == 400
    )
    assert tree.paths() == ((),)


def test_replace_with_tnds_replaces_the_whole_subtree() -> None:
    tree = open_tree()
    tree.execute(add("./R/E-Mail/Old", "gone"), server_id=SRV)
    tree.execute(add("./R/E-Mail/POP3/PWD", "old"), server_id=SRV)
    document = (CORPUS / "libwbxml" / "ddf-001.ddf").read_bytes()
    out = tree.execute(Replace(cmd_id="1", items=[tnds_item("./R", document)]), server_id=SRV)
    assert out.code == 200
    assert value(tree, "./R/E-Mail") == "POP3"
    assert value(tree, "./R/E-Mail/POP3/PWD") == "4571F7C34A9876B3"
    assert (
        tree.execute(
            Replace(cmd_id="1", items=[tnds_item("./Missing", document)]), server_id=SRV
        ).code
        == 404
    )


def test_inbox_places_a_dmacc_tnds_by_mo_type() -> None:
    tree = std_tree()
    document = encode_tree_document(
        MgmtTree(
            nodes=[
                TreeNode(
                    node_name="acc1",
                    rt_properties=RTProperties(format="node", ddf_name=DMACC_MO),
                    children=[
                        TreeNode(
                            node_name="ServerID",
                            rt_properties=RTProperties(format="chr", mime="text/plain"),
                            value="new.server",
                        )
                    ],
                )
            ]
        )
    )
    out = tree.execute(Add(cmd_id="1", items=[tnds_item("./Inbox", document)]), server_id=SRV)
    assert out.code == 200
    assert tree.read_value(("DMAcc", "acc1", "ServerID")) == "new.server"
    assert tree.node(("Inbox", "acc1")) is None
    unknown = encode_tree_document(
        MgmtTree(
            nodes=[
                TreeNode(
                    node_name="x",
                    rt_properties=RTProperties(format="node", ddf_name="org.example/1.0/X"),
                )
            ]
        )
    )
    assert (
        tree.execute(Add(cmd_id="1", items=[tnds_item("./Inbox", unknown)]), server_id=SRV).code
        == 405
    )


# -- DDF ------------------------------------------------------------------------------


def ddf_document() -> bytes:
    def df(fmt: str, *access: str, **kw: Any) -> DFProperties:
        return DFProperties(access_type=access, df_format=fmt, **kw)

    return encode_tree_document(
        MgmtTree(
            nodes=[
                TreeNode(
                    node_name="App",
                    df_properties=df("node", "Get", "Add", scope="Permanent"),
                    children=[
                        TreeNode(
                            node_name="",
                            df_properties=df(
                                "node",
                                "Add",
                                "Get",
                                "Delete",
                                "Replace",
                                occurrence="ZeroOrN",
                                occurrence_n="2",
                            ),
                            children=[
                                TreeNode(
                                    node_name="Port",
                                    df_properties=df(
                                        "int", "Add", "Get", "Replace", default_value="8080"
                                    ),
                                ),
                                TreeNode(node_name="Serial", df_properties=df("chr", "Add", "Get")),
                                TreeNode(
                                    node_name="Cert",
                                    df_properties=df(
                                        "b64",
                                        "Add",
                                        "Get",
                                        "Delete",
                                        df_type_mime=("application/pkix-cert",),
                                    ),
                                ),
                            ],
                        ),
                        TreeNode(
                            node_name="Single",
                            df_properties=df(
                                "node", "Add", "Get", "Delete", occurrence="ZeroOrOne"
                            ),
                        ),
                    ],
                )
            ]
        )
    )


def test_ddf_rules_are_enforced_on_later_commands() -> None:
    tree = open_tree()
    tree.execute(add_node("./App"), server_id=SRV)
    load_ddf(tree, ddf_document())
    assert tree.node(("App",)).permanent  # type: ignore[union-attr]
    assert tree.execute(delete("./App"), server_id=SRV).code == 405
    assert tree.execute(add_node("./App/one"), server_id=SRV).code == 200
    assert tree.execute(add_node("./App/two"), server_id=SRV).code == 200
    # Occurrence ZeroOrN with N=2
    assert tree.execute(add_node("./App/three"), server_id=SRV).code == 405
    # DFFormat int: a chr value is refused; no Data takes the DefaultValue
    assert tree.execute(add("./App/one/Port", "80"), server_id=SRV).code == 415
    assert tree.execute(add("./App/one/Port", fmt="int"), server_id=SRV).code == 200
    assert value(tree, "./App/one/Port") == "8080"
    assert tree.execute(replace("./App/one/Port", "81", fmt="int"), server_id=SRV).code == 200
    # AccessType without Replace/Delete -> 405 (the ACL would allow it)
    assert tree.execute(add("./App/one/Serial", "s1"), server_id=SRV).code == 200
    assert tree.execute(replace("./App/one/Serial", "s2"), server_id=SRV).code == 405
    assert tree.execute(delete("./App/one/Serial"), server_id=SRV).code == 405
    # ... but such nodes go away with their ancestor
    assert tree.execute(delete("./App/one"), server_id=SRV).code == 200
    assert tree.execute(add_node("./App/Single"), server_id=SRV).code == 200


def test_ddf_type_and_minimum_occurrence() -> None:
    tree = open_tree()
    tree.execute(add_node("./App"), server_id=SRV)
    load_ddf(tree, ddf_document())
    tree.execute(add_node("./App/one"), server_id=SRV)
    cert = "./App/one/Cert"
    assert tree.execute(add(cert, "AA==", fmt="b64", mtype="text/plain"), server_id=SRV).code == 415
    assert tree.execute(add(cert, "AA==", fmt="b64"), server_id=SRV).code == 200
    assert value(tree, cert + "?prop=Type") == "application/pkix-cert"
    # Occurrence One: the node cannot be deleted on its own, only with its parent
    assert tree.execute(delete(cert), server_id=SRV).code == 405
    assert tree.execute(delete("./App/one"), server_id=SRV).code == 200


def test_ddf_unknown_access_type_is_refused() -> None:

    doc = encode_tree_document(
        MgmtTree(
            nodes=[
                TreeNode(
                    node_name="X",
                    df_properties=DFProperties(access_type=("Fly",), df_format="node"),
                )
            ]
        )
    )
    with pytest.raises(InvalidValueError):
        load_ddf(open_tree(), doc)


def test_inbox_get_refused_and_node_untouched() -> None:
    tree = std_tree()
    assert tree.execute(get("./Inbox?list=TNDS"), server_id=SRV).code == 405
    assert isinstance(tree.node(("Inbox",)), Node)


def test_tnds_add_needs_add_right_where_it_attaches() -> None:
    document = (CORPUS / "libwbxml" / "ddf-001.ddf").read_bytes()
    tree = ManagementTree(root_acl="Get=*")
    out = tree.execute(Add(cmd_id="1", items=[tnds_item("./New/Deep", document)]), server_id=SRV)
    assert out.code == 425
    assert tree.paths() == ((),)
    tree.set_acl(".", "Get=*&Add=srv")
    out = tree.execute(Add(cmd_id="1", items=[tnds_item("./New/Deep", document)]), server_id=SRV)
    assert out.code == 200
    # the creator rule applies to the implicit interior node it attached below
    assert str(tree.node(("New",)).acl) == "Add=srv&Delete=srv&Get=srv&Replace=srv"  # type: ignore[union-attr]


# -- TNDS ----------------------------------------------------------------------------------


def test_export_of_the_root_lists_its_children_at_dot() -> None:
    tree = open_tree()
    run(tree, add_node("./a"))
    run(tree, add("./a/b", "v"))
    doc = decode_tree_document(export_subtree(tree, "."))
    assert [(n.node_name, n.path) for n in doc.nodes] == [("a", ".")]
    assert doc.nodes[0].children[0].value == "v"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (None, 412),
        (tnds_document(TreeNode(node_name="x", rt_properties=RTProperties(acl="Get"))), 400),
        (tnds_document(TreeNode(node_name="x", path="../up")), 400),
        (tnds_document(TreeNode(node_name="x", value="v")).decode(), 200),
    ],
)
def test_tnds_add_data(data: str | bytes | None, code: int) -> None:
    tree = open_tree()
    run(tree, add_node("./T"))
    command = Add(
        cmd_id="1",
        items=[Item(target=Location(loc_uri="./T"), meta=Meta(type=TNDS_TYPES[0]), data=data)],
    )
    assert run(tree, command) == code
    assert (tree.node(("T", "x")) is not None) is (code == 200)


# -- Inbox and DDF ------------------------------------------------------------------------


def _ddf(*nodes: TreeNode) -> bytes:
    return tnds_document(*nodes)


def _df(fmt: str, occurrence: str | None = None, ddf_name: str | None = None) -> DFProperties:
    return DFProperties(
        access_type=("Add", "Delete", "Get", "Replace"),
        df_format=fmt,
        occurrence=occurrence,
        df_type_ddf_name=ddf_name,
    )


def test_inbox_places_a_plain_add_by_type() -> None:
    tree = std_tree()
    run(tree, add_node("./Apps"))
    # Two rules carry the type; only the one whose parent has no wildcard places it.
    for top in (
        TreeNode(
            node_name="Wild",
            children=[
                TreeNode(
                    node_name="",
                    children=[
                        TreeNode(node_name="", df_properties=_df("node", ddf_name="org.example/W"))
                    ],
                )
            ],
        ),
        TreeNode(
            node_name="Apps",
            df_properties=_df("node"),
            children=[TreeNode(node_name="", df_properties=_df("node", ddf_name="org.example/W"))],
        ),
    ):
        load_ddf(tree, _ddf(top))
    assert run(tree, add("./Inbox/w1", fmt="node", mtype="org.example/W")) == 200
    assert tree.node(("Apps", "w1")) is not None
    assert tree.node(("Inbox", "w1")) is None


def test_inbox_tnds_nested_below_an_unplaced_top_is_refused() -> None:
    tree = std_tree()
    doc = tnds_document(TreeNode(node_name="x", path="Sub", value="v"))
    assert run(tree, Add(cmd_id="1", items=[tnds_item("./Inbox", doc)])) == 405


def test_ddf_rules_only_where_df_properties_are_given() -> None:
    tree = open_tree()
    run(tree, add_node("./X"))
    load_ddf(
        tree,
        _ddf(
            TreeNode(
                node_name="X",
                children=[TreeNode(node_name="", df_properties=_df("chr", occurrence="OneOrMore"))],
            )
        ),
    )
    assert run(tree, add("./X/a", "1")) == 200
    assert run(tree, add("./X/b", "2")) == 200
    assert run(tree, delete("./X/a")) == 200  # another sibling remains
    assert run(tree, delete("./X/b")) == 405  # the last required one stays
    assert run(tree, delete("./X")) == 200  # no rule on X itself


def test_replace_with_a_format_the_ddf_forbids() -> None:
    tree = open_tree()
    run(tree, add_node("./X"))
    load_ddf(
        tree,
        _ddf(TreeNode(node_name="X", children=[TreeNode(node_name="n", df_properties=_df("int"))])),
    )
    assert run(tree, add("./X/n", "1", fmt="int")) == 200
    assert run(tree, replace("./X/n", "abc")) == 415
    assert value(tree, "./X/n") == "1"
