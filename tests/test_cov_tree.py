"""Tree corners the behaviour tests do not reach: local-mutation errors, failing
backends, property Replace edge cases, Inbox placement, format conversions, TNDS
import errors, DDF occurrence, bootstrap Atomic and the w7 rollback."""

from __future__ import annotations

import pytest
from test_bootstrap import IMSI, bootstrap_message, signed, state
from test_tree_commands import Recorder
from test_tree_support import (
    OPEN_ACL,
    SRV,
    add,
    add_node,
    delete,
    exec_,
    get,
    item,
    open_tree,
    replace,
    run,
    std_tree,
    value,
)

from dmproto.codec.model import Add, Atomic, Item, Location, Meta, Replace, XmlData
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
    Acl,
    AclCommand,
    Backend,
    BinaryWire,
    ManagementTree,
    Node,
    NodeFormat,
    TreeCommandError,
)
from dmproto.tree.bootstrap import BootstrapStatus, apply_bootstrap
from dmproto.tree.cp import W7Application, apply_w7
from dmproto.tree.stdobj import AppAuth, AuthLevel, DMAccount, add_account, devinfo_items
from dmproto.tree.tnds_io import TNDS_TYPES, export_subtree, load_ddf, tnds_item

# -- local mutations ------------------------------------------------------------------


def test_node_at_an_unparsable_uri_is_none() -> None:
    tree = open_tree()
    assert tree.node_at("./a/../b") is None
    assert tree.node_at(".") is not None


@pytest.mark.parametrize(
    ("path", "code"),
    [((), 418), (("leaf",), 418), (("missing", "x"), 404), (("leaf", "x"), 405)],
)
def test_add_node_refusals(path: tuple[str, ...], code: int) -> None:
    tree = open_tree()
    tree.add_node(("leaf",), Node(name="leaf", format=NodeFormat.CHR, value="v"))
    before = state(tree)
    with pytest.raises(TreeCommandError) as info:
        tree.add_node(path, Node(name="x", format=NodeFormat.CHR, value="v"))
    assert info.value.code == code
    assert state(tree) == before


def test_root_cannot_be_removed_and_release_needs_a_savepoint() -> None:
    tree = open_tree()
    with pytest.raises(TreeCommandError) as info:
        tree.remove_subtree(())
    assert info.value.code == 405
    point = tree.savepoint()
    tree.release(point)
    with pytest.raises(InvalidValueError) as bad:
        tree.release(point)
    assert bad.value.reason == "tree.savepoint"


def test_empty_root_acl_allows_nothing() -> None:
    tree = ManagementTree(root_acl="")
    assert tree.effective_acl(("x",)) == Acl(())
    assert not tree.allows((), AclCommand.GET, SRV)
    assert run(tree, add_node("./x")) == 425


def test_remove_server_skips_nodes_without_acl() -> None:
    tree = open_tree()
    run(tree, add_node("./a"))
    run(tree, add("./a/b", "v"))
    tree.set_acl("./a", "Get=srv&Replace=other")
    tree.remove_server(SRV)
    assert str(tree.node(("a",)).acl) == "Replace=other"  # type: ignore[union-attr]
    assert tree.node(("a", "b")).acl is None  # type: ignore[union-attr]


# -- backends ---------------------------------------------------------------------------


class _Abort(BaseException):
    """Not an Exception: like KeyboardInterrupt, it must pass through the tree."""


class _Broken(Backend):
    def replaced(self, uri: str, old: Node, new: Node) -> None:
        raise _Abort


def test_an_aborting_backend_hook_propagates_and_rolls_back() -> None:
    tree = open_tree()
    run(tree, add("./a", "old"))
    run(tree, add("./b", "old"))
    tree.mount("./b", _Broken())
    command = Replace(cmd_id="1", items=[item("./a", "new"), item("./b", "new")])
    with pytest.raises(_Abort):
        tree.execute(command, server_id=SRV)
    assert (value(tree, "./a"), value(tree, "./b")) == ("old", "old")
    assert not tree.in_transaction
    assert run(tree, replace("./a", "next")) == 200


