"""Atomic, Sequence, UI alerts inside groups, and backend faults
(OMA-TS-DM_RepPro-V1_2_1 §4.1.6, §4.2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from treekit import add, add_node, delete, exec_, get, open_tree, replace, value

from dmproto.codec.model import Alert, Atomic, Item, Sequence
from dmproto.outcome import CommandOutcome
from dmproto.tree import Backend, ManagementTree, Node

SRV = "srv"


def codes(outcome: CommandOutcome) -> object:
    """Nested code structure: an int, or (code, [children...])."""
    if not outcome.children:
        return int(outcome.code)
    return (int(outcome.code), [codes(c) for c in outcome.children])


def snapshot(tree: ManagementTree) -> dict[tuple[str, ...], Node | None]:
    return {p: tree.node(p) for p in tree.paths()}


def confirm() -> Alert:
    """A 1101 confirmation alert (the ``ui`` callable decides the answer)."""
    return Alert(cmd_id="9", code=1101, items=[Item(), Item(data="Sure?")])


def ui_answer(code: int) -> Callable[[Alert], CommandOutcome]:
    """A UI that answers confirmations with ``code`` and everything else with 200."""

    def ui(alert: Alert) -> CommandOutcome:
        return CommandOutcome(code=code if alert.code == 1101 else 200)

    return ui


def test_atomic_success_keeps_everything() -> None:
    tree = open_tree()
    out = tree.execute(
        Atomic(cmd_id="1", commands=[add("./a", "1"), add("./b", "2"), replace("./a", "3")]),
        server_id=SRV,
    )
    assert codes(out) == (200, [200, 200, 200])
    assert value(tree, "./a") == "3" and value(tree, "./b") == "2"


def test_atomic_failure_rolls_back_with_216_215_507() -> None:
    tree = open_tree()
    tree.execute(add("./keep", "k"), server_id=SRV)
    before = snapshot(tree)
    out = tree.execute(
        Atomic(
            cmd_id="1",
            commands=[
                add("./a", "1"),
                delete("./keep"),
                replace("./missing", "x"),
                add("./c", "3"),
            ],
        ),
        server_id=SRV,
    )
    assert codes(out) == (507, [216, 216, 404, 215])
    assert snapshot(tree) == before


def test_get_and_nested_atomic_and_exec_inside_atomic_are_500() -> None:
    for bad, shape in (
        (get("./a"), 500),
        (Atomic(cmd_id="2", commands=[add("./z", "1")]), (500, [215])),
        (exec_("./a"), 500),
    ):
        tree = open_tree()
        tree.execute(add("./a", "1"), server_id=SRV)
        before = snapshot(tree)
        out = tree.execute(
            Atomic(cmd_id="1", commands=[add("./b", "2"), bad, add("./c", "3")]), server_id=SRV
        )
        assert codes(out) == (507, [216, shape, 215])
        assert snapshot(tree) == before


def test_get_nested_in_sequence_inside_atomic_is_500() -> None:
    tree = open_tree()
    inner = Sequence(cmd_id="2", commands=[add("./x", "1"), get("./x"), add("./y", "2")])
    out = tree.execute(Atomic(cmd_id="1", commands=[inner, add("./z", "3")]), server_id=SRV)
    assert codes(out) == (507, [(216, [216, 500, 215]), 215])
    assert tree.paths() == ((),)


def test_confirm_no_inside_atomic_fails_it() -> None:
    tree = open_tree()
    out = tree.execute(
        Atomic(cmd_id="1", commands=[add("./a", "1"), confirm(), add("./b", "2")]),
        server_id=SRV,
        ui=ui_answer(304),
    )
    assert codes(out) == (507, [216, 304, 215])
    assert tree.paths() == ((),)


def test_confirm_yes_inside_atomic_and_no_ui_is_406() -> None:
    tree = open_tree()
    cmd = Atomic(cmd_id="1", commands=[confirm(), add("./a", "1")])
    assert codes(tree.execute(cmd, server_id=SRV, ui=ui_answer(200))) == (200, [200, 200])
    tree = open_tree()
    assert codes(tree.execute(cmd, server_id=SRV)) == (507, [406, 215])


def test_sequence_continues_after_errors_but_stops_after_no_or_cancel() -> None:
    tree = open_tree()
    seq = Sequence(
        cmd_id="1",
        commands=[add("./a", "1"), replace("./missing", "x"), add("./b", "2")],
    )
    assert codes(tree.execute(seq, server_id=SRV)) == (200, [200, 404, 200])
    for answer in (304, 214):
        tree = open_tree()
        seq = Sequence(
            cmd_id="1",
            commands=[
                add("./a", "1"),
                confirm(),
                add("./b", "2"),
                Atomic(cmd_id="5", commands=[add("./c", "3")]),
            ],
        )
        out = tree.execute(seq, server_id=SRV, ui=ui_answer(answer))
        assert codes(out) == (200, [200, answer, 215, (215, [215])])
        assert value(tree, "./a") == "1" and value(tree, "./b") == 404


def test_atomic_inside_sequence_rolls_back_only_itself() -> None:
    tree = open_tree()
    seq = Sequence(
        cmd_id="1",
        commands=[
            add("./a", "1"),
            Atomic(cmd_id="2", commands=[add("./b", "2"), add("./a", "dup")]),
            add("./c", "3"),
        ],
    )
    assert codes(tree.execute(seq, server_id=SRV)) == (200, [200, (507, [216, 418]), 200])
    assert [value(tree, u) for u in ("./a", "./b", "./c")] == ["1", 404, "3"]


def test_empty_atomic_is_200() -> None:
    assert open_tree().execute(Atomic(cmd_id="1"), server_id=SRV).code == 200


# -- backends -------------------------------------------------------------------------


class Device(Backend):
    """A device subtree that mirrors every change and can be told to fail."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.fail_on: str | None = None
        self.fail_undo = False
        self.log: list[str] = []

    def _check(self, uri: str) -> None:
        if uri == self.fail_on:
            raise OSError("device refused")

    def added(self, uri: str, node: Node) -> None:
        self._check(uri)
        self.log.append(f"add {uri}")
        self.values[uri] = node.value

    def replaced(self, uri: str, old: Node, new: Node) -> None:
        self._check(uri)
        if self.fail_undo and self.values.get(uri) == new.value is not None and "undo" in self.log:
            raise OSError("cannot undo")
        self.log.append(f"replace {uri}")
        self.values[uri] = new.value

    def deleted(self, uri: str, node: Node) -> None:
        self._check(uri)
        if self.fail_undo and self.log and self.log[-1].startswith("add") and "dead" in uri:
            raise OSError("cannot undo")
        self.log.append(f"delete {uri}")
        self.values.pop(uri, None)


