"""A repeated MsgID is refused exactly at equality (OMA-TS-DM_Protocol-V1_2_1:
MsgID grows by one with every message each side sends in a session; a message
whose MsgID is not above the last one received is a duplicate).

Mutation guard: the check ``msg_id <= last`` weakened to ``<`` passed every test
before these. Each test replays, at the moment the receiver is ready for the next
message, the very message (same MsgID) it received last.
"""

from __future__ import annotations

import pytest

from dmproto.codec.model import Get, Item, Location
from dmproto.errors import RemoteProtocolError
from dmproto.session import SessionState
from dmproto.testing import Pair

XML = "application/vnd.syncml.dm+xml"


def after_one_exchange() -> Pair:
    """Package 1 delivered and answered; the device has answered package 2 too
    (its message 2 is handed out, not delivered)."""
    get = Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),))
    pair = Pair.make(packages=[[get]])
    pair.drain_client()
    assert pair.step()
    return pair


def last_body(pair: Pair, direction: str) -> bytes:
    return [body for d, body in pair.transcript if d == direction][-1]


def test_server_refuses_the_device_message_id_repeated() -> None:
    pair = after_one_exchange()
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.receive_message(last_body(pair, "c2s"), media_type=XML, now=9.0)
    assert info.value.reason == "session.msg-id"
    assert pair.server.state is SessionState.FINISHED


def test_client_refuses_the_server_message_id_repeated() -> None:
    pair = after_one_exchange()
    assert pair.client.messages_to_send(pair.now)  # our answer leaves: our turn is over
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.receive_message(last_body(pair, "s2c"), media_type=XML, now=9.0)
    assert info.value.reason == "session.msg-id"


def test_the_next_message_id_is_accepted() -> None:
    # The other side of the boundary: MsgID = last + 1 is the normal next message.
    pair = after_one_exchange()
    (answer,) = pair.client.messages_to_send(pair.now)
    assert b"<MsgID>2</MsgID>" in answer.body
    pair.server.receive_message(answer.body, media_type=XML, now=9.0)
    assert pair.server.state is SessionState.ACTIVE
