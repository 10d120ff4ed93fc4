"""The device's own changes to its tree (``add_node``, ``remove``, savepoints, the root
ACL, ``remove_server``): what is refused, and that a refusal changes nothing."""

from __future__ import annotations

import pytest
from treekit import (
    SRV,
    add,
    add_node,
    open_tree,
    run,
    state,
)

from dmproto.errors import InvalidValueError
from dmproto.tree import (
    Acl,
    AclCommand,
    ManagementTree,
    Node,
    NodeFormat,
    TreeCommandError,
)


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
