"""SQLite persistence of ``dmproto serve``: accounts, nonces, snapshots, outcomes.

No plaintext password is kept: an account row holds ``B64(MD5(username ":"
password))`` (OMA-TS-DM_Security-V1_2_1 §5.1), all that verifying basic, MD5 and
HMAC needs. That digest is still password-equivalent for DM (it computes valid MD5
and HMAC credentials), so the file is created with permissions 0600 and must stay
private. A database written by an older version (a ``password`` column) is migrated
to digests when opened. Session snapshots hold the same digests, never passwords.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from typing import Any

from ..security import user_pass_digest
from ..session import events as ev

__all__ = ["Store", "StoreError"]


class StoreError(Exception):
    """The database cannot be opened, created or migrated (one line of text)."""


class Store:
    """SQLite persistence of the server: accounts, nonces, snapshots, outcomes.

    Raises:
        StoreError: when *path* cannot be created or opened, or is not a database.
    """

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS accounts (username TEXT PRIMARY KEY, md5_digest TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS nonces (device_id TEXT, role TEXT, nonce BLOB,
                                       PRIMARY KEY (device_id, role));
    CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, session_id TEXT,
                                         device_id TEXT, snapshot TEXT);
    CREATE TABLE IF NOT EXISTS outcomes (id INTEGER PRIMARY KEY, device_id TEXT,
                                         command TEXT, code INTEGER, results TEXT,
                                         session_id TEXT, kind TEXT, detail TEXT);
    """
    #: Columns added to ``outcomes`` since the first version (added on open).
    _OUTCOME_COLUMNS = ("session_id", "kind", "detail")

    def __init__(self, path: str):
        try:
            if path != ":memory:" and not os.path.exists(path):
                # Created private: the file holds password-equivalent digests.
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        self._lock = threading.Lock()
        try:
            with self._lock:
                # Crash safety (docs/reliability.md): every write is its own
                # transaction, durable before the answer that depends on it is sent;
                # FULL (SQLite's usual default) syncs the journal at each commit.
                self._db.execute("PRAGMA synchronous = FULL")
                self._db.executescript(self._SCHEMA)
                self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot use database {path}: {exc}") from None
        self.path = path

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self._db.execute(f"PRAGMA table_info({table})")]

    def _migrate(self) -> None:
        """Bring an older database up to this schema, in one transaction."""
        accounts = self._columns("accounts")
        outcomes = self._columns("outcomes")
        if "password" not in accounts and all(c in outcomes for c in self._OUTCOME_COLUMNS):
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if "password" in accounts:  # plaintext passwords: replace them by digests
                rows = self._db.execute("SELECT username, password FROM accounts").fetchall()
                self._db.execute("DROP TABLE accounts")
                self._db.execute(
                    "CREATE TABLE accounts (username TEXT PRIMARY KEY, md5_digest TEXT NOT NULL)"
                )
                self._db.executemany(
                    "INSERT INTO accounts VALUES (?, ?)",
                    [(str(user), user_pass_digest(str(user), str(pw))) for user, pw in rows],
                )
                # Snapshots of that version's sessions hold the same passwords.
                snaps = self._db.execute("SELECT token, snapshot FROM sessions").fetchall()
                self._db.executemany(
                    "UPDATE sessions SET snapshot = ? WHERE token = ?",
                    [(json.dumps(_digest_only(_json(snap, None))), token) for token, snap in snaps],
                )
            for column in self._OUTCOME_COLUMNS:
                if column not in outcomes:
                    self._db.execute(f"ALTER TABLE outcomes ADD COLUMN {column} TEXT")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        # The dropped table's pages may still hold the old text: rewrite the file.
        self._db.execute("VACUUM")

    def world_readable(self) -> bool:
        """Whether group or others may read the database file."""
        try:
            mode = os.stat(self.path).st_mode
        except OSError:
            return False
        return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))

    def _run(self, sql: str, *args: object) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def put_account(self, username: str, password: str) -> None:
        """Create or update an account; only the digest of *password* is written."""
        self._run(
            "INSERT OR REPLACE INTO accounts VALUES (?, ?)",
            username,
            user_pass_digest(username, password),
        )

    def md5_digest(self, username: str) -> str | None:
        """The stored ``B64(MD5(username:password))`` of *username*, or None."""
        rows = self._run("SELECT md5_digest FROM accounts WHERE username = ?", username)
        return str(rows[0][0]) if rows else None

    def nonce(self, device_id: str, role: ev.NonceRole) -> bytes:
        rows = self._run(
            "SELECT nonce FROM nonces WHERE device_id = ? AND role = ?", device_id, role.value
        )
        return bytes(rows[0][0]) if rows else b""

    def put_nonce(self, device_id: str, role: ev.NonceRole, nonce: bytes) -> None:
        self._run("INSERT OR REPLACE INTO nonces VALUES (?, ?, ?)", device_id, role.value, nonce)

    # SessionStore: snapshots after every exchange, so sessions survive a restart.
    def save(self, token: str, key: tuple[str, str], snapshot: dict[str, Any]) -> None:
        self._run(
            "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)",
            token,
            key[0],
            key[1],
            json.dumps(snapshot),
        )

    def load(self, token: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
        rows = self._run(
            "SELECT session_id, device_id, snapshot FROM sessions WHERE token = ?", token
        )
        if not rows:
            return None
        try:
            snapshot = json.loads(rows[0][2])
        except ValueError:
            return None
        return (str(rows[0][0]), str(rows[0][1])), snapshot

    def delete(self, token: str) -> None:
        self._run("DELETE FROM sessions WHERE token = ?", token)

    def put_outcome(
        self,
        device_id: str,
        session_id: str,
        kind: str,
        command: str,
        code: int | None,
        results: list[str],
        detail: dict[str, Any],
    ) -> None:
        """Record one outcome: a command's Status and Results, a UI answer, an alert."""
        self._run(
            "INSERT INTO outcomes (device_id, command, code, results, session_id, kind, "
            "detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            device_id,
            command,
            code,
            json.dumps(results),
            session_id,
            kind,
            json.dumps(detail),
        )

    def outcomes(self) -> Iterator[dict[str, Any]]:
        """Every recorded outcome, oldest first."""
        rows = self._run(
            "SELECT id, device_id, session_id, kind, command, code, results, "
            "detail FROM outcomes ORDER BY id"
        )
        for row in rows:
            yield {
                "id": row[0],
                "device_id": row[1],
                "session_id": row[2],
                "kind": row[3] or "status",
                "command": row[4],
                "code": row[5],
                "results": _json(row[6], []),
                "detail": _json(row[7], {}),
            }

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _json(text: object, default: Any) -> Any:
    try:
        return json.loads(str(text)) if text is not None else default
    except ValueError:
        return default


def _digest_only(value: Any) -> Any:
    """A snapshot (see ``dmproto.session.snapshot``) with every ``Credentials``
    password replaced by its ``md5_digest``."""
    if isinstance(value, list):
        return [_digest_only(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _digest_only(v) for k, v in value.items()}
    if out.get("$c") == "Credentials" and isinstance(out.get("password"), str):
        out["md5_digest"] = user_pass_digest(str(out.get("username", "")), out.pop("password"))
    return out
