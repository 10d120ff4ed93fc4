"""Fuzz target for the tree executor: random command sequences on a management tree.

The input is read as a program: each step picks a command (Add, Replace, Delete,
Get, Copy, Exec, or an Atomic / Sequence of two commands), a URI built from a small
alphabet (so steps meet the same nodes), a node format and a value. Every command is
executed through ``ManagementTree.execute`` as one of two servers. Invariants:

* the executor answers every command with a Status code (100–599) and never raises;
* an Atomic that fails leaves the tree exactly as it was (OMA-TS-DM_Protocol-V1_2_1
  §6.6.3, Atomic: all or nothing);
* a leaf that was just added or replaced with text reads back as that text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dmproto.codec.model import (
    Add,
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
)
from dmproto.tree import ManagementTree

__all__ = ["TARGETS", "tree_commands"]

_SEGMENTS = ("a", "b", "c", "x y", "%41", "..", ".", "", "DevInfo", "ext")
_FORMATS = (None, "node", "chr", "int", "bool", "bin", "b64", "xml", "float")
_SERVERS = ("srv", "other")


class _Reader:
    """Bytes of the input, consumed front to back; zeros once it runs out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos] if self.pos < len(self.data) else 0
        self.pos += 1
        return value

    def more(self) -> bool:
        return self.pos < len(self.data)

    def text(self) -> str:
        size = self.byte() % 12
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk.decode("utf-8", "replace")


def _uri(r: _Reader) -> str:
    depth = r.byte() % 4
    parts = [_SEGMENTS[r.byte() % len(_SEGMENTS)] for _ in range(depth)]
    return "/".join([".", *parts]) if r.byte() % 8 else "/".join(parts)


def _item(r: _Reader, with_data: bool) -> Item:
    fmt = _FORMATS[r.byte() % len(_FORMATS)]
    data: str | None = r.text() if with_data and fmt != "node" else None
    return Item(
        target=Location(loc_uri=_uri(r)),
        source=Location(loc_uri=_uri(r)) if r.byte() % 4 == 0 else None,
        meta=Meta(format=fmt) if fmt else None,
        data=data,
    )


def _command(r: _Reader, nested: bool) -> Command:
    kind = r.byte() % (9 if nested else 7)
    if kind == 0:
        return Add(cmd_id="1", items=[_item(r, True)])
    if kind == 1:
        return Replace(cmd_id="1", items=[_item(r, True)])
    if kind == 2:
        return Delete(cmd_id="1", items=[_item(r, False)])
    if kind == 3:
        return Get(cmd_id="1", items=[_item(r, False) for _ in range(1 + r.byte() % 2)])
    if kind == 4:
        return Copy(cmd_id="1", items=[_item(r, False)])
    if kind == 5:
        return Exec(cmd_id="1", items=[_item(r, True)])
    if kind == 6:
        return Add(cmd_id="1", items=[_item(r, True), _item(r, True)])
    inner = [_command(r, False), _command(r, False)]
    if kind == 7:
        return Atomic(cmd_id="1", commands=inner)
    return Sequence(cmd_id="1", commands=inner)


def _state(tree: ManagementTree) -> dict[str, object]:
    """Every node's value and properties, for comparing before and after: the frozen
    nodes themselves (their ``repr`` leaves the value out, so it cannot be compared)."""
    return {str(path): tree.node(path) for path in tree.paths()}


def _steps(data: bytes) -> Iterator[tuple[str, Command]]:
    r = _Reader(data)
    for _ in range(32):
        if not r.more():
            return
        yield _SERVERS[r.byte() % 2], _command(r, True)


def tree_commands(data: bytes) -> None:
    """Run the program in *data* on a tree open to both servers; check the invariants."""
    tree = ManagementTree(root_acl="Add=*&Delete=*&Exec=*&Get=*&Replace=*")
    for server, command in _steps(data):
        before = _state(tree) if isinstance(command, Atomic) else None
        outcome = tree.execute(command, server_id=server)
        code = int(outcome.code)
        assert 100 <= code <= 599, (command, code)
        if before is not None and code >= 300:
            assert _state(tree) == before, command
        if isinstance(command, Replace | Add) and code < 300 and len(command.items) == 1:
            item = command.items[0]
            meta = item.meta
            if isinstance(item.data, str) and (meta is None or meta.format == "chr"):
                target = item.target.loc_uri if item.target else ""
                get = Get(cmd_id="1", items=[Item(target=Location(loc_uri=target))])
                got = tree.execute(get, server_id=server)
                if int(got.code) == 200 and got.results:
                    assert got.results[0].data == item.data, (command, got)


TARGETS: dict[str, Callable[[bytes], None]] = {"tree_commands": tree_commands}
