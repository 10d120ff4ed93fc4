"""Client session edge cases through the public API, with hand-written server
messages: odd server commands, header rules, large-object reassembly limits, a
failing SyncHdr Status, aborts after errors."""

from __future__ import annotations

import pytest
from sessionkit import wire_msg

from dmproto.codec import decode_message
from dmproto.codec.model import Alert, Item, Location, Replace, Results, Status, XmlData
from dmproto.errors import LocalProtocolError, RemoteProtocolError
from dmproto.notification import Notification
from dmproto.outcome import CommandOutcome
from dmproto.security import NonceUsed
from dmproto.session import ClientSession, SessionState
from dmproto.session import events as ev
from dmproto.testing import Pair, client_config

XML = "application/vnd.syncml.dm+xml"
GET = "<Get><CmdID>2</CmdID><Item><Target><LocURI>./b</LocURI></Target></Item></Get>"


def started(**changes: object) -> ClientSession:
    client = ClientSession(client_config(server_credentials=None, **changes))
    assert client.messages_to_send(0.0)
    return client


def drain(client: ClientSession) -> list[ev.Event]:
    out = []
    while (event := client.next_event()) is not None:
        out.append(event)
    return out


def reply(client: ClientSession, now: float = 1.0) -> list[Status | Results | Alert]:
    (out,) = client.messages_to_send(now)
    return [c for c in decode_message(out.body).commands if isinstance(c, Status | Results | Alert)]


def answer_get(client: ClientSession, limit: str, data: str) -> None:
    """Receive the Get (server SyncHdr Meta *limit*) and answer it with *data*."""
    client.receive_message(wire_msg(GET, extra=f"<Meta>{limit}</Meta>"), media_type=XML, now=1.0)
    (received,) = [e for e in drain(client) if isinstance(e, ev.CommandReceived)]
    big = Item(source=Location(loc_uri="./b"), data=data)
    client.respond(received.handle, CommandOutcome(code=200, results=(big,)))


def chunk(data: str, *, size: str = "", more: bool = True, cmd_id: int = 2, meta: str = "") -> str:
    size_meta = f'<Meta><Size xmlns="syncml:metinf">{size}</Size></Meta>' if size else ""
    return (
        f"<Replace><CmdID>{cmd_id}</CmdID>{meta}<Item><Target><LocURI>./big</LocURI></Target>"
        f"{size_meta}<Data>{data}</Data>{'<MoreData/>' if more else ''}</Item></Replace>"
    )


def test_identity_properties() -> None:
    client = started()
    assert client.session_id == "1" and client.pending_commands == 0


def test_results_from_the_server_are_ignored_and_1225_is_acknowledged() -> None:
    client = started()
    body = (
        "<Results><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>1</CmdRef><Item><Source>"
        "<LocURI>./x</LocURI></Source><Data>v</Data></Item></Results>"
        "<Alert><CmdID>3</CmdID><Data>1225</Data></Alert>" + GET.replace("2</CmdID>", "4</CmdID>")
    )
    client.receive_message(wire_msg(body), media_type=XML, now=1.0)
    (received,) = [e for e in drain(client) if isinstance(e, ev.CommandReceived)]
    client.respond(received.handle, CommandOutcome(code=200))
    codes = {(c.cmd, c.cmd_ref): c.code for c in reply(client) if isinstance(c, Status)}
    assert codes == {("SyncHdr", "0"): 200, ("Alert", "3"): 200, ("Get", "4"): 200}


def test_server_refusing_our_synchdr_ends_the_session() -> None:
    # A SyncHdr Status that is neither accepted nor a challenge (here 500).
    client = started()
    client.receive_message(wire_msg(GET, hdr_code=500), media_type=XML, now=1.0)
    ended = drain(client)[-1]
    assert isinstance(ended, ev.SessionEnded)
    assert ended.reason is ev.EndReason.AUTHENTICATION_FAILED
    assert client.messages_to_send(1.0) == []


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (wire_msg(GET, session_id="2"), "session.session-id"),
        (wire_msg(GET).replace(b"<MsgID>1<", b"<MsgID>one<"), "session.msg-id"),
    ],
)
def test_header_violations(message: bytes, reason: str) -> None:
    client = started()
    with pytest.raises(RemoteProtocolError) as info:
        client.receive_message(message, media_type=XML, now=1.0)
    assert info.value.reason == reason
    assert client.state is SessionState.FINISHED
    client.abort()
    client.abort()  # the one abort message is already queued
    (abort,) = client.messages_to_send(2.0)
    assert [c.code for c in decode_message(abort.body).commands if isinstance(c, Alert)] == [1223]
    assert client.messages_to_send(3.0) == []


def test_server_max_obj_size_limits_our_results() -> None:
    # OMA-TS-DM_Protocol-V1_2_1 §2.1; OMA-TS-DM_RepPro-V1_2_1 §4.1.3: MaxObjSize (without
    # MaxMsgSize) from the server's SyncHdr: a bigger Results value is never sent; the Get is
    # answered 416.
    client = started()
    answer_get(client, '<MaxObjSize xmlns="syncml:metinf">100</MaxObjSize>', "x" * 101)
    answer = reply(client)
    assert [(c.cmd, c.code) for c in answer if isinstance(c, Status)] == [
        ("SyncHdr", 200),
        ("Get", 416),
    ]
    assert not any(isinstance(c, Results) for c in answer)


