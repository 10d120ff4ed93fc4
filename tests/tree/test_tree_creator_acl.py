"""The ACL a device gives an interior node that a server creates without Replace
on the parent (OMA-TS-DM_TND-V1_2 §8.3.7.1): the creator must hold Add, Delete and
Replace, and we also give it Get, which the same rule says the server SHOULD hold.

Regression: the creator got no Get, so every Get below its own new node answered
425 (seen when an independent DM server managed a dmproto device).
"""

from __future__ import annotations

from treekit import add, add_node, get, value

from dmproto.codec.model import Add, Get, Item, Location, Meta
from dmproto.outcome import CommandOutcome
from dmproto.session import events as ev
from dmproto.testing import Pair
from dmproto.tree import AclCommand, ManagementTree

SERVER_ID = "srv"


def test_creator_can_read_back_below_its_new_node() -> None:
    tree = ManagementTree(root_acl="Add=*&Get=*")  # the default root ACL: no Replace
    assert tree.execute(add_node("./Vendor"), server_id=SERVER_ID).code == 200
    assert tree.execute(add("./Vendor/Setting", "on"), server_id=SERVER_ID).code == 200
    assert value(tree, "./Vendor/Setting", SERVER_ID) == "on"
    assert tree.execute(get("./Vendor?list=Struct"), server_id=SERVER_ID).code == 200
    assert value(tree, "./Vendor?prop=ACL", SERVER_ID) == ("Add=srv&Delete=srv&Get=srv&Replace=srv")
    acl = tree.node(("Vendor",)).acl  # type: ignore[union-attr]
    assert acl is not None
    assert {cmd for cmd, ids in acl.entries if SERVER_ID in ids} == {
        AclCommand.ADD,
        AclCommand.DELETE,
        AclCommand.GET,
        AclCommand.REPLACE,
    }
    # Only the creator: another server gets nothing below the node.
    assert tree.execute(get("./Vendor/Setting"), server_id="other").code == 425


def test_creator_with_replace_on_the_parent_still_inherits() -> None:
    # The rule applies only without Replace on the parent: otherwise the new node
    # keeps no ACL of its own and inherits (Get=* here).
    tree = ManagementTree(root_acl="Add=*&Get=*&Replace=*")
    assert tree.execute(add_node("./Vendor"), server_id=SERVER_ID).code == 200
    assert tree.node(("Vendor",)).acl is None  # type: ignore[union-attr]
    assert tree.execute(add("./Vendor/Setting", "on"), server_id=SERVER_ID).code == 200
    assert value(tree, "./Vendor/Setting", "other") == "on"


def test_server_reads_back_what_it_created_over_a_session() -> None:
    # A server adds an interior node and a leaf below it, then reads the leaf in
    # its next package; the device answers from a real tree.
    tree = ManagementTree(root_acl="Add=*&Get=*")
    node = Add(
        cmd_id=None, items=(Item(target=Location(loc_uri="./Vendor"), meta=Meta(format="node")),)
    )
    leaf = Add(cmd_id=None, items=(Item(target=Location(loc_uri="./Vendor/Setting"), data="on"),))
    read = Get(cmd_id=None, items=(Item(target=Location(loc_uri="./Vendor/Setting")),))

    def device(event: ev.CommandReceived) -> CommandOutcome:
        return tree.execute(event.command, server_id=SERVER_ID)

    pair = Pair.make(packages=[[node, leaf], [read]], answer=device).run()
    outcomes = pair.completed()
    assert [outcomes[h].code for h in sorted(outcomes)] == [200, 200, 200]
    (result,) = outcomes[3].results
    assert result.data == "on"
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]
