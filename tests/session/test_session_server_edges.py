"""Server session edge cases through the public API, with hand-written device
messages: odd device commands, Results for unknown commands, a package closed
without a Status, calls after the end, authentication oddities, snapshots."""

from __future__ import annotations

import pytest
from sessionkit import wire_msg

from dmproto.codec import Encoding, decode_message
from dmproto.codec.model import Get, Item, Location, Replace, Status
from dmproto.errors import InvalidValueError, RemoteProtocolError
from dmproto.security import AuthScheme
from dmproto.session import Account, ServerSession, SessionState
from dmproto.session import events as ev
from dmproto.testing import DEVICE_ID, Pair, account, server_config, status_codes

XML = "application/vnd.syncml.dm+xml"
PKG1 = (
    "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>"
    "<Replace><CmdID>2</CmdID><Item><Source><LocURI>./DevInfo/DevId</LocURI></Source>"
    f"<Data>{DEVICE_ID}</Data></Item></Replace>"
)


def device(body: str, msg_id: int = 1, **kwargs: object) -> bytes:
    return wire_msg(body, msg_id, to_server=True, hdr_code=None if msg_id == 1 else 200, **kwargs)  # type: ignore[arg-type]


def drain(server: ServerSession) -> list[ev.Event]:
    out = []
    while (event := server.next_event()) is not None:
        out.append(event)
    return out


def connected(config: dict[str, object] | None = None, extra: str = "") -> ServerSession:
    """A server that accepted an unauthenticated device's Package 1 (+ *extra*)."""
    server = ServerSession(server_config(**(config or {})))
    server.receive_message(device(PKG1 + extra), media_type=XML, now=0.0)
    assert isinstance(server.next_event(), ev.AccountRequested)
    server.supply_account(Account())
    return server


def statuses(server: ServerSession) -> dict[str, int]:
    (out,) = server.messages_to_send(1.0)
    return {s.cmd_ref: s.code for s in decode_message(out.body).commands if isinstance(s, Status)}


def test_device_commands_the_server_does_not_take() -> None:
    extra = (
        "<Get><CmdID>3</CmdID><Item><Target><LocURI>./x</LocURI></Target></Item></Get>"
        "<Alert><Data>1224</Data></Alert>"  # no CmdID: 400
        "<Alert><CmdID>5</CmdID><Data>1299</Data></Alert>"
        "<Alert><CmdID>6</CmdID><Data>1222</Data></Alert>"
    )
    server = connected(extra=extra)
    assert server.device_id == DEVICE_ID
    assert [type(e) for e in drain(server)][-1] is ev.PackageCompleted
    server.end_session()
    assert statuses(server) == {"0": 200, "1": 200, "2": 200, "3": 406, "": 400, "5": 406, "6": 200}


def test_generic_alert_with_several_accepted_items() -> None:
    meta = '<Meta><Type xmlns="syncml:metinf">{}</Type></Meta>'
    alert = (
        "<Alert><CmdID>3</CmdID><Data>1226</Data>"
        f"<Item>{meta.format('a/b')}<Data>1</Data></Item>"
        f"<Item>{meta.format(' c/d ')}<Data>2</Data></Item></Alert>"
    )
    server = connected({"generic_alert_types": frozenset({"a/b", "c/d"})}, extra=alert)
    got = [e for e in drain(server) if isinstance(e, ev.GenericAlertReceived)]
    assert len(got) == 1 and len(got[0].items) == 2
    server.end_session()
    assert statuses(server)["3"] == 200


def sent_get(server: ServerSession) -> tuple[int, str]:
    """Queue one Get and send it; (handle, its wire CmdID)."""
    drain(server)
    handle = server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),)))
    server.close_package()
    (out,) = server.messages_to_send(1.0)
    (get,) = [c for c in decode_message(out.body).commands if isinstance(c, Get)]
    assert get.cmd_id is not None
    return handle, get.cmd_id


