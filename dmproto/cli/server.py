"""``dmproto serve``: a DM server application over the adapters, backed by SQLite."""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..codec.model import Command
from ..security import AuthScheme, Credentials
from ..session import Account, ServerConfig, ServerSession
from ..session import events as ev
from .jobs import load_job
from .store import Store
from .tools import (
    _ADAPTERS,
    _SCHEMES,
    Transcript,
    _adapter,
    _common_auth,
    _describe,
    _outcome_text,
    _unwrap,
)

__all__ = ["ServerApp", "cmd_serve", "register"]


class ServerApp:
    """The server tools' application: accounts, nonces, a script of packages, outcomes.

    ``packages`` are sent one after the other to every device, then the session
    finishes. ``server_credentials`` (our SRVCRED) authenticate us to devices.
    """

    def __init__(self, *, scheme: AuthScheme | None, packages: Sequence[Sequence[Command]],
                 accounts: Callable[[str], str | None], log: Transcript,
                 server_credentials: Credentials | None = None, store: Store | None = None,
                 log_outcomes: bool = True):
        self.scheme = scheme
        self.packages = packages
        self.accounts = accounts
        self.log = log
        self.server_credentials = server_credentials
        self.store = store
        self.log_outcomes = log_outcomes
        self.nonces: dict[tuple[str, ev.NonceRole], bytes] = {}
        self._queued: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()

    def _nonce(self, device: str, role: ev.NonceRole) -> bytes:
        if self.store is not None:
            return self.store.nonce(device, role)
        return self.nonces.get((device, role), b"")

    def __call__(self, session: ServerSession, event: ev.Event) -> None:
        with self._lock:
            self._handle(session, event)

    def _handle(self, session: ServerSession, event: ev.Event) -> None:
        device = session.device_id or "?"
        if isinstance(event, ev.AccountRequested):
            self._account(session, event)
        elif isinstance(event, ev.DeviceConnected):
            self.log("server", f"device {event.device_id} connected (Alert {event.alert_code}, "
                     f"session {event.session_id})")
        elif isinstance(event, ev.PackageCompleted):
            # The session counts our packages (persisted in its snapshot): package n
            # completed means script entry n - 1 is next.
            index = event.package - 1
            if index >= len(self.packages):
                session.finish()
                return
            for queued in self.packages[index]:
                self._remember(session, session.queue(queued), _describe(queued))
            session.send_package()
        elif isinstance(event, ev.CommandCompleted):
            what = self._recall(session, event.handle)
            if self.log_outcomes:
                self.log("server", f"{what} -> {_outcome_text(event.outcome)}")
            if self.store is not None:
                self.store.put_outcome(device, what, event.outcome)
        elif isinstance(event, ev.NonceChanged):
            self.nonces[(device, event.role)] = event.nonce
            if self.store is not None:
                self.store.put_nonce(device, event.role, event.nonce)
        elif isinstance(event, ev.PeerAuthenticated):
            self.log("server", f"device authenticated ({event.scheme or 'no app-layer auth'})")
        elif isinstance(event, ev.SessionEnded):
            ended = f"session with {device} ended: {event.reason.value} {event.detail}"
            self.log("server", ended.rstrip())

    def _remember(self, session: ServerSession, handle: int, what: str) -> None:
        key = f"{session.device_id}/{session.session_id}"
        if self.store is not None:  # a restarted server still knows what it queued
            self.store.put_queued(key, handle, what)
        else:
            self._queued[(key, handle)] = what

    def _recall(self, session: ServerSession, handle: int) -> str:
        key = f"{session.device_id}/{session.session_id}"
        if self.store is not None:
            found = self.store.pop_queued(key, handle)
        else:
            found = self._queued.pop((key, handle), None)
        return found or f"#{handle}"

    def _account(self, session: ServerSession, event: ev.AccountRequested) -> None:
        server = self.server_credentials
        common: dict[str, Any] = {
            "server_credentials": server,
            "server_nonce": self._nonce(event.device_id, ev.NonceRole.SERVER),
        }
        if self.scheme is None:
            session.supply_account(Account(credentials=None, **common))
            return
        username = event.username  # the device id when nothing named a user
        password = self.accounts(username)
        if password is None:
            self.log("server", f"unknown account {username!r}: device rejected")
            session.reject_device()
            return
        session.supply_account(Account(
            credentials=Credentials(username=username, password=password),
            auth_scheme=self.scheme,
            client_nonce=self._nonce(event.device_id, ev.NonceRole.CLIENT),
            **common,
        ))


def cmd_serve(args: argparse.Namespace) -> int:
    """Run a DM server until Ctrl-C."""
    adapter = _adapter(args.adapter)
    job = load_job(args.job)
    store = Store(args.db)
    if args.client_user and args.client_password:
        store.put_account(args.client_user, args.client_password)
    log = Transcript()
    app = ServerApp(
        scheme=_SCHEMES.get(args.auth), packages=[job], accounts=store.password, log=log,
        server_credentials=Credentials(username=args.server_id, password=args.server_password)
        if args.server_password else None,
        store=store,
    )

    config = ServerConfig(random_bytes=os.urandom, server_uri=args.server_id)
    options = {"config": config, "host": args.host, "port": args.port, "path": args.path,
               "on_message": log.messages, "store": store}
    server = adapter.DMServer(app, **options)
    print(f"dmproto serve: {args.adapter} adapter on http://{args.host}:{args.port}{args.path} "
          f"(db {args.db}); Ctrl-C stops", flush=True)
    try:
        if args.adapter == "sync":
            server.serve_forever()
        elif args.adapter == "asyncio":
            import asyncio

            asyncio.run(server.serve_forever())
        else:
            import trio

            try:
                trio.run(server.serve)
            except BaseException as exc:  # trio wraps Ctrl-C and errors in groups
                raise _unwrap(exc) from None
    finally:
        store.close()
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``serve``."""
    serve = subparsers.add_parser("serve", help="run a DM server (SQLite-backed)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--path", default="/dm")
    _common_auth(serve)
    serve.add_argument("--client-user", help="device account name to create/update")
    serve.add_argument("--client-password", help="device account password")
    serve.add_argument("--db", default="dmproto-server.sqlite3", help="SQLite file")
    serve.add_argument("--job", help="JSON list of commands run on each device")
    serve.add_argument("--adapter", choices=_ADAPTERS, default="sync")
    serve.set_defaults(func=cmd_serve)
