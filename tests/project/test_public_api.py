"""The API a newcomer meets: names from ``dmproto``, commands without CmdIDs,
``CommandCompleted.command``, one ``queue`` verb, role-typed events, and the media
type ``receive_message`` checks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import dmproto
from dmproto import (
    Add,
    Alert,
    Atomic,
    ClientSession,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    Location,
    RemoteProtocolError,
    Replace,
    Sequence,
    ServerSession,
    events,
)
from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.errors import LocalProtocolError
from dmproto.session import OutgoingMessage
from dmproto.session.alerts import generic_alert
from dmproto.testing import Pair, account, client_config, ok_answer, server_config
from dmproto.tree import DeviceInfo, build_device_tree, devinfo_items

GET = Get(items=[Item(target=Location(loc_uri="./DevInfo/Mod"))])


def test_everyday_names_come_from_the_package() -> None:
    assert dmproto.events is dmproto.session.events
    for name in (
        "ClientSession",
        "ServerSession",
        "ClientConfig",
        "ServerConfig",
        "Account",
        "Credentials",
        "AuthScheme",
        "Item",
        "Location",
        "SessionState",
        "events",
    ):
        assert name in dmproto.__all__ and hasattr(dmproto, name)
    tree = build_device_tree(DeviceInfo(dev_id="IMEI:1", man="Acme", mod="X1"))
    assert [i.data for i in devinfo_items(tree) if i.source and i.source.loc_uri.endswith("Mod")]


@pytest.mark.parametrize(
    "module",
    [
        "dmproto.codec",
        "dmproto.security",
        "dmproto.notification",
        "dmproto.session",
        "dmproto.tree",
        "dmproto.bindings",
        "dmproto.testing",
    ],
)
def test_each_layer_imports_alone(module: str) -> None:
    # the package root imports the session layer: no layer may depend on the root
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


@pytest.mark.parametrize(
    "command",
    [
        GET,
        Add(items=[Item(target=Location(loc_uri="./x"), data="1")]),
        Replace(items=[Item(target=Location(loc_uri="./x"), data="2")]),
        Delete(items=[Item(target=Location(loc_uri="./x"))]),
        Copy(items=[Item(target=Location(loc_uri="./y"), source=Location(loc_uri="./x"))]),
        Exec(items=[Item(target=Location(loc_uri="./e"))]),
        Alert(code=1100, items=[Item(), Item(data="hi")]),
        Atomic(commands=[Add(items=[Item(target=Location(loc_uri="./x"), data="1")])]),
        Sequence(commands=[GET]),
    ],
)
def test_a_command_needs_no_cmd_id_and_completes_with_itself(command: object) -> None:
    pair = Pair.make(packages=[[command]], snapshot_every=True).run()
    [done] = [e for e in pair.server_events if isinstance(e, events.CommandCompleted)]
    # the command as queued, also across snapshot/restore between every message
    assert done.command == command
    assert done.outcome.code == 200
    ended = pair.ended("server")
    assert ended is not None and ended.reason is events.EndReason.COMPLETED


def test_a_command_refused_locally_completes_with_itself() -> None:
    big = Add(items=[Item(target=Location(loc_uri="./big"), data="x" * 200)])
    pair = Pair.make(client={"max_obj_size": 100}, packages=[[big, GET]]).run()
    done = {
        e.outcome.code: e.command
        for e in pair.server_events
        if isinstance(e, events.CommandCompleted)
    }
    assert done == {416: big, 200: GET}


def test_client_queue_is_the_same_verb_and_reports_the_alert() -> None:
    client = ClientSession(client_config(credentials=None, server_credentials=None))
    alert = generic_alert(type="urn:x", format="chr", data="done")
    handle = client.queue(alert)
    pair = Pair(
        client=client,
        server=ServerSession(server_config()),
        account=account(credentials=None, server_credentials=None),
    ).run()
    [done] = [e for e in pair.client_events if isinstance(e, events.CommandCompleted)]
    assert (done.handle, done.command) == (handle, alert)
    with pytest.raises(LocalProtocolError) as refused:
        ClientSession(client_config()).queue(GET)
    assert refused.value.reason == "session.alert"


def test_old_names_are_gone() -> None:
    for name in ("send_package", "finish"):
        assert not hasattr(ServerSession, name)
    assert not hasattr(ClientSession, "queue_alert")


def test_events_are_typed_by_role() -> None:
    pair = Pair.make(packages=[[GET]]).run()
    assert pair.client_events and pair.server_events
    assert all(isinstance(e, events.ClientSessionEvent) for e in pair.client_events)
    assert all(isinstance(e, events.ServerSessionEvent) for e in pair.server_events)
    server_only = (
        events.AccountRequested,
        events.DeviceConnected,
        events.PackageCompleted,
        events.GenericAlertReceived,
        events.ClientEventReceived,
    )
    for kind in server_only:
        assert not issubclass(kind, events.ClientSessionEvent)
    assert not issubclass(events.CommandReceived, events.ServerSessionEvent)
    assert issubclass(events.CommandCompleted, events.ClientSessionEvent)
    assert issubclass(events.CommandCompleted, events.ServerSessionEvent)


def _package1(encoding: Encoding) -> bytes:
    body = ClientSession(client_config()).messages_to_send(0.0)[0].body
    return encode_message(decode_message(body), encoding)


@pytest.mark.parametrize(
    ("encoding", "media_type"),
    [
        (Encoding.XML, Encoding.WBXML.media_type),
        (Encoding.WBXML, Encoding.XML.media_type),
        (Encoding.XML, "text/plain"),
    ],
)
def test_a_body_contradicting_its_media_type_is_refused(
    encoding: Encoding, media_type: str
) -> None:
    server = ServerSession(server_config())
    with pytest.raises(RemoteProtocolError) as refused:
        server.receive_message(_package1(encoding), media_type=media_type, now=0.0)
    assert (refused.value.reason, refused.value.status_hint) == ("message.media-type", 415)
    [ended] = [e for e in iter(server.next_event, None) if isinstance(e, events.SessionEnded)]
    assert ended.reason is events.EndReason.PROTOCOL_ERROR


@pytest.mark.parametrize("encoding", list(Encoding))
def test_a_matching_media_type_with_parameters_is_accepted(encoding: Encoding) -> None:
    server = ServerSession(server_config())
    media_type = encoding.media_type.upper() + "; charset=UTF-8"
    server.receive_message(_package1(encoding), media_type=media_type, now=0.0)
    assert isinstance(server.next_event(), events.AccountRequested)


def _pass(messages: list[OutgoingMessage], to: ClientSession | ServerSession) -> None:
    [message] = messages
    to.receive_message(
        message.body, media_type=message.media_type, headers=message.headers, now=1.0
    )


def test_a_pending_command_completed_event_keeps_its_command_in_a_snapshot() -> None:
    client, server = ClientSession(client_config()), ServerSession(server_config())
    _pass(client.messages_to_send(0.0), server)
    assert isinstance(server.next_event(), events.AccountRequested)
    server.supply_account(account())
    while not isinstance(server.next_event(), events.PackageCompleted):
        pass
    server.queue(GET)
    server.close_package()
    _pass(server.messages_to_send(1.0), client)
    while (event := client.next_event()) is not None:
        if isinstance(event, events.CommandReceived):
            client.respond(event.handle, ok_answer(event))
    _pass(client.messages_to_send(2.0), server)
    # the device's Status is in: CommandCompleted waits in the session, restored
    # in another process from JSON
    snapshot = json.loads(json.dumps(server.snapshot()))
    restored = ServerSession.restore(snapshot, config=server_config())
    [done] = [e for e in iter(restored.next_event, None) if isinstance(e, events.CommandCompleted)]
    assert done.command == GET and done.outcome.results[0].data == "v"