def test_large_object_with_xml_markup_chunks_and_size_in_command_meta() -> None:
    client = started()
    meta = '<Meta><Size xmlns="syncml:metinf">14</Size></Meta>'
    client.receive_message(
        wire_msg(chunk("abcdef", meta=meta), final=False), media_type=XML, now=1.0
    )
    assert [(c.cmd, c.code) for c in reply(client) if isinstance(c, Status)][1] == ("Replace", 213)
    client.receive_message(
        wire_msg(chunk("<x>1</x>", more=False), msg_id=2), media_type=XML, now=2.0
    )
    (received,) = [e for e in drain(client) if isinstance(e, ev.CommandReceived)]
    assert isinstance(received.command, Replace)
    assert received.command.items[0].data == "abcdef<x>1</x>"


@pytest.mark.parametrize("max_obj_size", [1000, None])
def test_large_object_over_our_max_obj_size_is_refused_416(max_obj_size: int | None) -> None:
    # Declared too big ⇒ 416 at once; declared small but growing past the limit ⇒
    # 416 when it does (OMA-TS-DM_Protocol-V1_2_1 §2.2). Without MaxObjSize the Limits bound
    # applies.
    from dmproto.limits import Limits

    limit = max_obj_size or 1000
    client = started(max_obj_size=max_obj_size, limits=Limits(max_data_size=limit))
    client.receive_message(
        wire_msg(chunk("a" * 10, size=str(limit + 1)), final=False), media_type=XML, now=1.0
    )
    assert [c.code for c in reply(client) if isinstance(c, Status)][1] == 416
    client.receive_message(
        wire_msg(chunk("a" * 600, size="900", cmd_id=3), msg_id=2, final=False),
        media_type=XML,
        now=2.0,
    )
    assert [c.code for c in reply(client, 2.0) if isinstance(c, Status)][1] == 213
    client.receive_message(
        wire_msg(chunk("a" * 600, cmd_id=2), msg_id=3, final=False), media_type=XML, now=3.0
    )
    assert [c.code for c in reply(client, 3.0) if isinstance(c, Status)][1] == 416
    assert not [e for e in drain(client) if isinstance(e, ev.CommandReceived)]


def test_results_chunk_refused_by_the_server_stops_the_object() -> None:
    # The server refuses a Results chunk (not 213): the rest is never sent.
    client = started()
    answer_get(client, '<MaxMsgSize xmlns="syncml:metinf">1024</MaxMsgSize>', "r" * 3000)
    first = reply(client)
    (part,) = [c for c in first if isinstance(c, Results)]
    assert part.items[0].more_data
    refusal = (
        f"<Status><CmdID>2</CmdID><MsgRef>2</MsgRef><CmdRef>{part.cmd_id}</CmdRef>"
        "<Cmd>Results</Cmd><Data>500</Data></Status>"
    )
    client.receive_message(
        wire_msg(refusal, msg_id=2, hdr_code=200, final=False).replace(
            b"<MsgRef>1<", b"<MsgRef>2<", 1
        ),
        media_type=XML,
        now=2.0,
    )
    (out,) = client.messages_to_send(2.0)
    after = decode_message(out.body)
    assert not any(isinstance(c, Results) for c in after.commands) and after.final


def test_from_notification_with_the_stored_nonce() -> None:
    notification = Notification(ui_mode=0, initiator=0, session_id=0x2A, server_id="srv")
    config = client_config(session_id=None, client_nonce=b"kept")
    client = ClientSession.from_notification(notification, NonceUsed.STORED, config=config)
    (pkg1,) = client.messages_to_send(0.0)
    msg = decode_message(pkg1.body)
    assert msg.header.session_id == "2A"
    assert [c.code for c in msg.commands if isinstance(c, Alert)] == [1200]


def test_abort_only_once() -> None:
    client = started()
    client.abort()
    with pytest.raises(LocalProtocolError):
        client.abort()


def test_xml_markup_value_is_chunked_as_text() -> None:
    value = "<a>" + "x" * 3000 + "</a>"
    cmd = Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./t"), data=XmlData(value)),))
    pair = Pair.make(client={"max_msg_size": 1024}, packages=[[cmd]]).run()
    (received,) = pair.received()
    assert received.command.items[0].data == value  # type: ignore[union-attr]
    assert pair.completed()[1].code == 200


def test_empty_chunks_add_nothing() -> None:
    client = started()
    client.receive_message(wire_msg(chunk("abc", size="6"), final=False), media_type=XML, now=1.0)
    reply(client)
    client.receive_message(
        wire_msg(chunk("", cmd_id=3), msg_id=2, final=False), media_type=XML, now=2.0
    )
    assert [c.code for c in reply(client, 2.0) if isinstance(c, Status)][1] == 213
    client.receive_message(wire_msg(chunk("def", more=False), msg_id=3), media_type=XML, now=3.0)
    (received,) = [e for e in drain(client) if isinstance(e, ev.CommandReceived)]
    assert received.command.items[0].data == "abcdef"  # type: ignore[union-attr]