@pytest.mark.parametrize(("answer", "code"), [(405, 405), (499, 500)])
def test_exec_refusal_codes(answer: int, code: int) -> None:
    tree = open_tree()
    run(tree, add("./run", "x"))
    tree.mount("./run", Recorder(answer))
    assert run(tree, exec_("./run")) == code


def test_default_backend_does_not_execute() -> None:
    tree = open_tree()
    run(tree, add("./run", "x"))
    tree.mount("./run", Backend())
    assert run(tree, exec_("./run")) == 405


def test_exec_on_a_property_is_refused() -> None:
    tree = open_tree()
    run(tree, add("./run", "x"))
    backend = Recorder(200)
    tree.mount("./run", backend)
    assert run(tree, exec_("./run?prop=Title")) == 405
    assert backend.calls == []


def test_accepted_exec_without_correlator_is_not_pending() -> None:
    tree = open_tree()
    run(tree, add("./run", "x"))
    tree.mount("./run", Recorder(202))
    assert run(tree, exec_("./run")) == 202
    assert tree.pending_execs() == ()


# -- Replace: values and properties ---------------------------------------------------


def test_replace_cannot_turn_a_leaf_into_a_node() -> None:
    tree = open_tree()
    run(tree, add("./a", "v"))
    assert run(tree, replace("./a", fmt="node")) == 405
    assert tree.node(("a",)).format is NodeFormat.CHR  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "code", "title"),
    [
        (b"T\xc3\xa9", 200, "T\u00e9"),
        (XmlData("<x/>"), 200, "<x/>"),
        (b"\xff", 400, None),
        ("t" * 256, 400, None),
        ("\u00e9" * 128, 400, None),  # 256 UTF-8 octets
        ("t" * 255, 200, "t" * 255),
    ],
)
def test_title_property(data: str | bytes | XmlData, code: int, title: str | None) -> None:
    tree = open_tree()
    run(tree, add("./a", "v"))
    target = Location(loc_uri="./a?prop=Title")
    command = Replace(cmd_id="1", items=[Item(target=target, data=data)])
    assert run(tree, command) == code
    assert tree.node(("a",)).title == title  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "code"), [("b/c", 400), ("..", 400), ("a", 200)])
def test_rename_syntax_and_same_name(name: str, code: int) -> None:
    tree = open_tree()
    run(tree, add("./a", "v"))
    before = state(tree)
    assert run(tree, replace("./a?prop=Name", name)) == code
    assert set(tree.paths()) == set(before)


def test_bootstrap_sets_an_acl_without_server_checks() -> None:
    tree = std_tree()
    doc = bootstrap_message(
        Add(cmd_id="1", items=[item("./DMAcc/b", fmt="node"), item("./DMAcc/b/ServerID", "s2")]),
        Replace(cmd_id="2", items=[item("./DMAcc/b?prop=ACL", "Get=s2")]),
    )
    assert apply_bootstrap(tree, doc, signed(doc), network_id=IMSI).status is (
        BootstrapStatus.APPLIED
    )
    assert str(tree.node(("DMAcc", "b")).acl) == "Get=s2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("inner", "status"),
    [
        (Add(cmd_id="2", items=[item("./DMAcc/c", fmt="node")]), BootstrapStatus.APPLIED),
        (Replace(cmd_id="2", items=[item("./DevInfo/Lang", "x")]), BootstrapStatus.FAILED),
    ],
)
def test_bootstrap_atomic(inner: Add | Replace, status: BootstrapStatus) -> None:
    tree = std_tree()
    before = state(tree)
    doc = bootstrap_message(Atomic(cmd_id="1", commands=[inner]))
    assert apply_bootstrap(tree, doc, signed(doc), network_id=IMSI).status is status
    assert (tree.node(("DMAcc", "c")) is not None) is (status is BootstrapStatus.APPLIED)
    if status is BootstrapStatus.FAILED:
        assert state(tree) == before


