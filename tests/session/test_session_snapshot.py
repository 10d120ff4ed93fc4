"""Snapshot format 2: an explicit, versioned schema. Stored snapshots (committed test
data in tests/data/snapshots/) keep loading whatever the internal attributes are
called; version 1 (the generic dump of older releases) is refused clearly."""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
import pytest
from datapaths import DOCS as DOCS_DIR
from datapaths import SNAPSHOTS

from dmproto.codec import decode_message
from dmproto.codec.model import Get, Item, Location, Results, Status
from dmproto.errors import InvalidValueError
from dmproto.outcome import CommandOutcome
from dmproto.session import ClientSession, Phase, ServerSession, WaitingFor
from dmproto.session.snapshot import RECORDS, VERSION
from dmproto.testing import client_config, server_config

DATA = SNAPSHOTS
DOCS = DOCS_DIR / "session-api.md"


def stored(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def test_stored_v2_client_snapshot_resumes() -> None:
    # Saved while the client held one unanswered Get (handle 1) of ./DevInfo/Mod.
    client = ClientSession.restore(stored("v2-client.json"), config=client_config())
    assert (client.phase, client.waiting_for) == (Phase.WAIT_ANSWERS, WaitingFor.APPLICATION)
    assert client.pending_commands == 1
    assert client.messages_to_send(10.0) == []
    client.respond(1, CommandOutcome(code=200, results=(Item(data="X1"),)))
    (out,) = client.messages_to_send(10.0)
    commands = decode_message(out.body).commands
    assert [(c.cmd, c.code) for c in commands if isinstance(c, Status)] == [
        ("SyncHdr", 212),  # the server's credentials were accepted in that message
        ("Get", 200),
    ]
    (results,) = [c for c in commands if isinstance(c, Results)]
    assert results.items[0].data == "X1"
    assert client.waiting_for is WaitingFor.PEER


def test_stored_v2_server_snapshot_resumes() -> None:
    # Saved right after PackageCompleted for the device's Package 1.
    server = ServerSession.restore(stored("v2-server.json"), config=server_config())
    assert (server.phase, server.waiting_for) == (Phase.WAIT_PACKAGE, WaitingFor.APPLICATION)
    assert server.device_id == "IMEI:493005100592800"
    assert server.next_event() is None  # its events had been handed out
    server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),)))
    server.close_package()
    (out,) = server.messages_to_send(10.0)
    assert any(isinstance(c, Get) for c in decode_message(out.body).commands)


@pytest.mark.parametrize("name", ["v2-client.json", "v2-server.json"])
def test_stored_v2_snapshot_is_written_back_unchanged(name: str) -> None:
    # The schema is stable: loading and snapshotting again gives the same JSON.
    snap = stored(name)
    restored: ClientSession | ServerSession
    if snap["role"] == "client":
        restored = ClientSession.restore(snap, config=client_config())
    else:
        restored = ServerSession.restore(snap, config=server_config())
    assert json.loads(json.dumps(restored.snapshot())) == snap


@pytest.mark.parametrize(
    ("name", "cls"), [("v1-client.json", ClientSession), ("v1-server.json", ServerSession)]
)
def test_version_1_snapshot_is_refused_clearly(name: str, cls: type[Any]) -> None:
    config = client_config() if cls is ClientSession else server_config()
    with pytest.raises(InvalidValueError) as info:
        cls.restore(stored(name), config=config)
    assert info.value.reason == "session.snapshot"
    assert "version 1" in str(info.value)


def test_schema_names_every_attribute_of_every_record() -> None:
    # A new or renamed attribute must be added to the schema (or mapped to its
    # old key), else it would silently not be stored.
    for name, (cls, keys) in RECORDS.items():
        assert sorted(keys.values()) == sorted(f.name for f in attrs.fields(cls)), name


def test_schema_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Snapshot format", 1)[1].split("\n## ", 1)[0]
    assert f'"version": {VERSION}' in section
    for name, (_, keys) in RECORDS.items():
        row = re.search(rf"^\| `{name}` \|(.*)$", section, re.MULTILINE)
        assert row is not None, name
        listed = re.findall(r"`(\w+)`", re.sub(r"\(.*?\)", "", row.group(1)))
        assert sorted(listed) == sorted(keys), name


def test_unknown_keys_and_broken_machines_are_refused() -> None:
    good = stored("v2-client.json")
    state = good["state"]
    machine = state["machine"]
    broken = [
        {**state, "surprise": 1},
        {**state, "machine": {**machine, "phase": "sending"}},
        {**state, "machine": {**machine, "role": {"$e": ["Role", "server"]}}},
        {**state, "machine": {**machine, "phase": {"$e": ["Phase", "nowhere"]}}},
        {**state, "machine": None},
        {**state, "$r": "nothing"},
    ]
    for bad in broken:
        with pytest.raises(InvalidValueError):
            ClientSession.restore({**good, "state": bad}, config=client_config())
    with pytest.raises(InvalidValueError):
        ServerSession.restore(good, config=server_config())


def test_missing_key_with_a_default_takes_it() -> None:
    # Forward tolerance inside version 2: a key with a default may be absent.
    snap = stored("v2-client.json")
    del snap["state"]["stalls"]
    client = ClientSession.restore(snap, config=client_config())
    assert client.phase is Phase.WAIT_ANSWERS
