"""ACL grammar, inheritance and the rules for changing ACLs (OMA-TS-DM_TND-V1_2 §8.3.7.1)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from treekit import add, add_node, delete, exec_, get, replace, value

from dmproto.codec.model import Command
from dmproto.errors import InvalidValueError
from dmproto.tree import Acl, AclCommand, Backend, ExecRequest, ExecResult, ManagementTree
from dmproto.tree.acl import parse_acl

# -- grammar --------------------------------------------------------------------------


def test_parse_spec_example() -> None:
    text = (
        "Add=www.sonera.fi-8765&Delete=www.sonera.fi-8765"
        "&Replace=www.sonera.fi-8765+321_ibm.com&Get=*"
    )
    acl = parse_acl(text)
    assert acl is not None
    assert acl.servers(AclCommand.REPLACE) == ("www.sonera.fi-8765", "321_ibm.com")
    assert acl.allows(AclCommand.GET, "anyone")
    assert not acl.allows(AclCommand.EXEC, "www.sonera.fi-8765")
    assert str(acl) == text


@pytest.mark.parametrize(
    "text",
    ["Add", "Add=", "Add=a+", "Add=a b", "Copy=a", "add=a", "Add=a&&Get=b", "Add=a=b", "Add=a*"],
)
def test_parse_rejects_bad_acl(text: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        parse_acl(text)
    assert info.value.reason == "acl.syntax"


def test_empty_acl_is_no_value_and_duplicates_merge() -> None:
    assert parse_acl("") is None
    assert str(parse_acl("Get=a&Get=b+a")) == "Get=a+b"


_IDS = st.sampled_from(["*", "srv1", "srv.2", "a_b-c", "x:y/z"])


@given(
    st.dictionaries(
        st.sampled_from(list(AclCommand)),
        st.lists(_IDS, min_size=1, max_size=3, unique=True),
        min_size=1,
    )
)
def test_acl_text_round_trips(entries: dict[AclCommand, list[str]]) -> None:
    acl = Acl(tuple((c, tuple(ids)) for c, ids in entries.items()))
    assert parse_acl(str(acl)) == acl


def test_without_server_rules() -> None:
    acl = parse_acl("Add=a&Get=a+b&Replace=b")
    assert acl is not None
    assert str(acl.without_server("a", is_root=False)) == "Get=b&Replace=b"
    assert str(acl.without_server("a", is_root=True)) == "Add=*&Get=b&Replace=b"
    assert (
        acl.without_server("a", is_root=False).without_server(  # type: ignore[union-attr]
            "b", is_root=False
        )
        is None
    )


# -- the matrix: servers x commands x where the ACL lives ---------------------------

MATRIX_ACL = "Add=srv1&Delete=srv1+srv2&Exec=srv2&Get=*&Replace=srv1"
GRANTS = {
    AclCommand.ADD: {"srv1"},
    AclCommand.DELETE: {"srv1", "srv2"},
    AclCommand.EXEC: {"srv2"},
    AclCommand.GET: {"srv1", "srv2", "srv3"},
    AclCommand.REPLACE: {"srv1"},
}


class _Ok(Backend):
    def execute(self, request: ExecRequest) -> ExecResult:
        return ExecResult(code=200)


def _matrix_tree(where: str) -> ManagementTree:
    tree = ManagementTree(root_acl=MATRIX_ACL if where == "root" else "Get=*")
    tree.add_interior_chain(("P", "I"))
    tree.add_interior_chain(("P",))
    from dmproto.tree import Node, NodeFormat

    tree.add_node(("P", "L"), Node(name="L", format=NodeFormat.CHR, value="v"))
    tree.mount("./P", _Ok())
    if where == "parent":
        tree.set_acl("./P", MATRIX_ACL)
    elif where == "node":
        tree.set_acl("./P/L", MATRIX_ACL)
        tree.set_acl("./P/I", MATRIX_ACL)
    return tree


def _command(cmd: AclCommand) -> Command:
    commands: dict[AclCommand, Command] = {
        AclCommand.ADD: add("./P/I/new", "x"),
        AclCommand.DELETE: delete("./P/L"),
        AclCommand.EXEC: exec_("./P/L"),
        AclCommand.GET: get("./P/L"),
        AclCommand.REPLACE: replace("./P/L", "y"),
    }
    return commands[cmd]


@pytest.mark.parametrize(
    ("server", "cmd", "where"),
    list(itertools.product(["srv1", "srv2", "srv3"], list(AclCommand), ["node", "parent", "root"])),
)
def test_acl_matrix(server: str, cmd: AclCommand, where: str) -> None:
    tree = _matrix_tree(where)
    before = {p: tree.node(p) for p in tree.paths()}
    out = tree.execute(_command(cmd), server_id=server)
    expected = 200 if server in GRANTS[cmd] else 425
    assert out.code == expected
    if expected == 425:
        assert {p: tree.node(p) for p in tree.paths()} == before


def test_node_acl_is_complete_no_merging_with_parent() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*&Replace=*&Delete=*")
    tree.execute(add("./a", "v"), server_id="s")
    tree.set_acl("./a", "Get=s")
    assert tree.execute(replace("./a", "w"), server_id="s").code == 425
    assert tree.execute(delete("./a"), server_id="s").code == 425
    assert value(tree, "./a", "s") == "v"
    assert value(tree, "./a", "other") == 425


# -- changing ACLs ------------------------------------------------------------------


def test_interior_acl_changed_by_replace_on_node() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*")
    tree.add_interior_chain(("i",))
    tree.set_acl("./i", "Replace=s&Get=*")
    assert tree.execute(replace("./i?prop=ACL", "Get=s&Replace=s"), server_id="s").code == 200
    assert value(tree, "./i?prop=ACL", "s") == "Get=s&Replace=s"
    assert tree.execute(replace("./i?prop=ACL", "Get=*"), server_id="t").code == 425


def test_leaf_acl_needs_replace_on_parent() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*")
    tree.add_interior_chain(("p",))
    tree.execute(add("./p/l", "v"), server_id="s")
    tree.set_acl("./p/l", "Replace=s&Get=*")
    # OMA-TS-DM_TND-V1_2 §8.3.7.1: Replace on a leaf allows its value, not its ACL ...
    assert tree.execute(replace("./p/l", "w"), server_id="s").code == 200
    assert tree.execute(replace("./p/l?prop=ACL", "Get=s"), server_id="s").code == 425
    # ... Replace on the parent does.
    tree.set_acl("./p", "Replace=s")
    assert tree.execute(replace("./p/l?prop=ACL", "Get=s"), server_id="s").code == 200
    assert str(tree.node(("p", "l")).acl) == "Get=s"  # type: ignore[union-attr]


def test_acl_replace_syntax_error_is_400_and_root_cannot_be_cleared() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*&Replace=*")
    assert tree.execute(replace(".?prop=ACL", "Get=a b"), server_id="s").code == 400
    assert tree.execute(replace(".?prop=ACL", ""), server_id="s").code == 405
    with pytest.raises(InvalidValueError):
        tree.set_acl(".", "")


def test_creator_without_parent_replace_gets_add_delete_get_replace() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*")
    assert tree.execute(add_node("./mine"), server_id="s").code == 200
    assert str(tree.node(("mine",)).acl) == "Add=s&Delete=s&Get=s&Replace=s"  # type: ignore[union-attr]
    # the creator may now add below it and delete it; another server may not
    assert tree.execute(add("./mine/x", "1"), server_id="s").code == 200
    assert tree.execute(add("./mine/y", "1"), server_id="t").code == 425
    assert tree.execute(delete("./mine"), server_id="t").code == 425
    assert tree.execute(delete("./mine"), server_id="s").code == 200


def test_creator_with_parent_replace_gets_empty_acl_and_leaves_inherit() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*&Replace=*")
    tree.execute(add_node("./n"), server_id="s")
    tree.execute(add("./leaf", "v"), server_id="s")
    assert tree.node(("n",)).acl is None  # type: ignore[union-attr]
    assert tree.node(("leaf",)).acl is None  # type: ignore[union-attr]
    assert value(tree, "./n?prop=ACL", "s") == ""


def test_implicit_ancestors_get_creator_rule_once() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*")
    assert tree.execute(add("./a/b/c", "v"), server_id="s").code == 200
    assert str(tree.node(("a",)).acl) == "Add=s&Delete=s&Get=s&Replace=s"  # type: ignore[union-attr]
    assert tree.node(("a", "b")).acl is None  # type: ignore[union-attr]


def test_remove_server_from_all_acls() -> None:
    tree = ManagementTree(root_acl="Add=s&Get=*")
    tree.add_interior_chain(("a",))
    tree.set_acl("./a", "Get=s&Replace=s+t")
    tree.remove_server("s")
    assert str(tree.node(()).acl) == "Add=*&Get=*"  # type: ignore[union-attr]
    assert str(tree.node(("a",)).acl) == "Replace=t"  # type: ignore[union-attr]
