"""The per-device command queue of ``dmproto serve`` (see ``docs/queue.md``).

``dmproto queue add`` stores a job — the packages of a ``--job`` file — as one row
per top-level command, ``pending``. When the device connects, the application takes
the next package of its oldest job (:meth:`CommandQueue.take_package`), queues each
command in the session and marks its row ``sent`` with the session's token and the
session's handle for it; the DM CmdID is assigned by the session as the message is
built. The row stays ``sent`` until the device's Status for it is stored (soft
acknowledgement): then ``answered`` (Status below 300) or ``failed``.

* **Retries.** A command answered with a Status of 500 or more (the device could not
  do it now, OMA-TS-DM_RepPro-V1_2_1 §4.2 "Status codes": 500 command failed, 503
  service unavailable, 510 data store failure...) goes back to ``pending`` and is sent
  again, at most the job's ``max_retries`` times; a Status in the 400s says the
  command itself is wrong there (404 not found, 405 not allowed, 418 already
  exists...) and fails at once. Retries count against this delivery — this queued
  row — only: queuing the same job again starts a new delivery with its own count.
* **Sessions that died.** A command sent in a session that ended without its Status
  (aborted, timed out, abandoned by the device, or superseded by the device's next
  session) is sent again in the next session when that is safe — Get, Replace (the
  same value set twice leaves the tree as once), or an Atomic/Sequence of only those —
  without counting a retry; any other command (Add, Delete, Copy, Exec, a UI alert)
  may have been executed, so it is marked ``unknown`` and not sent again.
* **Poison.** A row whose command cannot be read back or cannot be sent (malformed
  JSON, a command the session refuses) fails alone, with the reason in ``error``;
  the rest of the device's queue goes on.

Every write goes through the store's deferred writes: it is committed together with
the session's snapshot and answer, so a worker that dies mid-exchange leaves the
queue as the session last committed it.
"""

from __future__ import annotations

import enum
import json
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from dmproto.codec.model import Alert, Atomic, Command, Get, Replace
from dmproto.codec.model import Sequence as SequenceCommand
from dmproto.errors import DMError
from dmproto.session import ServerSession
from dmproto.session import events as ev

from .database import Transaction
from .jobs import command_from_json
from .store import ServerStore

__all__ = ["CommandQueue", "Queued", "State", "safe_to_resend", "session_token"]


class State(str, enum.Enum):
    """Where a queued command is."""

    PENDING = "pending"
    SENT = "sent"
    ANSWERED = "answered"
    FAILED = "failed"
    UNKNOWN = "unknown"


#: Commands whose second execution changes nothing the first did not (docs/queue.md).
_IDEMPOTENT = (Get, Replace)
#: Status codes from which a retry may succeed (OMA-TS-DM_RepPro-V1_2_1 §4.2).
_RETRY_FROM = 500


def safe_to_resend(command: Command) -> bool:
    """Whether *command* may be sent again after a session died without its Status."""
    if isinstance(command, Atomic | SequenceCommand):
        return all(safe_to_resend(child) for child in command.commands)
    return isinstance(command, _IDEMPOTENT)


def session_token(session: ServerSession) -> str:
    """The session's routing token (the ``s`` parameter of its RespURI)."""
    uri = session.config.resp_uri or ""
    for part in uri.partition("?")[2].split("&"):
        name, _, value = part.partition("=")
        if name == "s":
            return value
    return ""


@attrs.frozen(kw_only=True)
class Queued:
    """A queued command taken for a package: its row id and the command."""

    row: int
    command: Command


@attrs.define
class _Exchange:
    """What this exchange changed, not yet visible in the database (deferred)."""

    states: dict[int, State] = attrs.field(factory=dict)
    #: handle -> row of the commands this session sent (in this exchange, and once
    #: ``loaded``, in the earlier ones too).
    handles: dict[int, int] = attrs.field(factory=dict)
    loaded: bool = False