def get_status(cmd_id: str) -> str:
    return (
        f"<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>{cmd_id}</CmdRef><Cmd>Get</Cmd>"
        "<Data>200</Data></Status>"
    )


def stray_results(cmd_ref: str, data: str, meta: str = "", more: bool = False) -> str:
    return (
        f"<Results><CmdID>3</CmdID><MsgRef>1</MsgRef><CmdRef>{cmd_ref}</CmdRef>{meta}<Item>"
        f"<Source><LocURI>./a</LocURI></Source><Data>{data}</Data>"
        f"{'<MoreData/>' if more else ''}</Item></Results>"
    )


def test_results_for_an_unknown_command_are_ignored() -> None:
    server = connected()
    handle, cmd_id = sent_get(server)
    body = get_status(cmd_id) + stray_results("99", "v")
    server.receive_message(device(body, 2), media_type=XML, now=2.0)
    (done,) = [e for e in drain(server) if isinstance(e, ev.CommandCompleted)]
    assert done.handle == handle and done.outcome.code == 200 and done.outcome.results == ()


def test_chunked_results_for_an_unknown_command_failing_reassembly() -> None:
    server = connected()
    handle, cmd_id = sent_get(server)
    size = '<Meta><Size xmlns="syncml:metinf">10</Size></Meta>'
    first = get_status(cmd_id) + stray_results("99", "abc", size, more=True)
    server.receive_message(device(first, 2, final=False), media_type=XML, now=2.0)
    assert statuses(server)["3"] == 213
    server.receive_message(device(stray_results("99", "de"), 3), media_type=XML, now=3.0)
    (done,) = [e for e in drain(server) if isinstance(e, ev.CommandCompleted)]
    assert done.handle == handle and done.outcome.code == 200  # the 424 is not the Get's
    server.end_session()
    assert statuses(server)["3"] == 424


def test_device_closing_its_package_without_a_status_is_a_protocol_error() -> None:
    server = connected()
    handle, _ = sent_get(server)
    with pytest.raises(RemoteProtocolError) as info:
        server.receive_message(device("", 2), media_type=XML, now=2.0)
    assert info.value.reason == "session.missing-status"
    (ended,) = [e for e in drain(server) if isinstance(e, ev.SessionEnded)]
    assert ended.reason is ev.EndReason.PROTOCOL_ERROR and ended.unanswered == (handle,)


def test_configured_encoding_overrides_the_device() -> None:
    server = connected({"encoding": Encoding.WBXML})
    drain(server)
    server.end_session()
    (out,) = server.messages_to_send(1.0)
    assert out.media_type == Encoding.WBXML.media_type and out.body[:1] == b"\x02"


def test_application_calls_after_the_end_are_no_ops() -> None:
    server = ServerSession(server_config())
    server.receive_message(device(PKG1), media_type=XML, now=0.0)
    server.handle_timer(1e9)
    server.supply_account(Account())
    server.reject_device()
    server.close_package()
    server.end_session()
    assert [type(e) for e in drain(server)] == [ev.AccountRequested, ev.SessionEnded]
    assert server.messages_to_send(1e9) == []


def test_timeout_before_the_rejection_is_sent() -> None:
    server = ServerSession(server_config())
    server.receive_message(device(PKG1), media_type=XML, now=0.0)
    drain(server)
    server.reject_device()
    server.handle_timer(1e9)
    (out,) = server.messages_to_send(1e9)  # the refusal still answers the device
    assert statuses_of(out.body)["0"] == 401
    ended = [e for e in drain(server) if isinstance(e, ev.SessionEnded)]
    assert [e.reason for e in ended] == [ev.EndReason.TIMED_OUT]


def statuses_of(body: bytes) -> dict[str, int]:
    return {s.cmd_ref: s.code for s in decode_message(body).commands if isinstance(s, Status)}


