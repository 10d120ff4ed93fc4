"""Model-based test: random command sequences (Atomic with failures, backend faults)
against the tree and a reference model (a dict of path -> value).

After every command the status code equals the model's prediction and the visible
tree equals the model; a failed Atomic leaves the tree exactly as before.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from treekit import (
    OPEN_ACL,
    SRV,
    add,
    add_node,
    delete,
    get,
    open_tree,
    replace,
    run,
    state,
)

from dmproto.codec.model import Add, Atomic, Command, Item, Location, Meta, XmlData
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

NODE = object()  # the model's marker for interior nodes
Model = dict[tuple[str, ...], object]
Op = tuple[str, tuple[str, ...], str | None]
FAULT = "boom"


class Faulty(Backend):
    """Refuses to store the value ``boom`` (a device-side failure)."""

    def added(self, uri: str, node: Node) -> None:
        if node.value == FAULT:
            raise OSError("device fault")

    def replaced(self, uri: str, old: Node, new: Node) -> None:
        if new.value == FAULT:
            raise OSError("device fault")


def expect(model: Model, op: Op) -> int:
    """Apply ``op`` to ``model`` in place and return the status it must get."""
    kind, path, val = op
    if kind == "add":
        if path in model:
            return 418
        for depth in range(1, len(path)):
            if path[:depth] in model and model[path[:depth]] is not NODE:
                return 405
        if val == FAULT and path[0] == "F":
            return 500
        for depth in range(1, len(path)):
            model.setdefault(path[:depth], NODE)
        model[path] = NODE if val is None else val
        return 200
    if kind == "replace":
        if path not in model:
            return 404
        if model[path] is NODE or val is None:
            return 405
        if val == FAULT and path[0] == "F":
            return 500
        model[path] = val
        return 200
    if path not in model:
        return 404
    for key in [k for k in model if k[: len(path)] == path]:
        del model[key]
    return 200


def command(op: Op) -> Command:
    kind, path, val = op
    uri = "./" + "/".join(path)
    if kind == "add":
        return add_node(uri) if val is None else add(uri, val)
    if kind == "replace":
        return replace(uri, val if val is not None else "v", fmt="node" if val is None else None)
    return delete(uri)


def visible(tree: ManagementTree) -> Model:
    out: Model = {}
    for path in tree.paths():
        if path:
            node = tree.node(path)
            assert node is not None
            out[path] = NODE if node.is_interior else tree.read_value(path)
    return out


_PATHS = st.lists(st.sampled_from(["a", "b", "F"]), min_size=1, max_size=3).map(tuple)
_OPS = st.tuples(
    st.sampled_from(["add", "add", "replace", "delete"]),
    _PATHS,
    st.sampled_from([None, "x", "y", FAULT]),
)
_STEPS = st.lists(
    st.one_of(_OPS, st.lists(_OPS, min_size=1, max_size=5).map(lambda ops: ("atomic", ops))),
    max_size=25,
)


@given(_STEPS)
def test_tree_matches_reference_model(steps: list[object]) -> None:
    tree = open_tree()
    tree.execute(add_node("./F"), server_id="s")
    tree.mount("./F", Faulty())
    model: Model = {("F",): NODE}
    for step in steps:
        if step[0] == "atomic":  # type: ignore[index]
            ops: list[Op] = step[1]  # type: ignore[index]
            trial = dict(model)
            wanted = [expect(trial, op) for op in ops]
            first_bad = next((i for i, c in enumerate(wanted) if c != 200), None)
            before = {p: tree.node(p) for p in tree.paths()}
            atomic = Atomic(cmd_id="1", commands=[command(o) for o in ops])
            out = tree.execute(atomic, server_id="s")
            if first_bad is None:
                assert out.code == 200
                model = trial
            else:
                assert out.code == 507
                assert [c.code for c in out.children] == (
                    [216] * first_bad + [wanted[first_bad]] + [215] * (len(ops) - first_bad - 1)
                )
                assert {p: tree.node(p) for p in tree.paths()} == before
        else:
            op: Op = step  # type: ignore[assignment]
            assert tree.execute(command(op), server_id="s").code == expect(model, op)
        assert visible(tree) == model


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
