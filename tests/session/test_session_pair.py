"""Client/server pair tests: both session roles talking through real encode/decode."""

from __future__ import annotations

import pytest
from sessionkit import assert_alerts_answered_next, assert_statuses_first, results_with_their_status

from dmproto.codec import Encoding, decode_message
from dmproto.codec.model import (
    Add,
    Alert,
    Atomic,
    Command,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    Location,
    Meta,
    Replace,
    Results,
    Sequence,
    Status,
)
from dmproto.codes import AlertCode
from dmproto.outcome import CommandOutcome
from dmproto.security import RESET_NONCE, AuthScheme, NonceUsed, md5_credential
from dmproto.session import ClientSession, SessionState
from dmproto.session import events as ev
from dmproto.session.alerts import client_event, generic_alert
from dmproto.session.ui import (
    UiOptions,
    choice_outcome,
    confirm_outcome,
    text_input_outcome,
    ui_alert,
)
from dmproto.testing import (
    Pair,
    account,
    client_config,
    echo_results,
    status_codes,
    transcript_messages,
    with_body,
)


def target(uri: str) -> tuple[Item, ...]:
    return (Item(target=Location(loc_uri=uri)),)


def hdr_statuses(body: bytes) -> list[Status]:
    msg = decode_message(body)
    return [c for c in msg.commands if isinstance(c, Status) and c.cmd_ref == "0"]


def nonces(events: list[ev.Event], role: ev.NonceRole) -> list[bytes]:
    return [e.nonce for e in events if isinstance(e, ev.NonceChanged) and e.role is role]


def assert_nonces_agree(pair: Pair) -> None:
    """Each side persisted last the nonce the other side issued last."""
    for role in ev.NonceRole:
        assert nonces(pair.server_events, role)[-1] == nonces(pair.client_events, role)[-1]


def test_md5_with_one_challenge() -> None:
    # The device's stored nonce is stale: one 401 + Chal, Package 1 again, then 212.
    pair = Pair.make(
        client={"client_nonce": b"stale"},
        packages=[[Get(cmd_id=None, items=target("./DevInfo/Mod"))]],
    ).run()
    first, second = pair.transcript[1][1], pair.transcript[3][1]
    assert [s.code for s in hdr_statuses(first)] == [401]
    assert hdr_statuses(first)[0].chal is not None
    assert [s.code for s in hdr_statuses(second)] == [212]
    # Package 1 was resent with the next MsgID.
    assert decode_message(pair.transcript[2][1]).header.msg_id == "2"
    assert pair.completed()[1].code == 200
    assert pair.completed()[1].results[0].data == "v"
    assert pair.ended("client").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]
    # The nonce the server issued to the client is the one the client persisted last.
    assert_nonces_agree(pair)


