"""Builders shared by the tree tests (commands from URIs, a small standard tree), so
every tree test builds commands the same way (their own test is in
``tree/test_tree_commands.py``)."""

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
from dmproto.codec.tnds import MgmtTree, TreeNode, encode_tree_document
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


def tnds_document(*nodes: TreeNode) -> bytes:
    """A TNDS document (OMA-TS-DM_TND-V1_2 §8) holding *nodes*, in XML."""
    return encode_tree_document(MgmtTree(nodes=nodes))


def open_tree() -> ManagementTree:
    """An empty tree whose root grants everything to everyone."""
    return ManagementTree(root_acl=OPEN_ACL)


def std_tree(**kwargs: Any) -> ManagementTree:
    """A standard device tree with a fixed clock."""
    info = DeviceInfo(dev_id="IMEI:000000011234564", man="ACME", mod="X1", **kwargs)
    return build_device_tree(info, clock=lambda: "20260101T000000Z")


def state(tree: ManagementTree) -> dict[tuple[str, ...], object]:
    """Every node of the tree by path: compare two to show a command changed nothing."""
    return {p: tree.node(p) for p in tree.paths()}


def value(tree: ManagementTree, uri: str, server: str = "srv") -> object:
    """The Data of a single-node Get, or the failing status code."""
    out = tree.execute(get(uri), server_id=server)
    return out.results[0].data if out.code == 200 else out.code
