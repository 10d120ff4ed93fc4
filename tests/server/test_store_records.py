"""ServerStore's records: accounts (digests only) and their TLS client certificates,
nonces, devices, outcomes with the children of Atomic and Sequence, the
single-process SessionStore path, and the round-trip counter — on SQLite and
PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from dmproto_server import ChildOutcome, ServerStore, connect

from dmproto.session import events as ev


@pytest.fixture
def store(target: str) -> Iterator[ServerStore]:
    opened = ServerStore(connect(target), clock=lambda: 500.0)
    yield opened
    opened.close()


def test_accounts_keep_only_the_digest(store: ServerStore) -> None:
    assert store.md5_digest("dev") is None
    store.put_account("dev", "Secret-1")
    store.put_account("dev", "Secret-2")  # replaced
    assert store.md5_digest("dev") == "mW3kN3hVuvFb5w2dIDAOCA=="  # B64(MD5("dev:Secret-2"))
    with store.db.transaction() as tx:
        rows = tx.execute("SELECT * FROM accounts")
    assert rows == [("dev", "mW3kN3hVuvFb5w2dIDAOCA==")]


def test_certificates_log_in_to_an_existing_account(store: ServerStore) -> None:
    device, other = "ab" * 32, "CD:" * 31 + "CD"  # as openssl prints it: upper case, colons
    assert store.certificate_account(device) is None
    with pytest.raises(KeyError, match="nobody"):
        store.put_certificate(device, "nobody")
    assert store.certificate_account(device) is None  # nothing was written
    store.put_account("dev", "Secret-1")
    store.put_account("ops", "Secret-2")
    store.put_certificate(device, "dev")
    store.put_certificate(other, "dev")  # an account may have several
    assert store.certificate_account(device.upper()) == "dev"
    assert store.certificate_account("cd" * 32) == "dev"
    store.put_certificate(device, "ops")  # a certificate names one account: moved
    assert store.certificate_account(device) == "ops"
    with store.db.transaction() as tx:
        rows = sorted(tx.execute("SELECT fingerprint, username FROM account_certificates"))
    assert rows == [("ab" * 32, "ops"), ("cd" * 32, "dev")]


def test_nonces_per_device_and_role(store: ServerStore) -> None:
    assert store.nonce("IMEI:1", ev.NonceRole.CLIENT) == b""
    store.put_nonce("IMEI:1", ev.NonceRole.CLIENT, b"\x00c1")
    store.put_nonce("IMEI:1", ev.NonceRole.SERVER, b"s1")
    store.put_nonce("IMEI:1", ev.NonceRole.CLIENT, b"\x00c2")
    assert store.nonce("IMEI:1", ev.NonceRole.CLIENT) == b"\x00c2"
    assert store.nonce("IMEI:1", ev.NonceRole.SERVER) == b"s1"
    assert store.nonce("IMEI:2", ev.NonceRole.SERVER) == b""


def test_devices_keep_their_first_sighting_and_last_dev_info(target: str) -> None:
    now = [100.0]
    store = ServerStore(connect(target), clock=lambda: now[0])
    try:
        store.device_seen("IMEI:1", {"Mod": "X1", "Man": "Acme"})
        now[0] = 200.0
        store.device_seen("IMEI:1", {})  # no DevInfo this time: the last one stays
        store.device_seen("IMEI:0", {"Mod": "Z"})
        assert store.devices() == [
            {"device_id": "IMEI:0", "dev_info": {"Mod": "Z"}, "first_seen": 200.0,
             "last_seen": 200.0},
            {"device_id": "IMEI:1", "dev_info": {"Man": "Acme", "Mod": "X1"},
             "first_seen": 100.0, "last_seen": 200.0},
        ]  # fmt: skip
    finally:
        store.close()


def test_outcomes_of_atomic_children_are_rows_under_their_group(store: ServerStore) -> None:
    store.put_outcome("IMEI:0", "9", "ui", "Alert 1101", 200, [], {"answer": "yes"})
    store.put_outcome(
        "IMEI:1",
        "7",
        "status",
        "Atomic",
        215,
        [],
        {"code": 215},
        command_id=42,
        children=[
            ChildOutcome(command="Replace ./A", code=216),
            ChildOutcome(
                command="Sequence",
                code=215,
                children=[ChildOutcome(command="Get ./B", code=215, results=["b"])],
            ),
        ],
    )
    rows = list(store.outcomes("IMEI:1"))
    by_command = {row["command"]: row for row in rows}
    atomic, sequence = by_command["Atomic"], by_command["Sequence"]
    assert (atomic["parent_id"], atomic["command_id"], atomic["detail"]) == (
        None,
        42,
        {"code": 215},
    )
    assert (by_command["Replace ./A"]["parent_id"], by_command["Replace ./A"]["child_index"]) == (
        atomic["id"],
        0,
    )
    assert (sequence["parent_id"], sequence["child_index"]) == (atomic["id"], 1)
    get = by_command["Get ./B"]
    assert (get["parent_id"], get["child_index"], get["results"]) == (sequence["id"], 0, ["b"])
    assert [r["kind"] for r in rows] == ["status"] * 4
    assert [r["command"] for r in store.outcomes()] == [
        "Alert 1101", "Atomic", "Replace ./A", "Sequence", "Get ./B"
    ]  # fmt: skip


def test_the_single_process_session_store_path(store: ServerStore) -> None:
    assert store.load("t") is None
    store.save("t", ("1", "IMEI:1"), {"a": 1})
    store.save("t", ("1", "IMEI:1"), {"a": 2})
    assert store.load("t") == (("1", "IMEI:1"), {"a": 2})
    store.delete("t")
    assert store.load("t") is None


def test_round_trips_count_every_statement(store: ServerStore) -> None:
    before = store.db.round_trips
    store.md5_digest("dev")  # one SELECT: a single read needs no BEGIN/COMMIT
    assert store.db.round_trips - before == 1
    claimed = store.create("tok", ("1", "IMEI:1"))
    from dmproto.bindings.claims import Reply
    from dmproto.bindings.http import HttpResponse
    from dmproto.session import ServerSession
    from dmproto.testing import server_config

    session = ServerSession(server_config())
    store.put_nonce("IMEI:1", ev.NonceRole.SERVER, b"n", session=session)
    store.put_outcome("IMEI:1", "1", "status", "Atomic", 200, [], {}, session=session,
                      children=[ChildOutcome(command="Add ./X", code=200)])  # fmt: skip
    before = store.db.round_trips
    reply = Reply(msg_id=1, digest=b"d", response=HttpResponse(status=200, headers=[]))
    assert store.commit(claimed, session, reply, expires_in=60)
    # BEGIN, the snapshot's compare-and-set, nonce, outcome, its child, COMMIT
    assert store.db.round_trips - before == 6


def test_world_readable_flags_an_sqlite_file_others_may_read(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = ServerStore(connect(str(path)))
    try:
        assert not store.world_readable()
        os.chmod(path, 0o644)
        assert store.world_readable()
    finally:
        store.close()
    memory = ServerStore(connect(":memory:"))
    assert not memory.world_readable()
    memory.close()


def test_a_postgresql_store_is_never_flagged(target: str) -> None:
    store = ServerStore(connect(target))
    try:
        assert store.world_readable() is False
        assert store.db.dialect == ("sqlite" if "://" not in target else "postgresql")
    finally:
        store.close()
