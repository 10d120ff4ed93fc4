"""Opening a database: versioned migrations from empty and from what older
``dmproto serve`` versions wrote (plaintext passwords become digests), a newer
schema refused, passwords kept out of URLs and error text — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from dmproto_server import ServerStore, StoreError, connect
from dmproto_server.migrations import LATEST

from dmproto.bindings.claims import Claimed
from dmproto.security import user_pass_digest

OLD_DIGEST = "g0ZZ+E92kL8+v8ARhy7tBw=="  # B64(MD5("old:OldSecret-123"))


def _raw(target: str, *statements: str) -> list[tuple[object, ...]]:
    """Run statements on the database directly (no migration); the last one's rows."""
    rows: list[tuple[object, ...]] = []
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target, autocommit=True) as conn:
            for sql in statements:
                cursor = conn.execute(sql)  # type: ignore[arg-type]
                rows = cursor.fetchall() if cursor.description else []
        return rows
    conn = sqlite3.connect(target)
    try:
        for sql in statements:
            rows = conn.execute(sql).fetchall()
        conn.commit()
    finally:
        conn.close()
    return rows


def _id(target: str) -> str:
    return "SERIAL PRIMARY KEY" if target.startswith("postgresql://") else "INTEGER PRIMARY KEY"


def _blob(target: str) -> str:
    return "BYTEA" if target.startswith("postgresql://") else "BLOB"


def _versions(target: str) -> list[int]:
    return [int(str(v)) for (v,) in _raw(target, "SELECT version FROM schema_version ORDER BY 1")]


def test_an_empty_database_gets_every_migration_once(target: str) -> None:
    store = ServerStore(connect(target))
    store.close()
    assert _versions(target) == list(range(1, LATEST + 1))
    for table in ("accounts", "nonces", "devices", "sessions", "outcomes", "jobs", "commands"):
        assert _raw(target, f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    ServerStore(connect(target)).close()  # opening again changes nothing
    assert _versions(target) == list(range(1, LATEST + 1))


def test_several_workers_opening_at_once_migrate_once(target: str) -> None:
    barrier, errors = threading.Barrier(4), []

    def open_it() -> None:
        barrier.wait()
        try:
            connect(target).close()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _versions(target) == list(range(1, LATEST + 1))


def test_a_database_of_the_unversioned_serve_is_adopted(target: str) -> None:
    snapshot = {"phase": "wait-peer", "n": 1}
    _raw(
        target,
        "CREATE TABLE accounts (username TEXT PRIMARY KEY, md5_digest TEXT NOT NULL)",
        f"CREATE TABLE nonces (device_id TEXT, role TEXT, nonce {_blob(target)}, "
        "PRIMARY KEY (device_id, role))",
        "CREATE TABLE sessions (token TEXT PRIMARY KEY, session_id TEXT, device_id TEXT, "
        "snapshot TEXT)",
        f"CREATE TABLE outcomes (id {_id(target)}, device_id TEXT, command TEXT, code INTEGER, "
        "results TEXT, session_id TEXT, kind TEXT, detail TEXT)",
        f"INSERT INTO accounts VALUES ('old', '{OLD_DIGEST}')",
        f"INSERT INTO sessions VALUES ('tok', '7', 'IMEI:1', '{json.dumps(snapshot)}')",
        "INSERT INTO outcomes (device_id, command, code, results, session_id, kind, detail) "
        "VALUES ('IMEI:1', 'Get ./DevInfo/Mod', 200, '[\"X\"]', '7', 'status', '{\"code\": 200}')",
    )
    store = ServerStore(connect(target))
    try:
        assert store.md5_digest("old") == OLD_DIGEST
        assert store.load("tok") == (("7", "IMEI:1"), snapshot)
        [row] = store.outcomes()
        assert row["command"] == "Get ./DevInfo/Mod" and row["results"] == ["X"]
        assert row["parent_id"] is None and row["command_id"] is None
        # the old session row is a claimable session now
        claimed = store.claim("tok")
        assert isinstance(claimed, Claimed) and claimed.snapshot == snapshot
    finally:
        store.close()
    assert _versions(target) == list(range(1, LATEST + 1))


def test_a_plaintext_database_of_the_first_version_is_converted(target: str) -> None:
    snapshot = {"account": {"$c": "Credentials", "username": "old", "password": "OldSecret-123"}}
    _raw(
        target,
        "CREATE TABLE accounts (username TEXT PRIMARY KEY, password TEXT NOT NULL)",
        f"CREATE TABLE outcomes (id {_id(target)}, device_id TEXT, command TEXT, code INTEGER, "
        "results TEXT)",
        "CREATE TABLE sessions (token TEXT PRIMARY KEY, session_id TEXT, device_id TEXT, "
        "snapshot TEXT)",
        "INSERT INTO accounts VALUES ('old', 'OldSecret-123')",
        f"INSERT INTO sessions VALUES ('t', '1', 'IMEI:x', '{json.dumps(snapshot)}')",
        "INSERT INTO outcomes (device_id, command, code, results) "
        "VALUES ('IMEI:x', 'Replace ./A', 200, '[]')",
    )
    store = ServerStore(connect(target))
    try:
        assert store.md5_digest("old") == OLD_DIGEST == user_pass_digest("old", "OldSecret-123")
        loaded = store.load("t")
        assert loaded is not None
        account = loaded[1]["account"]
        assert account == {"$c": "Credentials", "username": "old", "md5_digest": OLD_DIGEST}
        [row] = store.outcomes()
        assert (row["kind"], row["detail"], row["code"]) == ("status", {}, 200)
        if not target.startswith("postgresql://"):
            # the plaintext left the file (and its write-ahead log) at once
            for path in Path(target).parent.glob(Path(target).name + "*"):
                assert b"OldSecret-123" not in path.read_bytes(), path
    finally:
        store.close()
    columns = _raw(target, "SELECT * FROM accounts")
    assert columns == [("old", OLD_DIGEST)]


def test_a_newer_schema_is_refused(target: str) -> None:
    connect(target).close()
    _raw(target, f"INSERT INTO schema_version (version, applied) VALUES ({LATEST + 7}, 0)")
    with pytest.raises(StoreError, match=f"schema version {LATEST + 7} is newer") as info:
        connect(target)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://dm:S3cret-pw@db.example:5432/dm",
        "postgres://dm@db.example/dm?sslmode=require&password=S3cret-pw",
    ],
)
def test_a_password_in_the_url_is_refused_and_not_echoed(url: str) -> None:
    with pytest.raises(StoreError) as info:
        connect(url)
    text = str(info.value)
    assert "S3cret-pw" not in text
    assert "PGPASSWORD" in text and "~/.pgpass" in text


def test_an_unreachable_server_is_one_line_without_the_query() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as info:
        connect("postgresql://dm@127.0.0.1:1/dm?application_name=hush-7&connect_timeout=5")
    text = str(info.value)
    assert "postgresql://dm@127.0.0.1:1/dm" in text and "hush-7" not in text
    assert len(text.splitlines()) == 1


def test_a_new_sqlite_file_is_private_and_uses_the_write_ahead_log(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    connect(str(path)).close()
    assert path.stat().st_mode & 0o077 == 0
    assert _raw(str(path), "PRAGMA journal_mode") == [("wal",)]


def test_sqlite_files_that_cannot_be_databases_are_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("these are not the droids\n" * 100)
    for path in (notes, tmp_path / "missing-dir" / "x.sqlite3"):
        with pytest.raises(StoreError, match="cannot"):
            connect(str(path))
    assert not (tmp_path / "missing-dir").exists()
    assert os.listdir(tmp_path) == ["notes.txt"]
