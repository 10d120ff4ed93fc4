"""SQLite persistence of ``dmproto serve``: accounts, nonces, snapshots, outcomes."""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

from ..outcome import CommandOutcome
from ..session import events as ev

__all__ = ["Store"]


class Store:
    """SQLite persistence of the server: accounts, nonces, snapshots, outcomes."""

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS accounts (username TEXT PRIMARY KEY, password TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS nonces (device_id TEXT, role TEXT, nonce BLOB,
                                       PRIMARY KEY (device_id, role));
    CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, session_id TEXT,
                                         device_id TEXT, snapshot TEXT);
    CREATE TABLE IF NOT EXISTS outcomes (id INTEGER PRIMARY KEY, device_id TEXT,
                                         command TEXT, code INTEGER, results TEXT);
    CREATE TABLE IF NOT EXISTS queued (session TEXT, handle INTEGER, command TEXT,
                                       PRIMARY KEY (session, handle));
    """

    def __init__(self, path: str):
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(self._SCHEMA)

    def _run(self, sql: str, *args: object) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def put_account(self, username: str, password: str) -> None:
        self._run("INSERT OR REPLACE INTO accounts VALUES (?, ?)", username, password)

    def password(self, username: str) -> str | None:
        rows = self._run("SELECT password FROM accounts WHERE username = ?", username)
        return str(rows[0][0]) if rows else None

    def nonce(self, device_id: str, role: ev.NonceRole) -> bytes:
        rows = self._run("SELECT nonce FROM nonces WHERE device_id = ? AND role = ?",
                         device_id, role.value)
        return bytes(rows[0][0]) if rows else b""

    def put_nonce(self, device_id: str, role: ev.NonceRole, nonce: bytes) -> None:
        self._run("INSERT OR REPLACE INTO nonces VALUES (?, ?, ?)", device_id, role.value, nonce)

    # SessionStore: snapshots after every exchange, so sessions survive a restart.
    def save(self, token: str, key: tuple[str, str], snapshot: dict[str, Any]) -> None:
        self._run("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)", token, key[0], key[1],
                  json.dumps(snapshot))

    def load(self, token: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
        rows = self._run("SELECT session_id, device_id, snapshot FROM sessions WHERE token = ?",
                         token)
        if not rows:
            return None
        try:
            snapshot = json.loads(rows[0][2])
        except ValueError:
            return None
        return (str(rows[0][0]), str(rows[0][1])), snapshot

    def delete(self, token: str) -> None:
        self._run("DELETE FROM sessions WHERE token = ?", token)

    def put_queued(self, session: str, handle: int, command: str) -> None:
        self._run("INSERT OR REPLACE INTO queued VALUES (?, ?, ?)", session, handle, command)

    def pop_queued(self, session: str, handle: int) -> str | None:
        rows = self._run("SELECT command FROM queued WHERE session = ? AND handle = ?",
                         session, handle)
        self._run("DELETE FROM queued WHERE session = ? AND handle = ?", session, handle)
        return str(rows[0][0]) if rows else None

    def put_outcome(self, device_id: str, command: str, outcome: CommandOutcome) -> None:
        results = [str(i.data) for i in outcome.results if isinstance(i.data, str)]
        self._run("INSERT INTO outcomes (device_id, command, code, results) VALUES (?, ?, ?, ?)",
                  device_id, command, int(outcome.code), json.dumps(results))

    def close(self) -> None:
        with self._lock:
            self._db.close()
