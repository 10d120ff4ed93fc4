"""The server re-authenticates when the device challenges it.

The server authenticates itself to the device (SyncHdr Cred, or the x-syncml-hmac
header). When the device's stored nonce for the server differs from the server's
(e.g. after a device reset), the device answers 401 + Chal with a fresh NextNonce
and refuses the server's commands with 401 (not executed). The server must build
its next credentials with that nonce at once, send the refused commands again,
report the nonce (``NonceChanged(role=SERVER)``: SRVCRED AAuthData, what it must
use toward this device), and give up after ``max_auth_attempts`` challenges
(OMA-TS-DM_Security-V1_2_1 §5.1).
"""

from __future__ import annotations

import base64

import pytest
from sessionkit import wire_msg

from dmproto.codec import decode_message
from dmproto.codec.model import Add, Atomic, Get, Item, Location, Replace, Status
from dmproto.security import AuthScheme, Credentials, decode_nonce, md5_credential
from dmproto.session import Account, ServerSession, SessionState
from dmproto.session import events as ev
from dmproto.testing import (
    DEVICE_ID,
    SERVER_CREDS,
    Pair,
    account,
    server_config,
    status_codes,
    transcript_messages,
)

XML = "application/vnd.syncml.dm+xml"


def commands() -> list[Replace | Get]:
    return [
        Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./Vendor/a"), data="1"),)),
        Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),)),
    ]


def nonces(events: list[ev.Event], role: ev.NonceRole) -> list[bytes]:
    return [e.nonce for e in events if isinstance(e, ev.NonceChanged) and e.role is role]


def challenged_nonces(pair: Pair) -> list[bytes]:
    """The NextNonces of the device's challenges (401/407 on the server's SyncHdr)."""
    found = []
    for direction, message in transcript_messages(pair):
        for command in message.commands:
            if (
                direction == "c2s"
                and isinstance(command, Status)
                and command.cmd_ref == "0"
                and command.code in (401, 407)
                and command.chal is not None
            ):
                assert command.chal.meta.next_nonce is not None
                found.append(decode_nonce(command.chal.meta.next_nonce))
    return found


@pytest.mark.parametrize("scheme", [AuthScheme.MD5, AuthScheme.HMAC])
def test_stale_server_nonce_is_resynchronised(scheme: AuthScheme) -> None:
    pair = Pair.make(
        client={"server_nonce": b"device-was-reset", "server_auth_scheme": scheme},
        account=account(server_auth_scheme=scheme, server_nonce=b"what-the-server-kept"),
        packages=[commands(), commands()],
    ).run()
    # The device challenged once, with a fresh nonce.
    (fresh,) = challenged_nonces(pair)
    assert status_codes(pair, "c2s", cmd_ref="0").count(401) == 1
    # The server reported exactly that nonce first, then the next-session nonce
    # the device handed out with its acceptance; the last one is what both keep.
    server_side = nonces(pair.server_events, ev.NonceRole.SERVER)
    assert server_side[0] == fresh
    assert server_side[-1] == nonces(pair.client_events, ev.NonceRole.SERVER)[-1]
    # Every command was executed exactly once and completed 200.
    targets = [e.command.items[0].target.loc_uri for e in pair.received()]  # type: ignore[union-attr]
    assert sorted(targets) == sorted(["./Vendor/a", "./DevInfo/Mod"] * 2)
    assert sorted(pair.completed()) == [1, 2, 3, 4]
    assert all(o.code == 200 for o in pair.completed().values())
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]
    assert pair.ended("client").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


@pytest.mark.parametrize("scheme", [AuthScheme.MD5, AuthScheme.HMAC])
def test_refused_large_object_and_atomic_are_sent_again_whole(scheme: AuthScheme) -> None:
    # The challenge arrives while a chunked Replace is in flight (small MaxMsgSize):
    # the object is sent again from its first chunk and the device executes it,
    # and the Atomic, exactly once.
    big = Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./big"), data="x" * 5000),))
    atomic = Atomic(
        cmd_id=None,
        commands=(Add(cmd_id=None, items=(Item(target=Location(loc_uri="./n"), data="1"),)),),
    )
    pair = Pair.make(
        client={"server_nonce": b"stale", "server_auth_scheme": scheme, "max_msg_size": 2048},
        account=account(server_auth_scheme=scheme),
        packages=[[big, atomic]],
    ).run()
    assert status_codes(pair, "c2s", cmd_ref="0").count(401) == 1
    first = transcript_messages(pair)[1][1]  # the server's first message
    (chunk,) = [c for c in first.commands if isinstance(c, Replace)]
    assert chunk.items[0].more_data  # a chunk was in flight when the device refused it
    received = [e.command for e in pair.received()]
    assert [type(c) for c in received] == [Replace, Atomic]
    assert received[0].items[0].data == "x" * 5000  # type: ignore[union-attr]
    assert {h: o.code for h, o in pair.completed().items()} == {1: 200, 2: 200}
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_device_with_another_server_password_ends_the_session() -> None:
    # Not a stale nonce: the server's credentials are wrong for this device. The
    # device challenges up to its own bound and stops; nothing was executed.
    pair = Pair.make(
        client={"server_credentials": Credentials(username="mgmt-server", password="other")},
        packages=[commands()],
    ).run()
    assert pair.received() == []
    assert pair.ended("client").reason is ev.EndReason.AUTHENTICATION_FAILED  # type: ignore[union-attr]
    assert status_codes(pair, "c2s", cmd_ref="0") == [401, 401, 401]


