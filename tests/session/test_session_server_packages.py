"""A server package is one message, except for large objects and Next-Message answers.

OMA-TS-DM_Protocol-V1_2_1 §2.1 "Multiple Messages In Package": a server may not send
new commands to a client that has not yet returned a Status for the previous ones.
When the queued commands do not fit the device's MaxMsgSize, the server closes its
package with Final and carries the rest, in order, into its next package (after the
device's answers). Only a large-object chunk goes out without Final with a command
in it; while the device sends a package of several messages, the server answers each
with Statuses and Alert 1222 only, without Final.
"""

from __future__ import annotations

import pytest

from dmproto.codec import Encoding, encode_message
from dmproto.codec.model import (
    Alert,
    Atomic,
    Command,
    Get,
    Item,
    ItemCommand,
    Location,
    Message,
    Replace,
    Status,
)
from dmproto.codes import AlertCode
from dmproto.session import events as ev
from dmproto.testing import Pair, echo_results, transcript_messages

GETS = 30


def _gets() -> list[Command]:
    return [
        Get(cmd_id=None, items=(Item(target=Location(loc_uri=f"./n/{i}")),)) for i in range(GETS)
    ]


def _is_chunk(command: Command) -> bool:
    return isinstance(command, ItemCommand) and any(item.more_data for item in command.items)


def _new_commands(message: Message) -> list[Command]:
    """What the message sends that is not an answer (Status) nor a Next-Message ask."""
    return [
        c
        for c in message.commands
        if not isinstance(c, Status)
        and not (isinstance(c, Alert) and c.code == AlertCode.NEXT_MESSAGE)
    ]


def assert_server_packages_are_single_messages(pair: Pair, encoding: Encoding, limit: int) -> int:
    """Every server message carrying new commands has Final, unless it carries a
    large-object chunk; every server answer to a message of a device's open
    multi-message package holds only Statuses and Alert 1222, without Final.
    Returns how many server messages carried new commands."""
    carrying = 0
    device_package_open = False
    server_closed = True
    for direction, message in transcript_messages(pair):
        if direction == "c2s":
            # a device message without Final after our Final opens its multi-message
            # package (one answering our chunk is not: it answers a message of ours)
            device_package_open = not message.final and (server_closed or device_package_open)
            continue
        assert len(encode_message(message, encoding)) <= limit
        new = _new_commands(message)
        if device_package_open:
            assert not new and not message.final, [c.name for c in message.commands]
            assert any(isinstance(c, Alert) for c in message.commands)
        elif new:
            carrying += 1
            assert message.final or any(_is_chunk(c) for c in new), [c.name for c in new]
        server_closed = message.final
    return carrying


@pytest.mark.parametrize(
    ("encoding", "limit"),
    [(Encoding.XML, 1500), (Encoding.XML, 1024), (Encoding.WBXML, 1024)],
)
def test_commands_that_do_not_fit_go_into_the_next_package(encoding: Encoding, limit: int) -> None:
    pair = Pair.make(client={"max_msg_size": limit, "encoding": encoding}, packages=[_gets()]).run(
        max_rounds=200
    )
    carrying = assert_server_packages_are_single_messages(pair, encoding, limit)
    assert carrying >= 2  # the Gets really did not fit one message
    # every Get executed once, in the order queued, and completed in that order
    received = [e.command.items[0].target.loc_uri for e in pair.received()]  # type: ignore[union-attr]
    assert received == [f"./n/{i}" for i in range(GETS)]
    completed = [e for e in pair.server_events if isinstance(e, ev.CommandCompleted)]
    assert [e.handle for e in completed] == sorted(pair.handles)
    assert all(e.outcome.code == 200 and e.outcome.results for e in completed)
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_the_server_holds_its_commands_while_the_device_package_is_open() -> None:
    # Results too big for the server's MaxMsgSize together: the device splits its
    # Package 3 (allowed), and the server's leftover Gets wait for its end.
    pair = Pair.make(
        client={"max_msg_size": 1500},
        server={"max_msg_size": 1024},
        packages=[_gets()],
        answer=echo_results("r" * 300),
    ).run(max_rounds=300)
    assert_server_packages_are_single_messages(pair, Encoding.XML, 1500)
    multi = [m for d, m in transcript_messages(pair) if d == "c2s" and not m.final]
    assert multi  # the device did split its package
    assert len(pair.completed()) == GETS
    assert all(o.results[0].data == "r" * 300 for o in pair.completed().values())
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_large_objects_and_atomics_keep_their_shape() -> None:
    atomic = Atomic(
        cmd_id=None,
        commands=tuple(
            Replace(cmd_id=None, items=(Item(target=Location(loc_uri=f"./a/{i}"), data="x"),))
            for i in range(3)
        ),
    )
    big = Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./big"), data="b" * 5000),))
    pair = Pair.make(
        client={"max_msg_size": 1500}, packages=[[*_gets()[:10], atomic, big, *_gets()[10:]]]
    ).run(max_rounds=200)
    assert_server_packages_are_single_messages(pair, Encoding.XML, 1500)
    # the Atomic arrived whole, in one message; the large object reassembled
    atomics = [e.command for e in pair.received() if isinstance(e.command, Atomic)]
    assert [len(a.commands) for a in atomics] == [3]
    datas = [e.command.items[0].data for e in pair.received() if isinstance(e.command, Replace)]
    assert datas == ["b" * 5000]
    assert len(pair.completed()) == GETS + 2
    assert all(o.code == 200 for o in pair.completed().values())
