"""The no-progress guard ends the session after exactly three empty exchanges.

A device announcing a MaxMsgSize too small for anything but the SyncHdr Status
(OMA-TS-DM_RepPro-V1_2_1 MaxMsgSize) makes every server message a Statuses-only
one, answered by Statuses and Alert 1222 (OMA-TS-DM_Protocol-V1_2_1 "next
message"): an exchange that would repeat for ever. The server tolerates
``MAX_STALLS`` (3, documented in ``_core.py``) such exchanges, then aborts.

Mutation guard: raising ``MAX_STALLS`` to 30 passed every test before this one
(the existing bound was expressed in terms of the constant itself); this test
counts the exchanges on the wire against the documented number.
"""

from __future__ import annotations

import itertools

import pytest

from dmproto.codec.model import Alert, Get, Item, Location, Message, Status
from dmproto.codes import AlertCode
from dmproto.session import events as ev
from dmproto.testing import Pair, transcript_messages

#: The documented tolerance (``MAX_STALLS``; it must not drift unnoticed).
DOCUMENTED_STALLS = 3


def idle(message: Message) -> bool:
    """Only Statuses and Alert 1222: nothing that moves the session on."""
    return all(
        isinstance(c, Status) or (isinstance(c, Alert) and c.code == AlertCode.NEXT_MESSAGE)
        for c in message.commands
    )


@pytest.mark.parametrize("announced", [512, 768])
def test_session_aborts_after_exactly_max_stalls_empty_exchanges(announced: int) -> None:
    get = Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),))
    pair = Pair.make(client={"server_nonce": b"stale"}, packages=[[get]]).rewrite(
        "c2s", b">16384</MaxMsgSize>", f">{announced}</MaxMsgSize>".encode()
    )
    pair.run(max_rounds=200)
    msgs = transcript_messages(pair)
    # An empty exchange: an idle device message answered by Statuses only.
    empty = sum(
        1
        for (d1, m1), (d2, m2) in itertools.pairwise(msgs)
        if d1 == "c2s"
        and d2 == "s2c"
        and idle(m1)
        and all(isinstance(c, Status) for c in m2.commands)
    )
    assert empty == DOCUMENTED_STALLS
    # The message after the last empty exchange is the abort, and it is the end.
    last_direction, last = msgs[-1]
    assert last_direction == "s2c" and last.final
    assert [c.code for c in last.commands if isinstance(c, Alert)] == [AlertCode.SESSION_ABORT]
    end = pair.ended("server")
    assert end is not None and end.reason is ev.EndReason.PROTOCOL_ERROR
    assert end.detail == ev.NO_PROGRESS