# ---------------------------------------------------------------- a device that keeps challenging

PKG1 = (
    "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>"
    "<Replace><CmdID>2</CmdID><Item><Source><LocURI>./DevInfo/DevId</LocURI></Source>"
    f"<Data>{DEVICE_ID}</Data></Item></Replace>"
)


def challenge(msg_ref: str, nonce: bytes, refused: list[str]) -> str:
    """Status 401 + Chal (md5, fresh nonce) for the server's SyncHdr, 401 for each
    refused command."""
    chal = (
        '<Chal><Meta><Type xmlns="syncml:metinf">syncml:auth-md5</Type>'
        '<Format xmlns="syncml:metinf">b64</Format><NextNonce xmlns="syncml:metinf">'
        f"{base64.b64encode(nonce).decode()}</NextNonce></Meta></Chal>"
    )
    body = (
        f"<Status><CmdID>1</CmdID><MsgRef>{msg_ref}</MsgRef><CmdRef>0</CmdRef>"
        f"<Cmd>SyncHdr</Cmd>{chal}<Data>401</Data></Status>"
    )
    for n, cmd_id in enumerate(refused, 2):
        body += (
            f"<Status><CmdID>{n}</CmdID><MsgRef>{msg_ref}</MsgRef><CmdRef>{cmd_id}</CmdRef>"
            "<Cmd>Get</Cmd><Data>401</Data></Status>"
        )
    return body


@pytest.mark.parametrize("bound", [1, 3])
def test_a_device_that_keeps_challenging_ends_the_session_after_the_bound(bound: int) -> None:
    server = ServerSession(server_config(max_auth_attempts=bound))
    server.receive_message(
        wire_msg(PKG1, 1, to_server=True, hdr_code=None), media_type=XML, now=0.0
    )
    events: list[ev.Event] = []

    def drain() -> None:
        while (event := server.next_event()) is not None:
            events.append(event)

    drain()
    server.supply_account(Account(server_credentials=SERVER_CREDS, server_nonce=b"stale"))
    drain()
    handle = server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./x")),)))
    server.close_package()
    (out,) = server.messages_to_send(1.0)
    sent_gets = 0
    for msg_id in range(2, 2 + bound + 1):
        message = decode_message(out.body)
        gets = [c.cmd_id for c in message.commands if isinstance(c, Get)]
        sent_gets += len(gets)
        nonce = f"fresh-{msg_id}".encode()
        body = challenge(message.header.msg_id, nonce, [g for g in gets if g])
        server.receive_message(
            wire_msg(body, msg_id, to_server=True, hdr_code=None), media_type=XML, now=float(msg_id)
        )
        drain()
        (out,) = server.messages_to_send(float(msg_id))
        drain()
        if server.state is SessionState.FINISHED:
            break
        # Taken at once: the next Cred is built with the nonce just received,
        # and reported for the application to persist.
        cred = decode_message(out.body).header.cred
        assert cred is not None and cred.data == md5_credential(SERVER_CREDS, nonce)
        assert nonces(events, ev.NonceRole.SERVER)[-1] == nonce
    # The Get went out once plus once per answered challenge; never executed.
    assert sent_gets == 1 + bound
    ended = [e for e in events if isinstance(e, ev.SessionEnded)]
    assert len(ended) == 1 and ended[0].reason is ev.EndReason.AUTHENTICATION_FAILED
    completed = [e for e in events if isinstance(e, ev.CommandCompleted)]
    assert [(c.handle, c.outcome.code) for c in completed] == [(handle, 401)]
