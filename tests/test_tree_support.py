"""Builders shared by the tree tests (commands from URIs, a small standard tree).

Kept in a test module of its own so every ``test_tree_*`` file builds commands the
same way; the one test here checks the builders themselves.
"""

from __future__ import annotations

from typing import Any

from dmproto.codec.model import (
    Add,
    Command,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    Location,
    Meta,
    Replace,
)
from dmproto.tree import ManagementTree
from dmproto.tree.stdobj import DeviceInfo, build_device_tree

OPEN_ACL = "Add=*&Delete=*&Exec=*&Get=*&Replace=*"
SRV = "srv"


def run(tree: ManagementTree, command: Command, server: str = SRV) -> int:
    """Execute ``command`` as ``server``; the status code."""
    return int(tree.execute(command, server_id=server).code)


def item(
    uri: str,
    data: str | bytes | None = None,
    fmt: str | None = None,
    mtype: str | None = None,
    source: str | None = None,
) -> Item:
    """An Item targeting ``uri`` with optional Data/Meta/Source."""
    meta = Meta(format=fmt, type=mtype) if fmt or mtype else None
    src = Location(loc_uri=source) if source else None
    return Item(target=Location(loc_uri=uri), source=src, meta=meta, data=data)


def add(
    uri: str, data: str | bytes | None = None, fmt: str | None = None, mtype: str | None = None
) -> Add:
    return Add(cmd_id="1", items=[item(uri, data, fmt, mtype)])


def add_node(uri: str) -> Add:
    return add(uri, fmt="node")


def replace(
    uri: str, data: str | bytes | None = None, fmt: str | None = None, mtype: str | None = None
) -> Replace:
    return Replace(cmd_id="1", items=[item(uri, data, fmt, mtype)])


def delete(uri: str) -> Delete:
    return Delete(cmd_id="1", items=[item(uri)])


def get(*uris: str) -> Get:
    return Get(cmd_id="1", items=[item(u) for u in uris])


def copy(src: str, dst: str) -> Copy:
    return Copy(cmd_id="1", items=[item(dst, source=src)])


def exec_(uri: str, data: str | None = None, correlator: str | None = None) -> Exec:
    return Exec(cmd_id="1", items=[item(uri, data)], correlator=correlator)


def open_tree() -> ManagementTree:
    """An empty tree whose root grants everything to everyone."""
    return ManagementTree(root_acl=OPEN_ACL)


def std_tree(**kwargs: Any) -> ManagementTree:
    """A standard device tree with a fixed clock."""
    info = DeviceInfo(dev_id="IMEI:000000011234564", man="ACME", mod="X1", **kwargs)
    return build_device_tree(info, clock=lambda: "20260101T000000Z")


def value(tree: ManagementTree, uri: str, server: str = "srv") -> object:
    """The Data of a single-node Get, or the failing status code."""
    out = tree.execute(get(uri), server_id=server)
    return out.results[0].data if out.code == 200 else out.code


def test_builders_make_targeted_items() -> None:
    cmd = copy("./a", "./b")
    assert cmd.items[0].target is not None and cmd.items[0].target.loc_uri == "./b"
    assert cmd.items[0].source is not None and cmd.items[0].source.loc_uri == "./a"
    assert add_node("./x").items[0].meta == Meta(format="node")
