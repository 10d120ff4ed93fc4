"""What ``dmproto serve`` keeps in its database, and the session store with leases.

:class:`ServerStore` holds accounts (and the fingerprints of the TLS client
certificates that log in to them), nonces, devices and outcomes, and implements
:class:`dmproto.bindings.claims.SessionClaims` (sessions claimed with a lease for
one request each, so that any worker sharing the database serves any message).

Secrets at rest: no plaintext password is kept. An account row holds
``B64(MD5(username ":" password))`` (OMA-TS-DM_Security-V1_2_1 §5.1), all that
verifying basic, MD5 and HMAC needs. That digest is still password-equivalent for
DM (it computes valid MD5 and HMAC credentials), so an SQLite file is created with
permissions 0600 and must stay private (:meth:`ServerStore.world_readable`).
Session snapshots hold the same digests, never passwords.

Deferred writes: a write method given ``session=`` (the :class:`ServerSession` of
the exchange under way) only buffers its statement; :meth:`ServerStore.commit`
runs the buffer in the transaction that stores the session's new snapshot and
answer, so an exchange is stored whole or not at all — a worker that dies half-way,
or whose lease was taken over, leaves no outcome, nonce or queue change behind.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from dmproto.bindings.claims import Busy, Claimed, Reply
from dmproto.bindings.http import HttpResponse
from dmproto.security import normalize_fingerprint, user_pass_digest
from dmproto.session import ServerSession, SessionState
from dmproto.session import events as ev

from .database import Database, Dialect, Transaction

__all__ = ["ChildOutcome", "PurgeHook", "ServerStore"]

#: ``hook(tx, purged)`` of :meth:`ServerStore.purge`: runs in its transaction.
PurgeHook = Callable[[Transaction, list[tuple[str, tuple[str, str]]]], None]
#: A buffered write: runs inside the transaction of a commit or flush.
_Write = Callable[[Transaction], object]

#: The longest a Busy answer asks the device to wait (seconds).
MAX_RETRY_AFTER = 1.0


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _children(values: Iterable[ChildOutcome]) -> tuple[ChildOutcome, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class ChildOutcome:
    """The outcome of one child command of an Atomic or Sequence (nested groups
    nest again), stored as its own row under the group's."""

    command: str
    code: int | None
    results: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    detail: dict[str, Any] = attrs.field(factory=dict, hash=False)
    children: tuple[ChildOutcome, ...] = attrs.field(default=(), converter=_children)


class _LeaseLost(Exception):
    """Inside a commit: the compare-and-set found another claim (rolls back)."""