class CommandQueue:
    """The queue's rules over a :class:`~dmproto_server.store.ServerStore`."""

    def __init__(self, store: ServerStore):
        self.store = store
        self._exchanges: weakref.WeakKeyDictionary[ServerSession, _Exchange] = (
            weakref.WeakKeyDictionary()
        )

    # -- queuing ------------------------------------------------------------------------

    def add(
        self, device_id: str, packages: Sequence[Sequence[dict[str, Any]]], *, max_retries: int = 2
    ) -> int:
        """Queue a job (its packages of command objects, as in a ``--job`` file) for
        *device_id*; the job id. The caller checked the commands
        (:func:`~dmproto_server.jobs.packages_from_json`)."""
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        now = self.store.clock()
        with self.store.db.transaction() as tx:
            (job,) = tx.execute(
                "INSERT INTO jobs (device_id, created, max_retries) VALUES (?, ?, ?) RETURNING id",
                device_id,
                now,
                max_retries,
            )
            for index, package in enumerate(packages):
                for position, command in enumerate(package):
                    tx.execute(
                        "INSERT INTO commands (job_id, device_id, package_index, position, "
                        "command, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        job[0],
                        device_id,
                        index,
                        position,
                        json.dumps(command, sort_keys=True),
                        State.PENDING.value,
                        now,
                    )
        return int(job[0])

    # -- sending ------------------------------------------------------------------------

    def _exchange(self, session: ServerSession) -> _Exchange:
        return self._exchanges.setdefault(session, _Exchange())

    def _set(
        self, session: ServerSession, row: int, state: State, sql: str = "", *args: object
    ) -> None:
        """Change a row's state (deferred), with more ``SET`` assignments in *sql*."""
        self._exchange(session).states[row] = state
        self.store.later(
            session,
            # (*sql* is one of this module's constant fragments)
            f"UPDATE commands SET state = ?, updated_at = ?{sql} WHERE id = ?",  # noqa: S608
            state.value,
            self.store.clock(),
            *args,
            row,
        )

    def take_package(self, session: ServerSession) -> list[Queued]:
        """The next package for the session's device: the pending commands of its
        oldest job's first unfinished package (empty when nothing is queued).

        Commands left ``sent`` by an earlier session of the device are settled first
        (that session is over: a device runs one session at a time), and rows that
        cannot be read back fail alone.
        """
        token = session_token(session)
        changes = self._exchange(session).states
        rows = self.store.read(
            "SELECT id, job_id, package_index, command, state, token FROM commands "
            "WHERE device_id = ? AND state IN (?, ?) ORDER BY job_id, package_index, position, id",
            session.device_id or "",
            State.PENDING.value,
            State.SENT.value,
        )
        group: tuple[int, int] | None = None
        taken: list[Queued] = []
        for row, job, package, text, state, sent_token in rows:
            row = int(row)
            current = changes.get(row, State(state))
            if current is State.SENT and sent_token != token:
                current = self._settle(session, row, text)
            if current is not State.PENDING:
                continue
            if group is not None and group != (job, package):
                break
            command = self._read(session, row, text)
            if command is not None:
                group = (job, package)
                taken.append(Queued(row=row, command=command))
        return taken

    def _read(self, session: ServerSession, row: int, text: object) -> Command | None:
        """The row's command, or None after failing the row (poison)."""
        try:
            return command_from_json(json.loads(str(text)))
        except (ValueError, DMError) as exc:
            self.failed_to_send(session, row, f"unreadable command: {exc}")
            return None

    def _settle(self, session: ServerSession, row: int, text: object) -> State:
        """A command sent in a session that died unanswered: pending again if safe."""
        state = _after_dead_session(text)
        self._set(session, row, state, ", token = NULL, handle = NULL")
        return state

    def sent(self, session: ServerSession, row: int, handle: int) -> None:
        """The row's command was queued in *session* under *handle*."""
        self._exchange(session).handles[handle] = row
        self._set(
            session,
            row,
            State.SENT,
            ", token = ?, session_id = ?, handle = ?, sent_at = ?",
            session_token(session),
            session.session_id,
            str(handle),
            self.store.clock(),
        )

    def failed_to_send(self, session: ServerSession, row: int, error: str) -> None:
        """The row cannot be sent at all: it fails alone."""
        self._set(session, row, State.FAILED, ", error = ?", error[:500])

    # -- answers ------------------------------------------------------------------------

    def _row_of(self, session: ServerSession, handle: int) -> int | None:
        exchange = self._exchange(session)
        if not exchange.loaded:
            # One query per exchange: the rows this session sent in earlier ones.
            exchange.loaded = True
            for row, sent in self.store.read(
                "SELECT id, handle FROM commands WHERE token = ? AND handle IS NOT NULL",
                session_token(session),
            ):
                exchange.handles.setdefault(int(sent), int(row))
        return exchange.handles.get(handle)

    def answered(self, session: ServerSession, event: ev.CommandCompleted) -> int | None:
        """The device's Status for a command: the row it answers (None when the
        command did not come from the queue), now ``answered``, ``failed`` or
        ``pending`` again (a retry)."""
        row = self._row_of(session, event.handle)
        if row is None:
            return None
        code = int(event.outcome.code)
        # A UI alert's 304 is the user's "no" to a Confirm (OMA-TS-DM_RepPro-V1_2_1
        # §4.2, UI alerts): an answer like any other.
        answered_below = 400 if isinstance(event.command, Alert) else 300
        if code < answered_below:
            self._set(session, row, State.ANSWERED, ", code = ?", code)
            return row
        attempts, max_retries = self.store.read(
            "SELECT c.attempts, j.max_retries FROM commands c JOIN jobs j ON j.id = c.job_id "
            "WHERE c.id = ?",
            row,
        )[0]
        if code >= _RETRY_FROM and int(attempts) < int(max_retries):
            self._set(
                session,
                row,
                State.PENDING,
                ", code = ?, attempts = attempts + 1, token = NULL, handle = NULL",
                code,
            )
        else:
            self._set(session, row, State.FAILED, ", code = ?", code)
        return row

    def ended(self, session: ServerSession, event: ev.SessionEnded) -> None:
        """The session ended: settle the commands it sent and never got a Status for."""
        for handle in event.unanswered:
            row = self._row_of(session, handle)
            if row is not None:
                (text,) = self.store.read("SELECT command FROM commands WHERE id = ?", row)[0]
                self._settle(session, row, text)

    def served(self, session: ServerSession) -> bool:
        """Whether *session* has sent queued commands (it serves the queue)."""
        self._row_of(session, -1)  # loads what the session sent before
        return bool(self._exchange(session).handles)

    def settle_purged(self, tx: Transaction, purged: Iterable[tuple[str, tuple[str, str]]]) -> None:
        """The store's purge hook: commands of abandoned sessions, resent or unknown."""
        now = self.store.clock()
        for token, _ in purged:
            for row, text in tx.execute(
                "SELECT id, command FROM commands WHERE token = ? AND state = ?",
                token,
                State.SENT.value,
            ):
                tx.execute(
                    "UPDATE commands SET state = ?, updated_at = ?, token = NULL, handle = NULL "
                    "WHERE id = ?",
                    _after_dead_session(text).value,
                    now,
                    row,
                )

    # -- reading ------------------------------------------------------------------------

    def rows(
        self, *, device: str | None = None, states: Iterable[State] = tuple(State)
    ) -> list[dict[str, Any]]:
        """The queued commands (of *device*), oldest job first, as JSON objects."""
        wanted = [s.value for s in states]
        marks = ", ".join("?" for _ in wanted)
        query = (
            "SELECT c.id, c.job_id, c.device_id, c.package_index, c.position, c.command, "  # noqa: S608 (only placeholders formatted in)
            "c.state, c.attempts, j.max_retries, c.session_id, c.handle, c.sent_at, "
            "c.updated_at, c.code, c.error FROM commands c JOIN jobs j ON j.id = c.job_id "
            f"WHERE c.state IN ({marks})"
        )
        args: list[object] = list(wanted)
        if device is not None:
            query += " AND c.device_id = ?"
            args.append(device)
        names = [
            "id",
            "job",
            "device_id",
            "package",
            "position",
            "command",
            "state",
            "attempts",
            "max_retries",
            "session_id",
            "handle",
            "sent_at",
            "updated_at",
            "code",
            "error",
        ]
        out = []
        for values in self.store.read(query + " ORDER BY c.job_id, c.id", *args):
            row = dict(zip(names, values, strict=True))
            row["command"] = _json(row["command"])
            out.append(row)
        return out


def _after_dead_session(text: object) -> State:
    """Where a command sent in a session that died unanswered goes: pending again when
    it is safe to resend, else unknown (a row that does not read back is not safe)."""
    try:
        safe = safe_to_resend(command_from_json(json.loads(str(text))))
    except (ValueError, DMError):
        safe = False
    return State.PENDING if safe else State.UNKNOWN


def _json(text: object) -> Any:
    try:
        return json.loads(str(text))
    except ValueError:
        return str(text)