def test_basic_auth_accepted_for_the_session() -> None:
    pair = Pair.make(
        client={"auth_scheme": AuthScheme.BASIC, "server_credentials": None},
        account=account(auth_scheme=AuthScheme.BASIC, server_credentials=None),
        packages=[[Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./a"), data="1"),))]],
    ).run()
    first = decode_message(pair.transcript[0][1])
    assert first.header.cred is not None and first.header.cred.data == "QnJ1Y2UyOk9oQmVoYXZl"
    assert [s.code for s in hdr_statuses(pair.transcript[1][1])] == [212]
    # After 212 no more credentials are sent.
    assert decode_message(pair.transcript[2][1]).header.cred is None
    assert pair.completed()[1].code == 200


def test_hmac_on_every_message() -> None:
    pair = Pair.make(
        client={"auth_scheme": AuthScheme.HMAC, "server_auth_scheme": AuthScheme.HMAC},
        account=account(auth_scheme=AuthScheme.HMAC, server_auth_scheme=AuthScheme.HMAC),
        packages=[[Get(cmd_id=None, items=target("./a"))], [Get(cmd_id=None, items=target("./b"))]],
    )
    seen: list[tuple[str, tuple[tuple[str, str], ...]]] = []

    def spy(direction: str, msg):  # type: ignore[no-untyped-def]
        seen.append((direction, msg.headers))
        return msg

    pair.tamper = spy
    pair.run()
    assert len(seen) == 6
    assert all(any(k == "x-syncml-hmac" for k, _ in headers) for _, headers in seen)
    for _direction, body in pair.transcript:
        msg = decode_message(body)
        assert msg.header.cred is None
        for status in hdr_statuses(body):
            assert status.code == 200
            assert status.chal is not None and status.chal.meta.next_nonce
    # A new nonce per message: all issued nonces distinct.
    issued = nonces(pair.server_events, ev.NonceRole.CLIENT)
    assert len(issued) == 3 and len(set(issued)) == 3
    assert len(pair.completed()) == 2


def test_hmac_tampered_body_is_challenged() -> None:
    pair = Pair.make(
        client={"auth_scheme": AuthScheme.HMAC, "server_credentials": None},
        account=account(auth_scheme=AuthScheme.HMAC, server_credentials=None),
    )

    pair.rewrite("c2s", b"Smart", b"Dumb!", index=1).run()
    assert [s.code for s in hdr_statuses(pair.transcript[1][1])] == [401]
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_server_auth_failure_ends_the_session() -> None:
    # The server authenticates with a wrong password: the device challenges it
    # until the attempts run out.
    pair = Pair.make(
        account=account(server_credentials=account().credentials),
        packages=[[Get(cmd_id=None, items=target("./a"))]] * 5,
    ).run()
    codes = [s.code for d, b in pair.transcript if d == "c2s" for s in hdr_statuses(b)]
    assert codes and set(codes) <= {401}
    assert pair.ended("client").reason is ev.EndReason.AUTHENTICATION_FAILED  # type: ignore[union-attr]
    assert not pair.received()  # nothing executed for an unauthenticated server


def test_server_missing_credentials_challenged_then_terminated_on_scheme_change() -> None:
    pair = Pair.make(
        account=account(server_credentials=None),
        packages=[[Get(cmd_id=None, items=target("./a"))]],
    ).run()
    first_reply = pair.transcript[2][1]
    assert [s.code for s in hdr_statuses(first_reply)] == [407]
    assert hdr_statuses(first_reply)[0].chal is not None
    assert not pair.received()


def test_every_command_type() -> None:
    commands = [
        Add(cmd_id=None, meta=Meta(format="node"), items=target("./n")),
        Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./n/v"), data="x"),)),
        Delete(cmd_id=None, items=target("./n/old")),
        Copy(
            cmd_id=None,
            items=(Item(target=Location(loc_uri="./b"), source=Location(loc_uri="./a")),),
        ),
        Get(cmd_id=None, items=target("./n?list=Struct")),
        Exec(cmd_id=None, correlator="corr-1", items=target("./fw/Update")),
    ]
    pair = Pair.make(packages=[commands]).run()
    kinds = [type(e.command).__name__ for e in pair.received()]
    assert kinds == ["Add", "Replace", "Delete", "Copy", "Get", "Exec"]
    exec_cmd = pair.received()[-1].command
    assert isinstance(exec_cmd, Exec) and exec_cmd.correlator == "corr-1"
    outcomes = pair.completed()
    assert sorted(outcomes) == list(range(1, 7)) and all(o.code == 200 for o in outcomes.values())
    # Exactly one Status per command, Results right after the Get's Status.
    pkg3 = decode_message(pair.transcript[2][1])
    statuses = [c for c in pkg3.commands if isinstance(c, Status) and c.cmd_ref != "0"]
    assert [s.cmd for s in statuses] == ["Add", "Replace", "Delete", "Copy", "Get", "Exec"]
    names = [c.name for c in pkg3.commands]
    assert names[names.index("Results") - 1] == "Status"


def test_atomic_and_sequence_nested() -> None:
    atomic = Atomic(
        cmd_id=None,
        commands=(
            Add(cmd_id=None, items=target("./x")),
            Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./y"), data="1"),)),
        ),
    )
    seq = Sequence(
        cmd_id=None,
        commands=(
            ui_alert(AlertCode.CONFIRM_OR_REJECT, "Proceed?"),
            atomic,
            Get(cmd_id=None, items=target("./z")),
        ),
    )

    def answer(event: ev.CommandReceived) -> CommandOutcome:
        assert isinstance(event.command, Sequence)
        return CommandOutcome(
            code=200,
            children=(
                CommandOutcome(code=304),
                CommandOutcome(
                    code=215, children=(CommandOutcome(code=215), CommandOutcome(code=215))
                ),
                CommandOutcome(code=215),
            ),
        )

    pair = Pair.make(packages=[[seq]], answer=answer).run()
    outcome = pair.completed()[1]
    assert outcome.code == 200
    assert [c.code for c in outcome.children] == [304, 215, 215]
    assert [c.code for c in outcome.children[1].children] == [215, 215]
    # CmdIDs unique within the message, nested ones included.
    pkg2 = decode_message(pair.transcript[1][1])
    ids = [c.cmd_id for c in pkg2.commands]
    seq_wire = next(c for c in pkg2.commands if isinstance(c, Sequence))
    ids += [c.cmd_id for c in seq_wire.commands] + [c.cmd_id for c in seq_wire.commands[1].commands]  # type: ignore[union-attr]
    assert len(ids) == len(set(ids)) and "0" not in ids


def test_wrong_children_count_is_local_error() -> None:
    from dmproto.errors import LocalProtocolError

    seq = Sequence(cmd_id=None, commands=(Get(cmd_id=None, items=target("./z")),))
    pair = Pair.make(packages=[[seq]], answer=lambda e: CommandOutcome(code=200))
    with pytest.raises(LocalProtocolError):
        pair.run()


@pytest.mark.parametrize(
    ("kind", "answer", "expected_items"),
    [
        (AlertCode.DISPLAY, CommandOutcome(code=200), ()),
        (AlertCode.CONFIRM_OR_REJECT, confirm_outcome(False), ()),
        (AlertCode.TEXT_INPUT, text_input_outcome("John Doe"), ("John Doe",)),
        (AlertCode.SINGLE_CHOICE, choice_outcome((2,)), ("2",)),
        (AlertCode.MULTIPLE_CHOICE, choice_outcome((1, 3)), ("1", "3")),
    ],
)
def test_each_ui_alert(
    kind: AlertCode, answer: CommandOutcome, expected_items: tuple[str, ...]
) -> None:
    options = UiOptions(
        min_display_time=2,
        max_display_time=30,
        default_response="John Doe",
        max_length=20,
        input_type=None,
        echo_type=None,
    )
    choices = ("red", "green", "blue") if kind >= AlertCode.SINGLE_CHOICE else ()
    alert = ui_alert(kind, "Pick", options=options, choices=choices)
    pair = Pair.make(packages=[[alert]], answer=lambda e: answer).run()
    (received,) = pair.received()
    assert received.ui is not None
    assert received.ui.kind is kind and received.ui.text == "Pick"
    assert received.ui.options.max_display_time == 30
    assert received.ui.options.default_response == "John Doe"
    assert received.ui.choices == choices
    outcome = pair.completed()[1]
    assert outcome.code == answer.code
    assert tuple(i.data for i in outcome.status_items) == expected_items


def test_generic_alerts_and_client_events_in_package1_and_later() -> None:
    ga = generic_alert(
        "Reversed-Domain-Name: org.openmobilealliance.dm.firmwareupdate.downloadandupdate",
        "int",
        "200",
        mark="critical",
        correlator="corr-1",
        source="./FUMO/1",
    )
    ce = client_event("com.example/Login", "chr", "user")
    pair = Pair.make(client={"initial_alerts": (ga, ce)})
    later = pair.client.queue(generic_alert("Content-Type: text/plain", "chr", "hello"))
    pair.run()
    got = [e for e in pair.server_events if isinstance(e, ev.GenericAlertReceived)]
    assert [g.correlator for g in got] == ["corr-1", None]
    assert got[0].items[0].meta.mark == "critical"  # type: ignore[union-attr]
    assert any(isinstance(e, ev.ClientEventReceived) for e in pair.server_events)
    done = {e.handle: e.outcome for e in pair.client_events if isinstance(e, ev.CommandCompleted)}
    assert done[later].code == 200


def test_unsupported_generic_alert_type_gets_415() -> None:
    ga = generic_alert("Content-Type: text/x-unknown", "chr", "x")
    pair = Pair.make(
        client={"initial_alerts": (ga,)},
        server={"generic_alert_types": frozenset({"Content-Type: text/plain"})},
    ).run()
    statuses = [
        c
        for c in decode_message(pair.transcript[1][1]).commands
        if isinstance(c, Status) and c.cmd == "Alert"
    ]
    assert sorted(s.code for s in statuses) == [200, 415]


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
def test_multi_message_packages_both_directions(encoding: Encoding) -> None:
    gets = [Get(cmd_id=None, items=target(f"./node/{i:03d}")) for i in range(40)]
    pair = Pair.make(
        client={"max_msg_size": 1200, "encoding": encoding},
        server={"max_msg_size": 1300},
        packages=[gets],
        answer=echo_results("value-" * 10),
    ).run()
    # OMA-TS-DM_Protocol-V1_2_1 §2.1: every Alert 1222 answered in the next message, Statuses
    # first, each Results in the message of its Status.
    assert_alerts_answered_next(pair)
    assert_statuses_first(pair)
    assert results_with_their_status(pair)
    c2s = [m for d, m in transcript_messages(pair) if d == "c2s"][2:]
    assert all(any(isinstance(c, Results) for c in m.commands) for m in c2s)
    # (Package 1 goes out before the server's MaxMsgSize is known.)
    assert all(len(body) <= (1200 if d == "s2c" else 1300) for d, body in pair.transcript[1:])
    assert len(pair.transcript) > 8
    outcomes = pair.completed()
    assert len(outcomes) == 40
    assert all(
        len(o.results) == 1 and o.results[0].data == "value-" * 10 for o in outcomes.values()
    )
    # Final only on the last message of a package; Alert 1222 asked for the rest.
    msgs = [decode_message(b) for _, b in pair.transcript]
    assert any(not m.final for m in msgs)
    assert any(isinstance(c, Alert) and c.code == 1222 for m in msgs for c in m.commands)
    assert pair.ended("client").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
def test_large_object_server_to_client(encoding: Encoding) -> None:
    value = "".join(f"{i:05d}," for i in range(800))  # 4800 bytes
    cmd = Replace(
        cmd_id=None,
        items=(Item(target=Location(loc_uri="./big"), meta=Meta(format="chr"), data=value),),
    )
    pair = Pair.make(client={"max_msg_size": 1024, "encoding": encoding}, packages=[[cmd]]).run()
    (received,) = pair.received()
    assert received.command.items[0].data == value  # type: ignore[union-attr]
    assert received.command.items[0].meta.size is None  # type: ignore[union-attr]
    codes = status_codes(pair, "c2s", cmd="Replace")
    assert codes.count(213) >= 4 and codes[-1] == 200
    first_chunk = next(
        c
        for d, b in pair.transcript
        if d == "s2c"
        for c in decode_message(b).commands
        if isinstance(c, Replace)
    )
    assert first_chunk.items[0].more_data and first_chunk.items[0].meta.size == len(value)  # type: ignore[union-attr]
    assert pair.completed()[1].code == 200


def test_large_object_client_to_server_results() -> None:
    value = "x" * 5000

    def answer(event: ev.CommandReceived) -> CommandOutcome:
        return CommandOutcome(
            code=200, results=(Item(source=Location(loc_uri="./big"), data=value),)
        )

    pair = Pair.make(
        server={"max_msg_size": 1024},
        packages=[[Get(cmd_id=None, items=target("./big"))]],
        answer=answer,
    ).run()
    outcome = pair.completed()[1]
    assert outcome.code == 200 and outcome.results[0].data == value
    assert all(len(b) <= 1024 for d, b in pair.transcript[1:] if d == "c2s")


def test_object_over_peer_max_obj_size() -> None:
    cmd = Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./big"), data="y" * 3000),))
    pair = Pair.make(client={"max_obj_size": 1000}, packages=[[cmd]]).run()
    assert pair.completed()[1].code == 416
    assert not pair.received()


def test_large_object_size_mismatch_gets_424() -> None:
    value = "z" * 3000
    cmd = Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./big"), data=value),))

    pair = Pair.make(
        client={"max_msg_size": 1024, "server_credentials": None},
        account=account(server_credentials=None),
        packages=[[cmd]],
    )
    # Corrupt the declared size of the first chunk.
    pair.rewrite("s2c", b'metinf">3000</Size>', b'metinf">3001</Size>').run()
    assert not pair.received()
    assert pair.completed()[1].code == 424


def test_large_object_interrupted_gets_1225() -> None:
    from dmproto.session.ui import parse_ui_options

    value = "q" * 3000
    cmd = Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./big"), data=value),))
    state = {"n": 0}

    def drop_chunk(direction, msg):  # type: ignore[no-untyped-def]
        # Replace the second chunk message's Replace by a different command.
        if direction == "s2c" and b"<MoreData" in msg.body:
            state["n"] += 1
            if state["n"] == 2:
                return with_body(msg, msg.body.replace(b"./big", b"./other"))
        return msg

    pair = Pair.make(
        client={"max_msg_size": 1024, "server_credentials": None},
        account=account(server_credentials=None),
        packages=[[cmd]],
        tamper=drop_chunk,
    )
    pair.run()
    alerts = [
        c
        for d, b in pair.transcript
        if d == "c2s"
        for c in decode_message(b).commands
        if isinstance(c, Alert) and c.code == AlertCode.NO_END_OF_DATA
    ]
    assert alerts
    assert all(e.command.items[0].data != value for e in pair.received())  # type: ignore[union-attr]
    assert parse_ui_options("") is not None


def test_abort_from_client() -> None:
    pair = Pair.make(packages=[[Get(cmd_id=None, items=target("./a"))]] * 3)
    pair.step()
    pair.client.abort()
    pair.step()
    msg = decode_message(pair.transcript[2][1])
    assert any(isinstance(c, Alert) and c.code == 1223 for c in msg.commands) and msg.final
    assert pair.ended("server").reason is ev.EndReason.ABORTED_BY_PEER  # type: ignore[union-attr]
    assert pair.client.state is SessionState.FINISHED
    assert pair.ended("client").reason is ev.EndReason.ABORTED  # type: ignore[union-attr]


def test_abort_from_server() -> None:
    def on_event(p: Pair, event: ev.Event) -> bool:
        if isinstance(event, ev.PackageCompleted) and event.package == 2:
            p.server.abort()
            return True
        return False

    pair = Pair.make(
        packages=[[Get(cmd_id=None, items=target("./a"))]] * 3, on_server_event=on_event
    ).run()
    last = decode_message(pair.transcript[-1][1])
    assert any(isinstance(c, Alert) and c.code == 1223 for c in last.commands)
    assert pair.ended("client").reason is ev.EndReason.ABORTED_BY_PEER  # type: ignore[union-attr]
    assert pair.ended("server").reason is ev.EndReason.ABORTED  # type: ignore[union-attr]
    assert pair.client.messages_to_send(99.0) == []


def test_inactivity_timeout() -> None:
    pair = Pair.make(client={"inactivity_timeout": 30.0}, server={"inactivity_timeout": 60.0})
    out = pair.client.messages_to_send(100.0)
    pair.server.receive_message(out[0].body, media_type=out[0].media_type, now=100.0)
    assert pair.client.get_timer() == 130.0
    pair.client.handle_timer(129.0)
    assert pair.client.state.value == "active"
    pair.client.handle_timer(130.0)
    assert pair.client.state.value == "finished"
    assert pair.client.get_timer() is None
    pair.drain_client()
    assert pair.ended("client").reason is ev.EndReason.TIMED_OUT  # type: ignore[union-attr]
    assert pair.server.get_timer() == 160.0
    pair.server.handle_timer(161.0)
    assert pair.server.state is SessionState.FINISHED


@pytest.mark.parametrize("encoding", [Encoding.XML, Encoding.WBXML])
def test_snapshot_restore_between_every_message(encoding: Encoding) -> None:
    packages: list[list[Command]] = [
        [Get(cmd_id=None, items=target("./a")), ui_alert(AlertCode.TEXT_INPUT, "Name?")],
        [Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./big"), data="w" * 2500),))],
    ]
    plain = Pair.make(
        client={"client_nonce": b"stale", "max_msg_size": 1024, "encoding": encoding},
        packages=[list(p) for p in packages],
    ).run()
    snap = Pair.make(
        client={"client_nonce": b"stale", "max_msg_size": 1024, "encoding": encoding},
        packages=[list(p) for p in packages],
        snapshot_every=True,
    ).run()
    assert snap.transcript == plain.transcript  # byte-for-byte identical
    assert snap.completed() == plain.completed()
    assert [type(e) for e in snap.client_events] == [type(e) for e in plain.client_events]


def test_nonce_reset_after_package0_verified_with_reset_nonce() -> None:
    from dmproto.notification import build_notification, parse_notification, verify_notification

    # The server lost the nonce: it signs Package 0 with the reset nonce
    # (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2).
    pkg0 = build_notification(
        server_id="com.mgmtsrv.manage",
        password="server-secret",
        nonce=RESET_NONCE,
        session_id=0x1234,
    )
    used = verify_notification(pkg0, password="server-secret", nonce=b"lost-too")
    assert used is NonceUsed.RESET
    notification = parse_notification(pkg0)
    config = client_config(client_nonce=b"lost", server_nonce=b"lost-too", session_id=None)
    client = ClientSession.from_notification(notification, used, config=config)
    pair = Pair(
        client=client, server=Pair.make().server, packages=[[Get(cmd_id=None, items=target("./a"))]]
    ).run()
    pkg1 = decode_message(pair.transcript[0][1])
    assert pkg1.header.session_id == "1234"
    # Package 1 credentials are built with the reset nonce.
    assert pkg1.header.cred is not None
    assert pkg1.header.cred.data == md5_credential(config.credentials, RESET_NONCE)  # type: ignore[arg-type]
    assert any(isinstance(c, Alert) and c.code == 1200 for c in pkg1.commands)
    assert [s.code for s in hdr_statuses(pair.transcript[1][1])] == [212]
    # Both sides issued fresh nonces, and each stored what the other issued.
    assert_nonces_agree(pair)
    assert RESET_NONCE not in nonces(pair.client_events, ev.NonceRole.CLIENT)
    assert pair.completed()[1].code == 200


def test_reject_device() -> None:
    pair = Pair.make(account=None).run()
    assert [s.code for s in hdr_statuses(pair.transcript[1][1])] == [401]
    assert pair.ended("server").reason is ev.EndReason.REJECTED  # type: ignore[union-attr]
    assert pair.ended("client").reason is ev.EndReason.AUTHENTICATION_FAILED  # type: ignore[union-attr]


def test_atomic_too_large_for_one_message_completes_413() -> None:
    # OMA-TS-DM_Protocol-V1_2_1 §2.3: a whole Atomic must fit in one message; it cannot be chunked.
    big = Atomic(
        cmd_id=None,
        commands=(
            Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./a"), data="z" * 5000),)),
        ),
    )
    small = Get(cmd_id=None, items=target("./b"))
    pair = Pair.make(client={"max_msg_size": 2048}, packages=[[big, small]]).run()
    assert pair.completed()[1].code == 413
    assert pair.completed()[2].code == 200
    assert [type(e.command).__name__ for e in pair.received()] == ["Get"]
    assert pair.ended("client").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("client_scheme", "required"),
    [
        (None, AuthScheme.MD5),  # no Cred until challenged: 407
        (None, AuthScheme.BASIC),  # basic challenge carries no NextNonce
        (AuthScheme.MD5, AuthScheme.HMAC),  # another scheme requested: 401, switch
        (AuthScheme.BASIC, AuthScheme.MD5),
    ],
)
def test_client_answers_challenge_with_requested_scheme(
    client_scheme: AuthScheme | None, required: AuthScheme
) -> None:
    pair = Pair.make(
        client={"auth_scheme": client_scheme, "server_credentials": None},
        account=account(auth_scheme=required, server_credentials=None),
        packages=[[Get(cmd_id=None, items=target("./a"))]],
    ).run()
    (challenge,) = hdr_statuses(pair.transcript[1][1])
    assert challenge.code == (407 if client_scheme is None else 401)
    assert challenge.chal is not None and challenge.chal.meta.type == required.value
    assert (challenge.chal.meta.next_nonce is None) == (required is AuthScheme.BASIC)
    retry = decode_message(pair.transcript[2][1])
    if required is AuthScheme.HMAC:
        assert retry.header.cred is None
    else:
        assert retry.header.cred is not None and retry.header.cred.meta is not None
        assert retry.header.cred.meta.type == required.value
    assert pair.completed()[1].code == 200
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_hmac_failure_mid_session_terminates_both_sides() -> None:
    pair = Pair.make(
        client={"auth_scheme": AuthScheme.HMAC, "server_credentials": None},
        account=account(auth_scheme=AuthScheme.HMAC, server_credentials=None),
        packages=[[Get(cmd_id=None, items=target("./a"))], [Get(cmd_id=None, items=target("./b"))]],
    )

    pair.rewrite("c2s", b">v<", b">w<", index=3).run()  # Package 3 tampered
    assert [s.code for s in hdr_statuses(pair.transcript[3][1])] == [401]
    assert pair.ended("server").reason is ev.EndReason.AUTHENTICATION_FAILED  # type: ignore[union-attr]
    assert pair.ended("client").reason is ev.EndReason.AUTHENTICATION_FAILED  # type: ignore[union-attr]
    assert 1 not in pair.completed() or pair.completed()[1].code != 200


def test_binary_large_object_over_wbxml() -> None:
    value = bytes(range(256)) * 12  # 3072 octets, WBXML OPAQUE
    cmd = Replace(
        cmd_id=None,
        items=(Item(target=Location(loc_uri="./fw"), meta=Meta(format="bin"), data=value),),
    )
    pair = Pair.make(
        client={"max_msg_size": 1500, "encoding": Encoding.WBXML}, packages=[[cmd]]
    ).run()
    (received,) = pair.received()
    assert received.command.items[0].data == value  # type: ignore[union-attr]
    assert pair.completed()[1].code == 200
    assert all(len(b) <= 1500 for d, b in pair.transcript if d == "s2c")
