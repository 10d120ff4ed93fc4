"""Model-based test: random command sequences (Atomic with failures, backend faults)
against the tree and a reference model (a dict of path -> value).

After every command the status code equals the model's prediction and the visible
tree equals the model; a failed Atomic leaves the tree exactly as before.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from treekit import (
    add,
    add_node,
    delete,
    open_tree,
    replace,
)

from dmproto.codec.model import Atomic, Command
from dmproto.tree import (
    Backend,
    ManagementTree,
    Node,
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