def test_bootstrap_atomic_with_get_is_refused() -> None:
    tree = std_tree()
    doc = bootstrap_message(Atomic(cmd_id="1", commands=[get("./DevInfo")]))
    assert apply_bootstrap(tree, doc, signed(doc), network_id=IMSI).status is (
        BootstrapStatus.FAILED
    )


# -- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fmt", "code", "stored"),
    [
        (b"caf\xc3\xa9", "chr", 200, "caf\u00e9"),
        (b"\xff", "chr", 415, None),
        ("text", "bin", 200, b"text"),
        (XmlData("<a/>"), "xml", 200, "<a/>"),
        (None, "null", 200, None),
    ],
)
def test_add_converts_wire_data(
    data: str | bytes | XmlData | None, fmt: str, code: int, stored: object
) -> None:
    tree = open_tree()
    command = Add(
        cmd_id="1", items=[Item(target=Location(loc_uri="./a"), meta=Meta(format=fmt), data=data)]
    )
    assert run(tree, command) == code
    node = tree.node(("a",))
    assert (node.value if node else None) == stored


def test_binary_wire_bin_and_size_of_null() -> None:
    tree = ManagementTree(root_acl=OPEN_ACL, binary_wire=BinaryWire.BIN)
    run(tree, add("./b", "AAEC", fmt="b64"))
    run(tree, add("./n", fmt="null"))
    out = tree.execute(get("./b", "./n?prop=Size"), server_id=SRV)
    assert [(i.data, i.meta.format if i.meta else None) for i in out.results] == [
        (b"\x00\x01\x02", "bin"),
        ("0", None),
    ]


# -- TNDS ----------------------------------------------------------------------------------


def test_export_of_the_root_lists_its_children_at_dot() -> None:
    tree = open_tree()
    run(tree, add_node("./a"))
    run(tree, add("./a/b", "v"))
    doc = decode_tree_document(export_subtree(tree, "."))
    assert [(n.node_name, n.path) for n in doc.nodes] == [("a", ".")]
    assert doc.nodes[0].children[0].value == "v"


def _tnds(*nodes: TreeNode) -> bytes:
    return encode_tree_document(MgmtTree(nodes=nodes))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (None, 412),
        (_tnds(TreeNode(node_name="x", rt_properties=RTProperties(acl="Get"))), 400),
        (_tnds(TreeNode(node_name="x", path="../up")), 400),
        (_tnds(TreeNode(node_name="x", value="v")).decode(), 200),
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
    return _tnds(*nodes)


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
    doc = _tnds(TreeNode(node_name="x", path="Sub", value="v"))
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


# -- standard objects and CP --------------------------------------------------------------


def test_account_without_optional_auth_fields_and_devinfo_skips_interior() -> None:
    tree = std_tree()
    auth_entry = AppAuth(level=AuthLevel.SRVCRED, auth_type="BASIC")
    uri = add_account(tree, DMAccount(server_id="s", addr="https://s", auths=(auth_entry,)))
    auth = tree.node_at(f"{uri}/AppAuth")
    assert auth is not None and len(auth.children) == 1
    entry = f"{uri}/AppAuth/{auth.children[0]}"
    assert tree.node_at(f"{entry}/AAuthType") is not None
    for leaf in ("AAuthName", "AAuthSecret", "AAuthData"):
        assert tree.node_at(f"{entry}/{leaf}") is None
    before = [i.source.loc_uri for i in devinfo_items(tree) if i.source]
    tree.add_node(("DevInfo", "Ext"), Node(name="Ext", format=NodeFormat.NODE))
    assert [i.source.loc_uri for i in devinfo_items(tree) if i.source] == before


def test_w7_failure_rolls_back() -> None:
    tree = ManagementTree(root_acl=OPEN_ACL)  # no ./DMAcc
    with pytest.raises(TreeCommandError):
        apply_w7(tree, W7Application(provider_id="p", addr="https://p"))
    assert not tree.in_transaction
    assert tree.paths() == ((),)
