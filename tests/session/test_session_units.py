"""Focused session behaviours: UI option parsing, automatic answers, misuse errors,
snapshots, scheme termination, RespURI, client Results large-object mismatch."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sessionkit import wire_msg

from dmproto.codec import decode_message
from dmproto.codec.model import Alert, Get, Item, Location, Status
from dmproto.codes import AlertCode
from dmproto.errors import InvalidValueError, LocalProtocolError, RemoteProtocolError
from dmproto.outcome import CommandOutcome
from dmproto.session import ClientSession, ServerSession, SessionState
from dmproto.session import events as ev
from dmproto.session.ui import (
    EchoType,
    InputType,
    UiOptions,
    format_ui_options,
    parse_ui_alert,
    parse_ui_options,
    ui_alert,
)
from dmproto.testing import SERVER_URI, Pair, account, client_config, server_config

XML = "application/vnd.syncml.dm+xml"


def test_ui_options_parsed_and_unknown_skipped() -> None:
    opts = parse_ui_options("MINDT=5&MAXDT=30&DR=John+Doe&MAXLEN=12&IT=N&ET=P&FOO=bar&MAXDT2")
    assert opts == UiOptions(
        min_display_time=5,
        max_display_time=30,
        default_response="John Doe",
        max_length=12,
        input_type=InputType.NUMERIC,
        echo_type=EchoType.PASSWORD,
    )
    assert parse_ui_options("MINDT=-1&MAXDT=x&IT=Q") == UiOptions()
    assert parse_ui_options("DR=2-3").default_response == "2-3"


@given(
    st.builds(
        UiOptions,
        min_display_time=st.none() | st.integers(1, 10**6),
        max_display_time=st.none() | st.integers(1, 10**6),
        default_response=st.none() | st.text(max_size=20),
        max_length=st.none() | st.integers(1, 10**6),
        input_type=st.none() | st.sampled_from(InputType),
        echo_type=st.none() | st.sampled_from(EchoType),
    )
)
def test_ui_options_round_trip(options: UiOptions) -> None:
    assert parse_ui_options(format_ui_options(options)) == options


def test_ui_alert_with_one_item_is_not_a_request() -> None:
    assert parse_ui_alert(Alert(cmd_id="1", code=1100, items=(Item(data="x"),))) is None
    request = parse_ui_alert(ui_alert(AlertCode.SINGLE_CHOICE, "T", choices=("a", "b")))
    assert request is not None and request.choices == ("a", "b")


def started_client(**changes: object) -> ClientSession:
    client = ClientSession(client_config(server_credentials=None, **changes))
    client.messages_to_send(0.0)
    return client


def test_client_answers_protocol_fixed_statuses_itself() -> None:
    client = started_client()
    body = (
        "<Alert><CmdID>2</CmdID><Data>1299</Data></Alert>"  # unknown alert: 406
        "<Alert><CmdID>3</CmdID><Data>1101</Data><Item><Data>x</Data></Item></Alert>"  # 412
        "<Get><Item><Target><LocURI>./a</LocURI></Target></Item></Get>"  # no CmdID: 400
        "<Put><CmdID>5</CmdID><Item><Data>x</Data></Item></Put>"  # not DM: 406
        "<Get><CmdID>6</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Get>"
    )
    client.receive_message(wire_msg(body), media_type=XML, now=1.0)
    events = []
    while (e := client.next_event()) is not None:
        events.append(e)
    (received,) = [e for e in events if isinstance(e, ev.CommandReceived)]
    client.respond(received.handle, CommandOutcome(code=404))
    (out,) = client.messages_to_send(2.0)
    codes = {
        (s.cmd_ref, s.cmd): s.code
        for s in decode_message(out.body).commands
        if isinstance(s, Status)
    }
    assert codes == {
        ("0", "SyncHdr"): 200,
        ("2", "Alert"): 406,
        ("3", "Alert"): 412,
        ("", "Get"): 400,
        ("5", "Put"): 406,
        ("6", "Get"): 404,
    }


def test_respond_misuse_raises_local_errors() -> None:
    client = started_client()
    client.receive_message(
        wire_msg("<Get><CmdID>2</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Get>"),
        media_type=XML,
        now=1.0,
    )
    while client.next_event() is not None:
        pass
    with pytest.raises(LocalProtocolError):
        client.respond(99, CommandOutcome(code=200))
    assert client.pending_commands == 1 and client.messages_to_send(1.0) == []
    client.respond(1, CommandOutcome(code=200))
    assert client.pending_commands == 0
    with pytest.raises(LocalProtocolError):
        client.respond(1, CommandOutcome(code=200))
    with pytest.raises(LocalProtocolError):
        client.queue(Alert(cmd_id=None, code=1100))


def test_server_misuse_raises_local_errors() -> None:
    server = ServerSession(server_config())
    with pytest.raises(LocalProtocolError):
        server.close_package()
    with pytest.raises(LocalProtocolError):
        server.supply_account(account())
    with pytest.raises(LocalProtocolError):
        server.queue(Alert(cmd_id=None, code=AlertCode.SERVER_INITIATED_MGMT))
    with pytest.raises(LocalProtocolError):
        server.queue(Status(cmd_id=None, msg_ref="1", cmd_ref="1", cmd="Get", code=200))


def test_out_of_turn_and_repeated_message_are_remote_errors() -> None:
    client = started_client()
    msg = wire_msg("<Get><CmdID>2</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Get>")
    client.receive_message(msg, media_type=XML, now=1.0)
    with pytest.raises(RemoteProtocolError) as info:
        client.receive_message(msg, media_type=XML, now=1.0)
    assert info.value.reason == "session.out-of-turn"
    assert client.state is SessionState.FINISHED
    client.abort()  # still allowed after a peer protocol error: one abort message
    (abort,) = client.messages_to_send(2.0)
    assert any(isinstance(c, Alert) and c.code == 1223 for c in decode_message(abort.body).commands)
    with pytest.raises(LocalProtocolError):
        client.abort()


@pytest.mark.parametrize("body", [b"", b"\x03\x01", b"<SyncML", b"<SyncML xmlns='x'/>"])
def test_malformed_messages_raise_remote_errors(body: bytes) -> None:
    server = ServerSession(server_config())
    with pytest.raises(RemoteProtocolError):
        server.receive_message(body, media_type=XML, now=0.0)


def test_wrong_scheme_after_challenge_terminates() -> None:
    # OMA-TS-DM_Security-V1_2_1 §5.1: the client challenges the server (md5); the server answers
    # basic.
    client = ClientSession(client_config())
    client.messages_to_send(0.0)
    get = "<Get><CmdID>2</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Get>"
    client.receive_message(wire_msg(get), media_type=XML, now=1.0)
    (out,) = client.messages_to_send(1.0)
    hdr = decode_message(out.body).commands[0]
    assert isinstance(hdr, Status) and hdr.code == 407 and hdr.chal is not None
    basic = (
        '<Cred><Meta><Type xmlns="syncml:metinf">syncml:auth-basic</Type></Meta>'
        "<Data>bWdtdC1zZXJ2ZXI6c2VydmVyLXNlY3JldA==</Data></Cred>"
    )
    client.receive_message(wire_msg(get, msg_id=2, extra=basic), media_type=XML, now=2.0)
    events = []
    while (e := client.next_event()) is not None:
        events.append(e)
    assert isinstance(events[-1], ev.SessionEnded)
    assert events[-1].reason is ev.EndReason.AUTHENTICATION_FAILED
    assert client.messages_to_send(3.0) == []


def test_client_follows_resp_uri() -> None:
    pair = Pair.make(
        server={"resp_uri": "http://dm.example/s?id=42"},
        packages=[[Get(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),))]],
    )
    urls: list[str | None] = []

    def spy(direction: str, msg):  # type: ignore[no-untyped-def]
        if direction == "c2s":
            urls.append(msg.url)
        return msg

    pair.tamper = spy
    pair.run()
    assert urls[0] == SERVER_URI and set(urls[1:]) == {"http://dm.example/s?id=42"}


def test_client_results_size_mismatch_reported_to_server() -> None:
    value = "k" * 3000

    pair = (
        Pair.make(
            client={"server_credentials": None},
            server={"max_msg_size": 1500},
            account=account(server_credentials=None),
            packages=[[Get(cmd_id=None, items=(Item(target=Location(loc_uri="./big")),))]],
            answer=lambda e: CommandOutcome(
                code=200, results=(Item(source=Location(loc_uri="./big"), data=value),)
            ),
        )
        .rewrite("c2s", b'metinf">3000</Size>', b'metinf">2999</Size>')
        .run()
    )
    outcome = pair.completed()[1]
    assert outcome.code == 424 and outcome.results == ()
    statuses = [
        c
        for d, b in pair.transcript
        if d == "s2c"
        for c in decode_message(b).commands
        if isinstance(c, Status) and c.cmd == "Results"
    ]
    assert [s.code for s in statuses][-1] == 424


def test_commands_queued_after_the_end_complete_as_not_executed() -> None:
    pair = Pair.make()
    pair.run()
    handle = pair.client.queue(Alert(cmd_id=None, code=1226))
    done = pair.client.next_event()
    assert isinstance(done, ev.CommandCompleted) and done.handle == handle
    assert done.outcome.code == 215
    handle = pair.server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),)))
    done = pair.server.next_event()
    assert isinstance(done, ev.CommandCompleted) and done.handle == handle
    assert done.outcome.code == 215


def test_snapshot_is_json_and_rejects_garbage() -> None:
    server = ServerSession(server_config())
    snap = json.loads(json.dumps(server.snapshot()))
    assert snap["version"] == 2 and snap["role"] == "server"
    assert isinstance(ServerSession.restore(snap, config=server_config()), ServerSession)
    for bad in (
        {},
        {**snap, "version": 99},
        {**snap, "role": "client"},
        {**snap, "state": {"$c": "os.system"}},
        {**snap, "state": {"$b": "!!"}},
        {**snap, "state": [1, 2]},
    ):
        with pytest.raises(InvalidValueError):
            ServerSession.restore(bad, config=server_config())
    with pytest.raises(InvalidValueError):
        ClientSession.restore(snap, config=client_config())


def test_snapshot_hides_nothing_but_repr_hides_secrets() -> None:
    event = ev.NonceChanged(role=ev.NonceRole.CLIENT, nonce=b"secret-nonce")
    assert "secret-nonce" not in repr(event)
    assert "OhBehave" not in repr(client_config())


def test_abort_from_server_in_the_same_message_as_commands() -> None:
    client = started_client()
    body = (
        "<Get><CmdID>2</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Get>"
        "<Alert><CmdID>3</CmdID><Data>1223</Data></Alert>"
    )
    client.receive_message(wire_msg(body), media_type=XML, now=1.0)
    events = []
    while (e := client.next_event()) is not None:
        events.append(e)
    assert isinstance(events[-1], ev.SessionEnded)
    assert events[-1].reason is ev.EndReason.ABORTED_BY_PEER
    (received,) = [e for e in events if isinstance(e, ev.CommandReceived)]
    client.respond(received.handle, CommandOutcome(code=200))  # no-op after the end
    assert client.messages_to_send(2.0) == []


@pytest.mark.parametrize(
    "changes", [{"max_msg_size": 100}, {"inactivity_timeout": 0}, {"max_auth_attempts": 0}]
)
def test_invalid_config_values(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidValueError):
        client_config(**changes)


def test_ui_alert_texts_from_markup_and_binary_items() -> None:
    from dmproto.codec.model import XmlData

    alert = Alert(
        cmd_id="1",
        code=AlertCode.CONFIRM_OR_REJECT,
        items=(Item(data=XmlData("MAXDT=9")), Item(data=b"Proceed?")),
    )
    request = parse_ui_alert(alert)
    assert request is not None and request.text == "Proceed?"
    assert request.options.max_display_time == 9
