"""Authentication handshake details pinned by a mutation run over
``dmproto/session/_handshake.py`` (each test names the rule it guards;
OMA-TS-DM_Security-V1_2_1 §5.1).
"""

from __future__ import annotations

import pytest
from sessionkit import wire_msg

from dmproto.codec.model import Get, Item, Location, Status
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme
from dmproto.session import ClientSession
from dmproto.session import events as ev
from dmproto.testing import Pair, account, client_config, transcript_messages

XML = "application/vnd.syncml.dm+xml"
GET = "<Get><CmdID>2</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Get>"


def get() -> Get:
    return Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),))


def hdr_statuses(pair: Pair, direction: str) -> list[Status]:
    return [
        c
        for d, m in transcript_messages(pair)
        if d == direction
        for c in m.commands
        if isinstance(c, Status) and c.cmd_ref == "0"
    ]


def test_peer_without_application_credentials_is_authenticated_once() -> None:
    # Transport-level authentication only: PeerAuthenticated(None) once per
    # session, not once per message.
    pair = Pair.make(
        client={"server_credentials": None},
        account=account(credentials=None, server_credentials=None),
        packages=[[get()], [get()]],
    ).run()
    for events in (pair.client_events, pair.server_events):
        assert [e for e in events if isinstance(e, ev.PeerAuthenticated)] == [
            ev.PeerAuthenticated(scheme=None)
        ]
    assert len(pair.transcript) == 6  # three messages each way


def test_basic_acceptance_carries_no_challenge() -> None:
    # 212 for a Basic login: no Chal (a basic Chal has no NextNonce to hand out).
    pair = Pair.make(
        client={"auth_scheme": AuthScheme.BASIC, "server_credentials": None},
        account=account(auth_scheme=AuthScheme.BASIC, server_credentials=None),
    ).run()
    (accepted,) = hdr_statuses(pair, "s2c")
    assert accepted.code == 212 and accepted.chal is None


def test_md5_acceptance_hands_out_the_next_nonce() -> None:
    # The other side of the same rule: 212 for MD5 carries the nonce for the next
    # session, reported to the server application for the device (CLIENT role).
    pair = Pair.make(
        client={"server_credentials": None}, account=account(server_credentials=None)
    ).run()
    (accepted,) = hdr_statuses(pair, "s2c")
    assert accepted.code == 212 and accepted.chal is not None
    assert [e.role for e in pair.server_events if isinstance(e, ev.NonceChanged)] == [
        ev.NonceRole.CLIENT
    ]


def test_hmac_challenge_after_acceptance_ends_the_session() -> None:
    # With HMAC every message is authenticated (200 each time); once the server
    # accepted ours, a later 401 is an integrity failure, not a stale nonce: the
    # client stops instead of answering it.
    client = ClientSession(client_config(auth_scheme=AuthScheme.HMAC, server_credentials=None))
    assert client.messages_to_send(0.0)
    client.receive_message(wire_msg(GET, hdr_code=200), media_type=XML, now=1.0)
    while (event := client.next_event()) is not None:
        if isinstance(event, ev.CommandReceived):
            client.respond(event.handle, CommandOutcome(code=200))
    assert client.messages_to_send(1.0)
    chal = (
        '<Chal><Meta><Type xmlns="syncml:metinf">syncml:auth-MAC</Type>'
        '<NextNonce xmlns="syncml:metinf">bm9uY2U=</NextNonce></Meta></Chal>'
    )
    body = (
        "<Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
        f"{chal}<Data>401</Data></Status>"
    )
    client.receive_message(wire_msg(body, 2, hdr_code=None), media_type=XML, now=2.0)
    events = []
    while (event := client.next_event()) is not None:
        events.append(event)
    assert isinstance(events[-1], ev.SessionEnded)
    assert events[-1].reason is ev.EndReason.AUTHENTICATION_FAILED
    assert client.messages_to_send(2.0) == []


@pytest.mark.parametrize("code", [300, 301])
def test_synchdr_status_300_is_not_acceptance(code: int) -> None:
    # Only 2xx accepts our SyncHdr; the 3xx range (boundary 300 included) ends
    # the session like any other refusal.
    client = ClientSession(client_config(server_credentials=None))
    assert client.messages_to_send(0.0)
    client.receive_message(wire_msg(GET, hdr_code=code), media_type=XML, now=1.0)
    events = []
    while (event := client.next_event()) is not None:
        events.append(event)
    assert isinstance(events[-1], ev.SessionEnded)
    assert events[-1].reason is ev.EndReason.AUTHENTICATION_FAILED
