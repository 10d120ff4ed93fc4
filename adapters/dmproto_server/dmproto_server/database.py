"""The server's database: an SQLite file, or PostgreSQL through psycopg 3.

:func:`connect` opens either (and brings its schema up to date, see
:mod:`.migrations`); the rest of the application speaks one small API to both:

    with db.transaction() as tx:
        rows = tx.execute("SELECT md5_digest FROM accounts WHERE username = ?", name)

A transaction is one real database transaction. SQLite's starts with ``BEGIN
IMMEDIATE`` (it holds the file's write lock until it ends, so the transactions of
every process sharing the file run one after the other); PostgreSQL's runs at READ
COMMITTED, and what must not race is written as a compare-and-set
(``UPDATE ... WHERE ... RETURNING``), which PostgreSQL re-checks after waiting for
a row another transaction locked. One connection per :class:`Database`, used by one
thread at a time (a lock), so the threads of one process take turns.

Secrets: a PostgreSQL URL with a password in it is refused — libpq reads
``PGPASSWORD`` or the password file (``PGPASSFILE``, ``~/.pgpass``) itself — and
no error text carries more of a URL than ``scheme://user@host:port/dbname``.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dmproto.bindings.claims import StoreUnavailable

__all__ = ["Database", "Dialect", "StoreError", "Transaction", "connect"]

#: How long a statement waits for another process's lock on an SQLite file (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: How long opening a PostgreSQL connection may take unless the URL says (s).
PG_CONNECT_TIMEOUT = 10

# (advice, not a password)
_PASSWORD_HINT = "put the password in PGPASSWORD or a password file (PGPASSFILE, ~/.pgpass), not on the command line"  # noqa: E501, S105


class StoreError(Exception):
    """The database cannot be opened, created or migrated (one line of text)."""


class Dialect(str, enum.Enum):
    """Which engine a :class:`Database` talks to."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class Transaction:
    """The statements of one open transaction (see :meth:`Database.transaction`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def dialect(self) -> Dialect:
        return self._db.dialect

    def execute(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) and return its rows (``[]`` if none).

        Raises:
            StoreUnavailable: the database cannot be reached or refused the statement
                for a reason a retry may cure (lock timeout, serialisation, restart).
        """
        return self._db._execute(sql, args)


