"""No data lost (docs/session-api.md "Commands that never get an answer"): every
handle from ``queue`` ends in exactly one ``CommandCompleted`` or in
``SessionEnded.unanswered``, whatever ends the session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sessionkit import wire_msg

from dmproto.codec.model import Get, Item, Location
from dmproto.errors import RemoteProtocolError
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme
from dmproto.session import ClientSession, ServerSession, SessionState
from dmproto.session import events as ev
from dmproto.session.alerts import generic_alert
from dmproto.testing import Pair, account

XML = "application/vnd.syncml.dm+xml"


def get(uri: str = "./a") -> Get:
    return Get(cmd_id=None, items=(Item(target=Location(loc_uri=uri)),))


def drain(session: ClientSession | ServerSession) -> list[ev.Event]:
    out = []
    while (event := session.next_event()) is not None:
        out.append(event)
    return out


def accounted(events: list[ev.Event], handles: list[int]) -> ev.SessionEnded:
    """Each handle exactly once: completed, or unanswered at the end."""
    (ended,) = [e for e in events if isinstance(e, ev.SessionEnded)]
    completed = [e.handle for e in events if isinstance(e, ev.CommandCompleted)]
    assert sorted([*completed, *ended.unanswered]) == sorted(handles)
    return ended


def server_sent_get() -> tuple[Pair, int]:
    """A pair whose server has just sent Package 2 (one Get), not yet delivered."""
    pair = Pair.make(
        client={"server_credentials": None},
        account=account(server_credentials=None),
        packages=[[get()]],
    )
    (pkg1,) = pair.client.messages_to_send(1.0)
    pair.server.receive_message(pkg1.body, media_type=pkg1.media_type, now=1.0)
    pair.drain_server()  # supply_account, then queue + close_package
    (handle,) = pair.handles
    (pkg2,) = pair.server.messages_to_send(1.0)
    pair.transcript.append(("s2c", pkg2.body))
    return pair, handle


def hostile_reply(pair: Pair) -> None:
    with pytest.raises(RemoteProtocolError):
        pair.server.receive_message(b"<SyncML", media_type=XML, now=2.0)


def abort_by_device(pair: Pair) -> None:
    body = pair.transcript[-1][1]
    pair.client.receive_message(body, media_type=XML, now=2.0)
    drain(pair.client)  # the Get is handed out but never answered
    pair.client.abort()
    (abort,) = pair.client.messages_to_send(2.0)
    pair.server.receive_message(abort.body, media_type=XML, now=2.0)
    assert pair.server.messages_to_send(2.0)  # the server still answers the abort


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        (lambda p: p.server.handle_timer(1e9), ev.EndReason.TIMED_OUT),
        (lambda p: p.server.abort(), ev.EndReason.ABORTED),
        (hostile_reply, ev.EndReason.PROTOCOL_ERROR),
        (abort_by_device, ev.EndReason.ABORTED_BY_PEER),
    ],
)
def test_server_command_sent_but_unanswered(
    end: Callable[[Pair], None], reason: ev.EndReason
) -> None:
    pair, handle = server_sent_get()
    assert pair.server.pending_commands == 1
    end(pair)
    ended = accounted(pair.server_events + drain(pair.server), [handle])
    assert ended.reason is reason and ended.unanswered == (handle,)
    assert pair.server.pending_commands == 0


def test_server_command_unanswered_when_hmac_fails_mid_session() -> None:
    pair = Pair.make(
        client={"auth_scheme": AuthScheme.HMAC, "server_credentials": None},
        account=account(auth_scheme=AuthScheme.HMAC, server_credentials=None),
        packages=[[get()]],
    )

    pair.rewrite("c2s", b">v<", b">w<", index=3).run()  # Package 3 tampered
    ended = accounted(pair.server_events, list(pair.handles))
    assert ended.reason is ev.EndReason.AUTHENTICATION_FAILED and ended.unanswered == (1,)


def test_server_commands_queued_before_reject_complete_215() -> None:
    pair = Pair.make(account=None)
    (pkg1,) = pair.client.messages_to_send(1.0)
    pair.server.receive_message(pkg1.body, media_type=pkg1.media_type, now=1.0)
    assert isinstance(pair.server.next_event(), ev.AccountRequested)
    handle = pair.server.queue(get())
    pair.server.reject_device()
    assert pair.server.messages_to_send(1.0)
    events = drain(pair.server)
    ended = accounted(events, [handle])
    assert ended.reason is ev.EndReason.REJECTED and ended.unanswered == ()
    (done,) = [e for e in events if isinstance(e, ev.CommandCompleted)]
    assert done.outcome.code == 215


def client_sent_alert() -> tuple[ClientSession, int]:
    """A client whose Package 1 (with one queued Generic Alert) has gone out."""
    pair = Pair.make(client={"server_credentials": None})
    handle = pair.client.queue(generic_alert("Content-Type: text/plain", "chr", "x"))
    assert pair.client.messages_to_send(1.0)
    return pair.client, handle


def client_hostile_reply(client: ClientSession) -> None:
    with pytest.raises(RemoteProtocolError):
        client.receive_message(b"\x03\x01", media_type=XML, now=2.0)


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        (lambda c: c.handle_timer(1e9), ev.EndReason.TIMED_OUT),
        (lambda c: c.abort(), ev.EndReason.ABORTED),
        (client_hostile_reply, ev.EndReason.PROTOCOL_ERROR),
        (
            lambda c: c.receive_message(
                wire_msg("<Alert><CmdID>2</CmdID><Data>1223</Data></Alert>"),
                media_type=XML,
                now=2.0,
            ),
            ev.EndReason.ABORTED_BY_PEER,
        ),
        # The server's Status-only package lacks the alert's Status.
        (
            lambda c: c.receive_message(wire_msg(""), media_type=XML, now=2.0),
            ev.EndReason.COMPLETED,
        ),
        # The server refuses our credentials for good (401 without a Chal).
        (
            lambda c: c.receive_message(
                wire_msg("").replace(b"<Data>212</Data>", b"<Data>401</Data>"),
                media_type=XML,
                now=2.0,
            ),
            ev.EndReason.AUTHENTICATION_FAILED,
        ),
    ],
)
def test_client_alert_sent_but_unanswered(
    end: Callable[[ClientSession], None], reason: ev.EndReason
) -> None:
    client, handle = client_sent_alert()
    end(client)
    ended = accounted(drain(client), [handle])
    assert ended.reason is reason and ended.unanswered == (handle,)
    assert client.state is SessionState.FINISHED


def test_client_alert_answered_inside_the_server_abort() -> None:
    client, handle = client_sent_alert()
    status = (
        "<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>3</CmdRef><Cmd>Alert</Cmd>"
        "<Data>200</Data></Status><Alert><CmdID>3</CmdID><Data>1223</Data></Alert>"
    )
    client.receive_message(wire_msg(status), media_type=XML, now=2.0)
    events = drain(client)
    ended = accounted(events, [handle])
    assert ended.reason is ev.EndReason.ABORTED_BY_PEER and ended.unanswered == ()
    (done,) = [e for e in events if isinstance(e, ev.CommandCompleted)]
    assert done.handle == handle and done.outcome == CommandOutcome(code=200)