@pytest.mark.parametrize("hostile", [False, True])
def test_server_abort_while_waiting_for_the_device(hostile: bool) -> None:
    server = connected()
    sent_get(server)
    server.abort()
    assert server.messages_to_send(2.0) == []  # not our turn: wait for the device
    if hostile:  # even a message breaking the rules gets the abort as its answer
        with pytest.raises(RemoteProtocolError):
            server.receive_message(device("", 2, session_id="9"), media_type=XML, now=2.0)
    else:
        server.receive_message(device("", 2), media_type=XML, now=2.0)
    (out,) = server.messages_to_send(2.0)
    msg = decode_message(out.body)
    assert msg.final and any(getattr(c, "code", None) == 1223 for c in msg.commands)
    assert [e.reason for e in drain(server) if isinstance(e, ev.SessionEnded)] == [
        ev.EndReason.ABORTED
    ]
    assert server.messages_to_send(3.0) == []


@pytest.mark.parametrize(
    ("headers", "cred", "username", "scheme", "code"),
    [
        # Other headers first; a malformed HMAC header: no username (the device id
        # is the only name left), challenged.
        ([("x-other", "1"), ("x-syncml-hmac", "garbage")], "", DEVICE_ID, None, 401),
        # A Cred of an unknown type: refused and challenged.
        (
            [],
            '<Cred><Meta><Type xmlns="syncml:metinf">x-unknown</Type></Meta><Data>x</Data></Cred>',
            DEVICE_ID,
            None,
            401,
        ),
    ],
)
def test_unusable_credentials_are_challenged(
    headers: list[tuple[str, str]], cred: str, username: str, scheme: str | None, code: int
) -> None:
    server = ServerSession(server_config())
    server.receive_message(device(PKG1, extra=cred), media_type=XML, headers=headers, now=0.0)
    (asked,) = drain(server)
    assert isinstance(asked, ev.AccountRequested)
    assert (asked.username, asked.scheme) == (username, scheme)
    assert asked.username_source is ev.UsernameSource.DEVICE_ID
    required = AuthScheme.HMAC if headers else AuthScheme.MD5
    server.supply_account(account(auth_scheme=required, server_credentials=None))
    assert statuses(server)["0"] == code


def test_refused_commands_resent_while_the_rest_of_the_package_waits() -> None:
    # The device challenges the server (stale nonce) on the first message of a
    # package split over several messages: the refused Get goes out again, the
    # ones not yet sent keep their place; every Get completes once. (At this size
    # the last message only just fits without Final: it must still close the
    # package.)
    gets = [Get(cmd_id=None, items=(Item(target=Location(loc_uri=f"./n/{i}")),)) for i in range(12)]
    pair = Pair.make(
        client={"max_msg_size": 1300},
        account=account(server_nonce=b"stale"),
        packages=[gets],
    ).run()
    assert 401 in status_codes(pair, "c2s", cmd_ref="0")
    assert sorted(pair.completed()) == list(range(1, 13))
    assert all(o.code == 200 for o in pair.completed().values())
    assert pair.server.state is SessionState.FINISHED


def test_snapshot_rejects_what_it_cannot_hold() -> None:
    server = connected()
    drain(server)
    server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri=object())),)))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        server.snapshot()
    good = ServerSession(server_config()).snapshot()
    deep: object = 1
    for _ in range(205):
        deep = [deep]
    for state in (deep, b"raw", {"$x": 1}):
        with pytest.raises(InvalidValueError):
            ServerSession.restore({**good, "state": state}, config=server_config())


def test_tracked_multi_item_command_too_large_completes_413() -> None:
    items = tuple(Item(target=Location(loc_uri=f"./n/{i}"), data="v" * 80) for i in range(30))
    pair = Pair.make(
        client={"max_msg_size": 1024}, packages=[[Replace(cmd_id=None, items=items)]]
    ).run()
    assert pair.completed()[1].code == 413
    assert not pair.received()