class Database:
    """One connection to the server's database; see the module documentation.

    ``round_trips`` counts the statements sent (``BEGIN`` and ``COMMIT`` included):
    the scale benchmark reports it per HTTP request.
    """

    dialect: Dialect
    #: The driver's exceptions (what opening and migrating turn into StoreError).
    errors: tuple[type[Exception], ...] = ()
    #: The SQLite file, or None (``:memory:``, PostgreSQL).
    path: str | None = None
    #: What to call the database in messages: the SQLite path, or the PostgreSQL URL
    #: without password or query.
    description: str = ""

    def __init__(self) -> None:
        self.round_trips = 0
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        """One database transaction: committed when the block ends, rolled back
        when it raises (the exception then propagates). ``write=False``: it only
        reads (SQLite then leaves the write lock to others).

        Raises:
            StoreUnavailable: see :meth:`Transaction.execute`.
        """
        with self._lock:
            self._begin(write)
            try:
                yield Transaction(self)
            except BaseException:
                self._rollback()
                raise
            self._statement("COMMIT", ())

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """One statement on its own, outside any explicit transaction (the engine
        runs it as a transaction of its own): one round trip for a single read.

        Raises:
            StoreUnavailable: see :meth:`Transaction.execute`.
        """
        with self._lock:
            return self._execute(sql, args)

    def compact(self) -> None:
        """Rewrite the storage so that deleted rows leave nothing on disk (after
        plaintext passwords were replaced by digests)."""
        with self._lock:
            self._compact()

    def close(self) -> None:
        with self._lock:
            self._close()

    # -- per engine -----------------------------------------------------------------

    def _begin(self, write: bool) -> None:
        self._statement("BEGIN" if write else "BEGIN READ ONLY", ())

    def _rollback(self) -> None:
        with contextlib.suppress(StoreUnavailable):  # gone, and its transaction with it
            self._statement("ROLLBACK", ())

    def _execute(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        return self._statement(sql, args)

    def _statement(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _compact(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class _Sqlite(Database):
    dialect = Dialect.SQLITE
    errors = (sqlite3.Error,)

    def __init__(self, path: str) -> None:
        super().__init__()
        self.description = path
        try:
            if path != ":memory:" and not os.path.exists(path):
                # Created private: the file holds password-equivalent digests.
                # (Another worker starting at the same time may create it first.)
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            self._conn = sqlite3.connect(
                path,
                check_same_thread=False,
                isolation_level=None,
                timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        try:
            # WAL: readers do not wait for the writer (several `serve` workers share
            # the file). Crash safety (docs/reliability.md): FULL syncs at each
            # commit, so a write is durable before the answer that depends on it.
            self._conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            self._wal()
            self._conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot use database {path}: {exc}") from None
        self.path = None if path == ":memory:" else path

    def _wal(self) -> None:
        """Switch a new file to WAL; the switch does not wait for another process
        opening the same new file at the same moment, so it is retried."""
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL").fetchall()
                return  # (":memory:" stays "memory")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _begin(self, write: bool) -> None:
        # Takes the write lock now, so a read-then-write transaction cannot lose a
        # race to another process between its read and its write.
        self._statement("BEGIN IMMEDIATE" if write else "BEGIN", ())

    def _statement(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        self.round_trips += 1
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:  # locked past the timeout, I/O error
            raise StoreUnavailable(f"database: {exc}") from None

    def _compact(self) -> None:
        self._statement("VACUUM", ())
        self._statement("PRAGMA wal_checkpoint(TRUNCATE)", ())  # the WAL held it too

    def _close(self) -> None:
        self._conn.close()


class _Postgres(Database):
    dialect = Dialect.POSTGRESQL

    def __init__(self, url: str, described: str) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise StoreError("PostgreSQL needs psycopg 3 (pip install 'dmproto[server]')") from None
        self._psycopg = psycopg
        self.errors = (psycopg.Error,)
        self._url = url
        self._described = self.description = described
        self._conn: Any = None
        self._sql: dict[str, str] = {}
        try:
            self._connection()
        except StoreUnavailable as exc:
            raise StoreError(str(exc)) from None

    def _connection(self) -> Any:
        """The open connection, opened again when the last one was lost."""
        if self._conn is not None and not self._conn.broken and not self._conn.closed:
            return self._conn
        self._drop()
        conninfo = self._url
        if "connect_timeout" not in urllib.parse.parse_qs(urllib.parse.urlsplit(conninfo).query):
            conninfo = self._psycopg.conninfo.make_conninfo(
                conninfo, connect_timeout=PG_CONNECT_TIMEOUT
            )
        try:
            self._conn = self._psycopg.connect(conninfo, autocommit=True)
        except self._psycopg.Error as exc:
            raise StoreUnavailable(
                f"cannot connect to {self._described}: {_first_line(exc)}"
            ) from None
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(self._psycopg.Error):  # broken: nothing to close
                self._conn.close()
            self._conn = None

    def _statement(self, sql: str, args: tuple[object, ...]) -> list[tuple[Any, ...]]:
        conn = self._connection()
        query = self._sql.get(sql)
        if query is None:
            query = self._sql[sql] = _pyformat(sql)
        self.round_trips += 1
        psycopg = self._psycopg
        try:
            cursor = conn.execute(query, args)
            return list(cursor.fetchall()) if cursor.description is not None else []
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            # Lost connection, server shutting down, serialisation failure, deadlock,
            # lock timeout: the caller may retry; a lost connection is reopened then.
            if conn.broken or conn.closed:
                self._drop()
            raise StoreUnavailable(f"{self._described}: {_first_line(exc)}") from None

    def _compact(self) -> None:
        self._statement("VACUUM FULL", ())

    def _close(self) -> None:
        self._drop()


def _pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled), outside
    quoted text."""
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _postgres_url(target: str) -> str | None:
    """The redacted description of a PostgreSQL URL (or None for a file path).

    Raises:
        StoreError: the URL holds a password.
    """
    parts = urllib.parse.urlsplit(target)
    if parts.scheme not in ("postgresql", "postgres"):
        return None
    query = urllib.parse.parse_qs(parts.query)
    if parts.password is not None or "password" in query:
        raise StoreError(f"a password in the database URL: {_PASSWORD_HINT}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def connect(target: str) -> Database:
    """Open the database at *target* and bring its schema up to date.

    ``postgresql://USER@HOST:PORT/DBNAME`` (or ``postgres://``, with any query
    parameters libpq knows) is PostgreSQL; anything else is the path of an SQLite
    file, created (mode 0600) when missing; ``:memory:`` is a private in-memory one.

    Raises:
        StoreError: it cannot be opened, created or migrated, its schema is newer
            than this version knows, or the URL holds a password.
    """
    from . import migrations  # (it builds on this module's Database)

    described = _postgres_url(target)
    db: Database = _Sqlite(target) if described is None else _Postgres(target, described)
    failures: tuple[type[Exception], ...] = (StoreUnavailable, *db.errors)
    try:
        migrations.migrate(db)
    except failures as exc:
        db.close()
        raise StoreError(f"cannot migrate database {described or target}: {exc}") from None
    except BaseException:
        db.close()
        raise
    return db
