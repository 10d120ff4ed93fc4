"""A large object whose non-final chunk is not answered 213 was not delivered.

OMA-TS-DM_Protocol-V1_2_1 "Large Object Handling": the receiver accepts every chunk
but the last with 213 (Chunked item accepted). A device answering a non-final chunk
with anything else (a 200 seen in the field, or an error) kept at most part of the
object: the sender stops chunking and the command must not be reported as a success.
"""

from __future__ import annotations

import pytest

from dmproto.codec.model import Item, Location, Replace
from dmproto.codes import StatusCode
from dmproto.outcome import OutcomeNote
from dmproto.session import events as ev
from dmproto.testing import Pair, transcript_messages

LIMIT = 2000
VALUE = "x" * (LIMIT * 4)  # needs several chunks under the device's MaxMsgSize


def _replace() -> Replace:
    return Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./big"), data=VALUE),))


def _chunks_sent(pair: Pair) -> int:
    return sum(
        1
        for d, msg in transcript_messages(pair)
        if d == "s2c"
        for c in msg.commands
        if isinstance(c, Replace) and c.items[0].more_data
    )


def _answer_first_chunk_with(pair: Pair, code: int) -> Pair:
    # The device's message answering the first chunk (the third message: client
    # Package 1, server Package 2 with the first chunk, then this one).
    return pair.rewrite("c2s", b"<Data>213</Data>", f"<Data>{code}</Data>".encode(), index=3)


@pytest.mark.parametrize("code", [200, 500])
def test_a_chunk_answered_without_213_fails_the_command(code: int) -> None:
    pair = _answer_first_chunk_with(
        Pair.make(client={"max_msg_size": LIMIT}, packages=[[_replace()]]), code
    ).run()
    assert _chunks_sent(pair) == 1  # no chunk after the refused one
    [outcome] = pair.completed().values()
    assert outcome.code >= 300  # never a success: the object was not delivered
    assert outcome.code == (code if code >= 300 else StatusCode.COMMAND_FAILED)
    assert outcome.note is OutcomeNote.LARGE_OBJECT_NOT_DELIVERED
    assert outcome.peer_code == code
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_a_delivered_large_object_has_no_note() -> None:
    pair = Pair.make(client={"max_msg_size": LIMIT}, packages=[[_replace()]]).run()
    assert _chunks_sent(pair) >= 2
    [outcome] = pair.completed().values()
    assert (outcome.code, outcome.note, outcome.peer_code) == (200, None, None)
    assert [e.command.items[0].data for e in pair.received()] == [VALUE]  # type: ignore[union-attr]


def test_the_note_survives_a_snapshot() -> None:
    pair = _answer_first_chunk_with(
        Pair.make(client={"max_msg_size": LIMIT}, packages=[[_replace()]], snapshot_every=True),
        200,
    )
    pair.run()  # both sessions go through JSON snapshots before every message
    [outcome] = pair.completed().values()
    assert outcome.note is OutcomeNote.LARGE_OBJECT_NOT_DELIVERED
    assert (outcome.code, outcome.peer_code) == (StatusCode.COMMAND_FAILED, 200)
