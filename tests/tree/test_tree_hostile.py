"""Hostile commands: whatever a server sends, ``execute`` answers with an outcome
(one per nested command) and never raises; memory is bounded by ``max_nodes``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from treekit import add, open_tree

from dmproto.codec.model import (
    Add,
    Alert,
    Atomic,
    Command,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    Location,
    Meta,
    Replace,
    Sequence,
    XmlData,
)
from dmproto.errors import InvalidValueError
from dmproto.outcome import CommandOutcome
from dmproto.tree import ManagementTree
from dmproto.tree.stdobj import DeviceInfo, build_device_tree

_SEGMENT = st.sampled_from(["a", "b", "DMAcc", "Inbox", "DevInfo", "..", "", ".", "x y", "é"])
_URIS = st.one_of(
    st.text(max_size=30),
    st.lists(_SEGMENT, max_size=4).map(lambda s: "./" + "/".join(s)),
    st.sampled_from(
        [
            "./a?prop=ACL",
            "./a?prop=Name",
            "./a?list=TNDS+ACL",
            ".?list=Struct",
            "./a?list=TNDS-Value",
            "./Inbox",
            ".",
            "./a?",
            "./a?prop=",
        ]
    ),
)
_DATA = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.sampled_from(["Get=*", "Add=a+b&Get=*", "AAEC", "<MgmtTree/>"]).map(XmlData),
)
_META = st.one_of(
    st.none(),
    st.builds(
        Meta,
        format=st.sampled_from(
            [None, "chr", "node", "b64", "bin", "int", "bool", "xml", "null", "??"]
        ),
        type=st.sampled_from(
            [
                None,
                "text/plain",
                "application/vnd.syncml.dmtnds+xml",
                "application/vnd.syncml.dmtnds+wbxml",
                "urn:oma:mo:oma-dm-dmacc:1.0",
            ]
        ),
    ),
)
_ITEMS = st.lists(
    st.builds(
        Item,
        target=st.one_of(st.none(), st.builds(Location, loc_uri=_URIS)),
        source=st.one_of(st.none(), st.builds(Location, loc_uri=_URIS)),
        meta=_META,
        data=_DATA,
    ),
    max_size=3,
)
_SIMPLE = st.one_of(
    *(
        st.builds(cls, cmd_id=st.just("1"), meta=_META, items=_ITEMS)
        for cls in (Add, Replace, Delete, Copy, Get)
    ),
    st.builds(Exec, cmd_id=st.just("1"), items=_ITEMS, correlator=st.none() | st.text(max_size=5)),
    st.builds(Alert, cmd_id=st.just("1"), code=st.none() | st.integers(1000, 1300), items=_ITEMS),
)
_COMMANDS = st.recursive(
    _SIMPLE,
    lambda inner: st.one_of(
        st.builds(Atomic, cmd_id=st.just("1"), commands=st.lists(inner, max_size=4)),
        st.builds(Sequence, cmd_id=st.just("1"), commands=st.lists(inner, max_size=4)),
    ),
    max_leaves=8,
)


def _shape_matches(command: object, outcome: CommandOutcome) -> bool:
    if isinstance(command, Atomic | Sequence):
        return len(outcome.children) == len(command.commands) and all(
            _shape_matches(c, o) for c, o in zip(command.commands, outcome.children, strict=True)
        )
    return not outcome.children


def _ui(alert: Alert) -> CommandOutcome:
    return CommandOutcome(code=304 if alert.code == 1101 else 200)


@given(st.lists(_COMMANDS, max_size=6))
def test_any_command_gets_an_outcome(commands: list[Command]) -> None:
    tree = build_device_tree(DeviceInfo(dev_id="d", man="m", mod="x", max_depth=6))
    tree.set_acl(".", "Add=*&Delete=*&Exec=*&Get=*&Replace=*")
    for command in commands:
        outcome = tree.execute(command, server_id="s", ui=_ui)
        assert 200 <= outcome.code < 600
        assert _shape_matches(command, outcome)
    assert tree.node(()) is not None and tree.node(()).acl is not None  # type: ignore[union-attr]


def test_max_nodes_gives_420() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*", max_nodes=3)
    assert tree.execute(add("./a", "1"), server_id="s").code == 200
    assert tree.execute(add("./b", "1"), server_id="s").code == 200
    assert tree.execute(add("./c", "1"), server_id="s").code == 420
    assert tree.execute(add("./c/d/e", "1"), server_id="s").code == 420
    assert tree.node(("c",)) is None


def test_complete_exec_unknown_correlator_is_invalid_value() -> None:
    with pytest.raises(InvalidValueError):
        open_tree().complete_exec("nope", 200, alert_type="x")