class ServerStore:
    """The server application's state in a :class:`Database`; see the module
    documentation.

    ``lease_seconds``: how long a claim holds a session (a worker that died
    blocks it that long at most). ``clock``: wall-clock seconds (several machines
    share the database). ``owner``: a prefix of this store's lease ids (random by
    default), to tell in the database which worker holds a session.
    """

    def __init__(
        self,
        db: Database,
        *,
        lease_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._owner = owner if owner is not None else secrets.token_hex(6)
        # The buffers die with their session object: an exchange whose session
        # is dropped without a commit leaves nothing behind.
        self._pending: weakref.WeakKeyDictionary[ServerSession, list[_Write]] = (
            weakref.WeakKeyDictionary()
        )
        self._pending_lock = threading.Lock()

    # -- deferred writes ---------------------------------------------------------------

    def _write(self, session: ServerSession | None, write: _Write) -> None:
        if session is None:
            with self.db.transaction() as tx:
                write(tx)
            return
        with self._pending_lock:
            self._pending.setdefault(session, []).append(write)

    def _take(self, session: ServerSession) -> list[_Write]:
        with self._pending_lock:
            return self._pending.pop(session, [])

    def later(self, session: ServerSession, sql: str, *args: object) -> None:
        """Run *sql* in the transaction that commits *session*'s exchange."""
        self._write(session, lambda tx: tx.execute(sql, *args))

    def flush(self, session: ServerSession) -> None:
        """Write what is buffered for *session* now (a store used without claims)."""
        writes = self._take(session)
        if writes:
            with self.db.transaction() as tx:
                for write in writes:
                    write(tx)

    def discard(self, session: ServerSession) -> None:
        """Forget what is buffered for *session* (its exchange failed)."""
        self._take(session)

    def pending(self, session: ServerSession) -> int:
        """How many writes are buffered for *session*."""
        with self._pending_lock:
            return len(self._pending.get(session, ()))

    # -- accounts ----------------------------------------------------------------------

    def put_account(self, username: str, password: str) -> None:
        """Create or update an account; only the digest of *password* is written."""
        digest = user_pass_digest(username, password)
        self._write(
            None,
            lambda tx: tx.execute(
                "INSERT INTO accounts (username, md5_digest) VALUES (?, ?) "
                "ON CONFLICT (username) DO UPDATE SET md5_digest = excluded.md5_digest",
                username,
                digest,
            ),
        )

    def md5_digest(self, username: str) -> str | None:
        """The stored ``B64(MD5(username:password))`` of *username*, or None."""
        rows = self.read("SELECT md5_digest FROM accounts WHERE username = ?", username)
        return str(rows[0][0]) if rows else None

    def put_certificate(self, fingerprint: str, username: str) -> None:
        """Let the TLS client certificate with this SHA-256 *fingerprint* (as
        ``PeerCertificate.fingerprint``; colons and upper case accepted) log a device
        in to the account *username*, instead of any other account it named before.

        Raises:
            KeyError: there is no account *username*.
            InvalidValueError: ``tls.fingerprint``: not a SHA-256 fingerprint.
        """
        value = normalize_fingerprint(fingerprint)
        with self.db.transaction() as tx:
            rows = tx.execute(
                "INSERT INTO account_certificates (fingerprint, username) "
                "SELECT ?, username FROM accounts WHERE username = ? "
                "ON CONFLICT (fingerprint) DO UPDATE SET username = excluded.username "
                "RETURNING username",
                value,
                username,
            )
        if not rows:
            raise KeyError(username)

    def certificate_account(self, fingerprint: str) -> str | None:
        """The account a TLS client certificate logs in to (by its SHA-256
        *fingerprint*, as :meth:`put_certificate` takes it), or None.

        Raises:
            InvalidValueError: ``tls.fingerprint``: not a SHA-256 fingerprint.
        """
        rows = self.read(
            "SELECT username FROM account_certificates WHERE fingerprint = ?",
            normalize_fingerprint(fingerprint),
        )
        return str(rows[0][0]) if rows else None

    def world_readable(self) -> bool:
        """Whether group or others may read the SQLite file (False for PostgreSQL)."""
        if self.db.dialect is not Dialect.SQLITE or self.db.path is None:
            return False
        try:
            mode = os.stat(self.db.path).st_mode
        except OSError:
            return False
        return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))

    # -- nonces and devices ------------------------------------------------------------

    def nonce(self, device_id: str, role: ev.NonceRole) -> bytes:
        """The last nonce of *role* for *device_id* (empty when none was kept)."""
        rows = self.read(
            "SELECT nonce FROM nonces WHERE device_id = ? AND role = ?", device_id, role.value
        )
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else b""

    def put_nonce(
        self,
        device_id: str,
        role: ev.NonceRole,
        nonce: bytes,
        *,
        session: ServerSession | None = None,
    ) -> None:
        value = bytes(nonce)
        self._write(
            session,
            lambda tx: tx.execute(
                "INSERT INTO nonces (device_id, role, nonce) VALUES (?, ?, ?) "
                "ON CONFLICT (device_id, role) DO UPDATE SET nonce = excluded.nonce",
                device_id,
                role.value,
                value,
            ),
        )

    def device_seen(
        self,
        device_id: str,
        dev_info: dict[str, str],
        *,
        session: ServerSession | None = None,
    ) -> None:
        """Record that *device_id* connected; an empty *dev_info* keeps the last one."""
        info, now = json.dumps(dev_info, sort_keys=True), self.clock()
        self._write(
            session,
            lambda tx: tx.execute(
                "INSERT INTO devices (device_id, dev_info, first_seen, last_seen) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                "dev_info = CASE WHEN excluded.dev_info = '{}' THEN devices.dev_info "
                "ELSE excluded.dev_info END, last_seen = excluded.last_seen",
                device_id,
                info,
                now,
                now,
            ),
        )

    def devices(self) -> list[dict[str, Any]]:
        """Every device seen, by id: ``device_id``, ``dev_info``, ``first_seen``,
        ``last_seen``."""
        rows = self.read(
            "SELECT device_id, dev_info, first_seen, last_seen FROM devices ORDER BY device_id"
        )
        return [
            {
                "device_id": row[0],
                "dev_info": _json(row[1], {}),
                "first_seen": row[2],
                "last_seen": row[3],
            }
            for row in rows
        ]

    # -- outcomes ----------------------------------------------------------------------

    def put_outcome(
        self,
        device_id: str,
        session_id: str,
        kind: str,
        command: str,
        code: int | None,
        results: Sequence[str],
        detail: dict[str, Any],
        *,
        command_id: int | None = None,
        children: Sequence[ChildOutcome] = (),
        session: ServerSession | None = None,
    ) -> None:
        """Record one outcome (a command's Status and Results, a UI answer, an alert)
        and, for an Atomic or Sequence, one row per child command under it."""
        top = ChildOutcome(
            command=command, code=code, results=results, detail=detail, children=children
        )
        now = self.clock()

        def write(tx: Transaction) -> None:
            _insert_outcome(tx, top, device_id, session_id, kind, command_id, None, None, now)

        self._write(session, write)

    def outcomes(self, device: str | None = None) -> Iterator[dict[str, Any]]:
        """Every recorded outcome (of *device*, when given), oldest first."""
        query = (
            "SELECT id, device_id, session_id, kind, command, code, results, detail, "
            "command_id, parent_id, child_index FROM outcomes"
        )
        args: tuple[object, ...] = ()
        if device is not None:
            query, args = query + " WHERE device_id = ?", (device,)
        for row in self.read(query + " ORDER BY id", *args):
            yield {
                "id": row[0],
                "device_id": row[1],
                "session_id": row[2],
                "kind": row[3] or "status",
                "command": row[4],
                "code": row[5],
                "results": _json(row[6], []),
                "detail": _json(row[7], {}),
                "command_id": row[8],
                "parent_id": row[9],
                "child_index": row[10],
            }

    # -- SessionStore (dmproto.bindings.server): one process, no leases ---------------

    def save(self, token: str, key: tuple[str, str], snapshot: dict[str, Any]) -> None:
        self._write(
            None,
            lambda tx: tx.execute(
                "INSERT INTO sessions (token, session_id, device_id, snapshot) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (token) DO UPDATE SET "
                "session_id = excluded.session_id, device_id = excluded.device_id, "
                "snapshot = excluded.snapshot",
                token,
                key[0],
                key[1],
                json.dumps(snapshot),
            ),
        )

    def load(self, token: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
        rows = self.read(
            "SELECT session_id, device_id, snapshot FROM sessions "
            "WHERE token = ? AND snapshot IS NOT NULL",
            token,
        )
        if not rows:
            return None
        snapshot = _json(rows[0][2], None)
        if not isinstance(snapshot, dict):
            return None
        return (str(rows[0][0]), str(rows[0][1])), snapshot

    def delete(self, token: str) -> None:
        self._write(None, lambda tx: tx.execute("DELETE FROM sessions WHERE token = ?", token))

    # -- SessionClaims (dmproto.bindings.claims) ---------------------------------------

    def claim(self, token: str) -> Claimed | Busy | None:
        """Lease the session with this token; None when there is none (or it
        expired); :class:`Busy` while another claim's lease runs."""
        lease_id = self._lease_id()
        with self.db.transaction() as tx:
            now = self.clock()
            rows = tx.execute(
                "UPDATE sessions SET lease_owner = ?, lease_until = ?, version = version + 1 "
                "WHERE token = ? AND (expires_at IS NULL OR expires_at > ?) "
                "AND (lease_until IS NULL OR lease_until <= ?) "
                "RETURNING session_id, device_id, snapshot, auth_retries, version, "
                "reply_msg_id, reply_digest, reply_status, reply_headers, reply_body",
                lease_id,
                now + self.lease_seconds,
                token,
                now,
                now,
            )
            if not rows:
                held = tx.execute(
                    "SELECT lease_until FROM sessions WHERE token = ? "
                    "AND (expires_at IS NULL OR expires_at > ?)",
                    token,
                    now,
                )
                if not held:
                    return None
                remaining = float(held[0][0] or 0.0) - now
                return Busy(retry_after=min(max(remaining, 0.0), MAX_RETRY_AFTER))
        session_id, device_id, snapshot, auth_retries, version, *reply = rows[0]
        return Claimed(
            token=token,
            key=(str(session_id), str(device_id)),
            snapshot=None if snapshot is None else _snapshot(snapshot),
            reply=_reply(reply),
            auth_retries=None if auth_retries is None else int(auth_retries),
            lease=_lease(int(version), lease_id),
        )

    def find(self, key: tuple[str, str]) -> str | None:
        """The token of the newest unexpired session with this key that has not ended."""
        rows = self.read(
            "SELECT token FROM sessions WHERE session_id = ? AND device_id = ? "
            "AND snapshot IS NOT NULL AND (expires_at IS NULL OR expires_at > ?) "
            "ORDER BY COALESCE(created, 0) DESC, token LIMIT 1",
            key[0],
            key[1],
            self.clock(),
        )
        return str(rows[0][0]) if rows else None

    def create(self, token: str, key: tuple[str, str]) -> Claimed:
        """Register a new session (no snapshot yet) and lease it. It expires with
        its lease unless committed."""
        lease_id = self._lease_id()
        with self.db.transaction() as tx:
            now = self.clock()
            until = now + self.lease_seconds
            tx.execute(
                "INSERT INTO sessions (token, session_id, device_id, lease_owner, lease_until, "
                "expires_at, created, version) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                token,
                key[0],
                key[1],
                lease_id,
                until,
                until,
                now,
            )
        return Claimed(token=token, key=key, snapshot=None, lease=_lease(1, lease_id))

    def commit(
        self,
        claimed: Claimed,
        session: ServerSession,
        reply: Reply,
        *,
        expires_in: float,
        auth_retries: int | None = None,
    ) -> bool:
        """Store the session's snapshot (None once it ended), the reply and the
        writes buffered for *session* in one transaction, and release the lease.
        False — nothing stored, the buffer dropped — when the lease was lost."""
        version, lease_id = _parse_lease(claimed.lease)
        writes = self._take(session)
        snapshot = json.dumps(session.snapshot()) if session.state is SessionState.ACTIVE else None
        response = reply.response
        headers = json.dumps([list(pair) for pair in response.headers])
        try:
            with self.db.transaction() as tx:
                rows = tx.execute(
                    "UPDATE sessions SET snapshot = ?, reply_msg_id = ?, reply_digest = ?, "
                    "reply_status = ?, reply_headers = ?, reply_body = ?, auth_retries = ?, "
                    "expires_at = ?, lease_owner = NULL, lease_until = NULL, "
                    "version = version + 1 "
                    "WHERE token = ? AND lease_owner = ? AND version = ? RETURNING version",
                    snapshot,
                    reply.msg_id,
                    bytes(reply.digest),
                    response.status,
                    headers,
                    bytes(response.body),
                    auth_retries,
                    self.clock() + expires_in,
                    claimed.token,
                    lease_id,
                    version,
                )
                if not rows:
                    raise _LeaseLost
                for write in writes:
                    write(tx)
        except _LeaseLost:
            return False
        return True

    def release(self, claimed: Claimed, session: ServerSession | None = None) -> None:
        """Give the lease back without changing the session (and drop what was
        buffered for *session*, when given: the exchange failed)."""
        if session is not None:
            self.discard(session)
        version, lease_id = _parse_lease(claimed.lease)
        with self.db.transaction() as tx:
            tx.execute(
                "UPDATE sessions SET lease_owner = NULL, lease_until = NULL, "
                "version = version + 1 WHERE token = ? AND lease_owner = ? AND version = ?",
                claimed.token,
                lease_id,
                version,
            )

    #: Run by :meth:`purge` when it is called without a hook (by the endpoint's
    #: housekeeping): the application settles what the purged sessions left.
    purge_hook: PurgeHook | None = None

    def purge(self, hook: PurgeHook | None = None) -> list[tuple[str, tuple[str, str]]]:
        """Delete the expired sessions whose lease is not held; ``(token, key)`` of
        each deleted one that had not ended. ``hook(tx, purged)`` runs in the same
        transaction (to settle what those sessions left unanswered)."""
        with self.db.transaction() as tx:
            now = self.clock()
            rows = tx.execute(
                "DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) "
                "RETURNING token, session_id, device_id, snapshot IS NOT NULL",
                now,
                now,
            )
            purged = sorted((str(t), (str(s), str(d))) for t, s, d, active in rows if active)
            hook = hook or self.purge_hook
            if hook is not None:
                hook(tx, purged)
        return purged

    def close(self) -> None:
        self.db.close()

    # -- helpers -------------------------------------------------------------------------

    def read(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """The rows of one query (``?`` placeholders): a single statement, its own
        transaction (one database round trip)."""
        return self.db.query(sql, *args)

    def _lease_id(self) -> str:
        return f"{self._owner}-{secrets.token_hex(8)}"


def _insert_outcome(
    tx: Transaction,
    outcome: ChildOutcome,
    device_id: str,
    session_id: str,
    kind: str,
    command_id: int | None,
    parent_id: int | None,
    child_index: int | None,
    created: float,
) -> None:
    [(row_id,)] = tx.execute(
        "INSERT INTO outcomes (device_id, session_id, kind, command, code, results, detail, "
        "command_id, parent_id, child_index, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        device_id,
        session_id,
        kind,
        outcome.command,
        outcome.code,
        json.dumps(list(outcome.results)),
        json.dumps(outcome.detail),
        command_id,
        parent_id,
        child_index,
        created,
    )
    for index, child in enumerate(outcome.children):
        _insert_outcome(tx, child, device_id, session_id, kind, None, int(row_id), index, created)


def _lease(version: int, lease_id: str) -> str:
    return f"{version}:{lease_id}"


def _parse_lease(lease: str) -> tuple[int, str]:
    version, _, lease_id = lease.partition(":")
    return int(version), lease_id


def _snapshot(text: object) -> dict[str, Any]:
    """A stored snapshot; one that does not parse comes back empty (restoring it
    fails, as for any unusable snapshot)."""
    value = _json(text, {})
    return value if isinstance(value, dict) else {}


def _reply(row: Sequence[Any]) -> Reply | None:
    msg_id, digest, status, headers, body = row
    if msg_id is None:
        return None
    pairs = [(str(name), str(value)) for name, value in _json(headers, [])]
    return Reply(
        msg_id=int(msg_id),
        digest=bytes(digest or b""),
        response=HttpResponse(status=int(status), headers=pairs, body=bytes(body or b"")),
    )


def _json(text: object, default: Any) -> Any:
    try:
        return json.loads(str(text)) if text is not None else default
    except ValueError:
        return default