def test_backend_fault_outside_atomic_is_500_for_that_command_only() -> None:
    tree = open_tree()
    dev = Device()
    tree.execute(add_node("./Dev"), server_id=SRV)
    tree.mount("./Dev", dev)
    dev.fail_on = "./Dev/bad"
    cmd = add("./Dev/good", "1")
    assert tree.execute(cmd, server_id=SRV).code == 200
    multi = add("./Dev/x", "1")
    multi = multi.__class__(cmd_id="2", items=[*multi.items, *add("./Dev/bad", "2").items])
    assert tree.execute(multi, server_id=SRV).code == 500
    # the first item's device change was undone as well: nothing partial remains
    assert dev.values == {"./Dev/good": "1"}
    assert value(tree, "./Dev") == "good"
    assert tree.execute(add("./Dev/y", "3"), server_id=SRV).code == 200


def test_backend_fault_inside_atomic_undoes_device_changes() -> None:
    tree = open_tree()
    dev = Device()
    tree.execute(add_node("./Dev"), server_id=SRV)
    tree.execute(add("./Dev/old", "o"), server_id=SRV)
    tree.mount("./Dev", dev)
    dev.values = {"./Dev/old": "o"}
    dev.fail_on = "./Dev/bad"
    before = snapshot(tree)
    out = tree.execute(
        Atomic(
            cmd_id="1",
            commands=[
                add("./Dev/new", "n"),
                replace("./Dev/old", "changed"),
                delete("./Dev/new"),
                add("./Dev/bad", "b"),
            ],
        ),
        server_id=SRV,
    )
    assert codes(out) == (507, [216, 216, 216, 500])
    assert snapshot(tree) == before
    assert dev.values == {"./Dev/old": "o"}


def test_failed_undo_gives_516() -> None:
    class Sticky(Backend):
        def __init__(self) -> None:
            self.armed = False

        def deleted(self, uri: str, node: Node) -> None:
            if self.armed:
                raise OSError("cannot remove")

        def added(self, uri: str, node: Node) -> None:
            if uri.endswith("bad"):
                self.armed = True
                raise OSError("refused")

    tree = open_tree()
    tree.execute(add_node("./Dev"), server_id=SRV)
    tree.mount("./Dev", Sticky())
    out = tree.execute(
        Atomic(cmd_id="1", commands=[add("./Dev/a", "1"), add("./Dev/bad", "2")]),
        server_id=SRV,
    )
    assert codes(out) == (516, [200, 500])
    # the stored tree is restored regardless
    assert value(tree, "./Dev") == ""


def test_backend_read_supplies_live_values() -> None:
    class Live(Backend):
        def read(self, uri: str, node: Node) -> str:
            return f"live:{uri}"

    tree = open_tree()
    tree.execute(add("./Sensor/t", "stale"), server_id=SRV)
    tree.mount("./Sensor", Live())
    assert value(tree, "./Sensor/t") == "live:./Sensor/t"
    assert value(tree, "./Sensor/t?prop=Size") == str(len("live:./Sensor/t"))


def test_ui_hook_raising_inside_atomic_leaves_nothing_behind() -> None:
    def broken_ui(alert: Alert) -> CommandOutcome:
        raise KeyboardInterrupt

    tree = open_tree()
    with pytest.raises(KeyboardInterrupt):
        tree.execute(
            Atomic(cmd_id="1", commands=[add("./a", "1"), confirm()]), server_id=SRV, ui=broken_ui
        )
    assert tree.paths() == ((),)
    # the tree still works and no savepoint is left open
    assert not tree.in_transaction
    assert tree.execute(add("./b", "1"), server_id=SRV).code == 200
