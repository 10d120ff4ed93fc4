"""Devices that answer the commands inside an Atomic but not the Atomic itself.

OMA-TS-DM_RepPro-V1_2_1 "Atomic" gives the Atomic a Status of its own; real clients
often send only the inner ones. ``ServerConfig.tolerate_missing_atomic_status`` (on by
default) completes such an Atomic with its worst inner code and notes the omission;
switched off, the omission is a protocol error that ends the session.
"""

from __future__ import annotations

import pytest

from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.model import Alert, Atomic, Delete, Item, Location, Replace, Status
from dmproto.codes import AlertCode
from dmproto.errors import RemoteProtocolError
from dmproto.outcome import CommandOutcome, OutcomeNote
from dmproto.session import OutgoingMessage
from dmproto.session import events as ev
from dmproto.testing import Pair


def _atomic() -> Atomic:
    return Atomic(
        cmd_id=None,
        commands=(
            Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./a"), data="1"),)),
            Delete(cmd_id=None, items=(Item(target=Location(loc_uri="./b")),)),
        ),
    )


def _failing_atomic(event: ev.CommandReceived) -> CommandOutcome:
    # the Delete failed, so the Replace was rolled back (216) and the Atomic 507
    return CommandOutcome(code=507, children=(CommandOutcome(code=216), CommandOutcome(code=404)))


def _drop_atomic_status(direction: str, msg: OutgoingMessage) -> OutgoingMessage:
    if direction != "c2s":
        return msg
    message = decode_message(msg.body)
    kept = [c for c in message.commands if not (isinstance(c, Status) and c.cmd == "Atomic")]
    if len(kept) == len(message.commands):
        return msg
    message = type(message)(header=message.header, commands=kept, final=message.final)
    return OutgoingMessage(
        body=encode_message(message, Encoding.XML),
        media_type=msg.media_type,
        headers=msg.headers,
        url=msg.url,
    )


def _pair(**server: object) -> Pair:
    pair = Pair.make(server=dict(server), packages=[[_atomic()]], answer=_failing_atomic)
    pair.tamper = _drop_atomic_status
    return pair


def test_a_missing_atomic_status_is_tolerated_by_default() -> None:
    pair = _pair().run()
    [outcome] = pair.completed().values()
    # the worst inner code, and a note that the Atomic's own Status never came
    assert outcome.code == 404
    assert outcome.note is OutcomeNote.STATUS_MISSING and outcome.peer_code is None
    assert [(c.code, c.note) for c in outcome.children] == [(216, None), (404, None)]
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_an_atomic_with_its_status_has_no_note() -> None:
    pair = Pair.make(packages=[[_atomic()]], answer=_failing_atomic).run()
    [outcome] = pair.completed().values()
    assert (outcome.code, outcome.note) == (507, None)


def test_without_the_tolerance_the_omission_ends_the_session() -> None:
    pair = _pair(tolerate_missing_atomic_status=False)
    with pytest.raises(RemoteProtocolError) as info:
        pair.run()
    assert info.value.reason == "session.missing-status"
    pair.drain_server()
    assert pair.completed() == {}
    ended = pair.ended("server")
    assert ended is not None and ended.reason is ev.EndReason.PROTOCOL_ERROR
    assert ended.detail == "session.missing-status"
    assert ended.unanswered == (1,)
    # the device is told: SyncHdr Status 400, Alert 1223, Final
    pair.server.abort()
    [out] = pair.server.messages_to_send(pair.now)
    last = decode_message(out.body)
    assert last.final
    hdr = [c for c in last.commands if isinstance(c, Status) and c.cmd_ref == "0"]
    assert [s.code for s in hdr] == [400]
    alerts = [c for c in last.commands if isinstance(c, Alert)]
    assert [a.code for a in alerts] == [AlertCode.SESSION_ABORT]
    pair.client.receive_message(out.body, media_type=out.media_type, now=pair.now)
    pair.drain_client()
    assert pair.ended("client").reason is ev.EndReason.ABORTED_BY_PEER  # type: ignore[union-attr]
