"""``dmproto serve``: a DM server application over the adapters, backed by SQLite.

The application (:class:`ServerApp`) supplies accounts and nonces from the store,
sends the job's packages one after the other, and records every outcome it
receives (see :mod:`.outcomes`). Secrets at rest: see :mod:`dmproto_server.store`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from dmproto_server import ServerStore, StoreError, connect

from ..bindings.http import HttpRequest, HttpResponse, header_value
from ..codec.model import Alert, Command, Item
from ..security import AuthScheme, Credentials
from ..session import Account, ServerConfig, ServerSession
from ..session import events as ev
from ..session.ui import UI_ALERT_CODES
from . import outcomes
from .common import ADAPTERS, SCHEMES, UsageError, add_auth_options, load_adapter, unwrap
from .jobs import load_job
from .summary import describe, outcome_text, summarize
from .trace import Trace, TraceSide

__all__ = ["ServerApp", "ServerLog", "cmd_serve", "register"]

#: ``log(who, text)``: where the application's lines go (a ``Transcript`` or a ``ServerLog``).
LogFn = Callable[[str, str], None]


class ServerLog:
    """The server's log lines: ``text`` (``[server] ...``) or ``json`` (one object a line).

    ``level`` filters like :mod:`logging`: WARNING (``-q``) keeps rejections and
    failed sessions, INFO (default) adds one line per message and per outcome,
    DEBUG (``-v``) adds HTTP header fields and every session event.
    """

    def __init__(self, out: TextIO = sys.stdout, *, level: int = logging.INFO, fmt: str = "text"):
        self._out = out
        self.level = level
        self.fmt = fmt
        self._lock = threading.Lock()

    def emit(self, level: int, who: str, text: str) -> None:
        if level < self.level:
            return
        if self.fmt == "json":
            line = json.dumps(
                {
                    "time": round(time.time(), 3),
                    "level": logging.getLevelName(level).lower(),
                    "who": who,
                    "msg": text,
                }
            )
        else:
            line = f"[{who:>6}] {text}"
        with self._lock:
            print(line, file=self._out, flush=True)

    def __call__(self, who: str, text: str) -> None:
        self.emit(logging.INFO, who, text)

    def messages(self, request: HttpRequest, response: HttpResponse | None, _: object) -> None:
        """``on_message`` observer: one line per message in each direction."""
        if response is None:
            ctype = header_value(request.headers, "content-type")
            self.emit(logging.INFO, "device", "-> " + summarize(request.body, ctype))
            self.emit(
                logging.DEBUG,
                "device",
                f"   {request.method} {request.target} {_headers(request.headers)}",
            )
            return
        if response.status != 200:
            self.emit(logging.WARNING, "server", f"<- HTTP {response.status}")
            return
        ctype = header_value(response.headers, "content-type")
        self.emit(logging.INFO, "server", "<- " + summarize(response.body, ctype))
        self.emit(
            logging.DEBUG, "server", f"   HTTP {response.status} {_headers(response.headers)}"
        )


def _headers(headers: Sequence[tuple[str, str]]) -> str:
    secret = ("authorization", "x-syncml-hmac")
    return "; ".join(f"{k}: {'<redacted>' if k.lower() in secret else v}" for k, v in headers)


def _ui_info(command: Command) -> dict[str, Any] | None:
    if isinstance(command, Alert) and command.code in UI_ALERT_CODES:
        labels = [i.data if isinstance(i.data, str) else "" for i in command.items[2:]]
        text = command.items[1].data if len(command.items) > 1 else ""
        return {"code": command.code, "choices": labels, "text": text}
    return None


class ServerApp:
    """The server tools' application: accounts, nonces, a script of packages, outcomes.

    ``packages`` are sent one after the other to every device, then the session
    finishes. ``accounts(username)`` gives the stored ``B64(MD5(username:password))``
    of a device account (see :class:`~dmproto.security.Credentials`).
    ``server_credentials`` (our SRVCRED) authenticate us to devices.
    """

    def __init__(
        self,
        *,
        scheme: AuthScheme | None,
        packages: Sequence[Sequence[Command]],
        accounts: Callable[[str], str | None],
        log: LogFn,
        server_credentials: Credentials | None = None,
        store: ServerStore | None = None,
        log_outcomes: bool = True,
        level: int = logging.INFO,
    ):
        self.scheme = scheme
        self.packages = packages
        self.accounts = accounts
        self.log = log
        self.level = level
        self.server_credentials = server_credentials
        self.store = store
        self.log_outcomes = log_outcomes
        self.nonces: dict[tuple[str, ev.NonceRole], bytes] = {}
        self._lock = threading.Lock()

    def _say(self, level: int, text: str) -> None:
        if level < self.level:
            return
        emit = getattr(self.log, "emit", None)
        if emit is not None:
            emit(level, "server", text)
        else:
            self.log("server", text)

    def _nonce(self, device: str, role: ev.NonceRole) -> bytes:
        if self.store is not None:
            return self.store.nonce(device, role)
        return self.nonces.get((device, role), b"")

    def __call__(self, session: ServerSession, event: ev.Event) -> None:
        with self._lock:
            self._handle(session, event)

    def _handle(self, session: ServerSession, event: ev.Event) -> None:
        device = session.device_id or "?"
        self._say(logging.DEBUG, f"event {type(event).__name__}")
        if isinstance(event, ev.AccountRequested):
            self._account(session, event)
        elif isinstance(event, ev.DeviceConnected):
            self._say(
                logging.INFO,
                f"device {event.device_id} connected (Alert "
                f"{event.alert_code}, session {event.session_id})",
            )
        elif isinstance(event, ev.PackageCompleted):
            # The session counts our packages (persisted in its snapshot): package n
            # completed means script entry n - 1 is next.
            index = event.package - 1
            if index >= len(self.packages):
                session.end_session()
                return
            for queued in self.packages[index]:
                session.queue(queued)
            session.close_package()
        elif isinstance(event, ev.CommandCompleted):
            self._completed(session, event)
        elif isinstance(event, ev.GenericAlertReceived | ev.ClientEventReceived):
            self._alert(session, event)
        elif isinstance(event, ev.NonceChanged):
            self.nonces[(device, event.role)] = event.nonce
            if self.store is not None:
                self.store.put_nonce(device, event.role, event.nonce)
        elif isinstance(event, ev.PeerAuthenticated):
            self._say(logging.INFO, f"device authenticated ({event.scheme or 'no app-layer auth'})")
        elif isinstance(event, ev.SessionEnded):
            ended = f"session with {device} ended: {event.reason.value} {event.detail}".rstrip()
            ok = event.reason is ev.EndReason.COMPLETED
            self._say(logging.INFO if ok else logging.WARNING, ended)

    def _record(
        self,
        session: ServerSession,
        kind: str,
        command: str,
        code: int | None,
        results: list[str],
        detail: dict[str, Any],
    ) -> None:
        if self.store is not None:
            self.store.put_outcome(
                session.device_id or "?",
                session.session_id or "",
                kind,
                command,
                code,
                results,
                detail,
            )

    def _completed(self, session: ServerSession, event: ev.CommandCompleted) -> None:
        # (the command comes with its outcome, also in a restored session)
        what, ui = describe(event.command), _ui_info(event.command)
        outcome = event.outcome
        detail = outcomes.outcome_detail(outcome)
        results = [str(i.data) for i in outcome.results if isinstance(i.data, str)]
        if ui is not None:
            answer = outcomes.ui_answer(int(ui["code"]), list(ui["choices"]), outcome)
            detail.update(answer=answer, text=ui["text"], choices=ui["choices"])
            line = f"{what} -> {int(outcome.code)} (UI: {outcomes.answer_text(answer)})"
            self._record(session, "ui", what, int(outcome.code), results, detail)
        else:
            line = f"{what} -> {outcome_text(outcome)}"
            self._record(session, "status", what, int(outcome.code), results, detail)
        if self.log_outcomes:
            self._say(logging.INFO, line)

    def _alert(
        self, session: ServerSession, event: ev.GenericAlertReceived | ev.ClientEventReceived
    ) -> None:
        generic = isinstance(event, ev.GenericAlertReceived)
        items: tuple[Item, ...] = event.items
        detail: dict[str, Any] = {"items": outcomes.describe_items(items)}
        if isinstance(event, ev.GenericAlertReceived):
            detail["correlator"] = event.correlator
        kind = "generic-alert" if generic else "client-event"
        what = f"Alert {event.alert.code}"
        self._record(session, kind, what, event.alert.code, [], detail)
        corr = f" correlator {detail['correlator']!r}" if detail.get("correlator") else ""
        self._say(logging.INFO, f"{kind} {what}{corr}: {json.dumps(detail['items'])}")

    def _account(self, session: ServerSession, event: ev.AccountRequested) -> None:
        common: dict[str, Any] = {
            "server_credentials": self.server_credentials,
            "server_nonce": self._nonce(event.device_id, ev.NonceRole.SERVER),
        }
        if self.scheme is None:
            session.supply_account(Account(credentials=None, **common))
            return
        username = event.username  # the device id when nothing named a user
        digest = self.accounts(username)
        if digest is None:
            self._say(logging.WARNING, f"unknown account {username!r}: device rejected")
            session.reject_device()
            return
        session.supply_account(
            Account(
                credentials=Credentials(username=username, md5_digest=digest),
                auth_scheme=self.scheme,
                client_nonce=self._nonce(event.device_id, ev.NonceRole.CLIENT),
                **common,
            )
        )


# -- the command -----------------------------------------------------------------------


class _Stop:
    """SIGTERM turns into the Ctrl-C path every adapter already stops cleanly on."""

    def __init__(self) -> None:
        self.terminated = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.terminated = True
        signal.raise_signal(signal.SIGINT)


def _open_store(path: str) -> ServerStore:
    try:
        store = ServerStore(connect(path))
    except StoreError as exc:
        raise UsageError(f"--db: {exc}") from None
    if store.world_readable():
        print(
            f"dmproto serve: warning: {path} is readable by others; it holds "
            "password-equivalent digests (chmod 600 it)",
            file=sys.stderr,
            flush=True,
        )
    return store


def _run(server: Any, name: str, stop: _Stop) -> None:
    if name == "sync":
        server.serve_forever()
    elif name == "asyncio":
        import asyncio  # loaded only when --adapter asyncio is chosen

        asyncio.run(server.serve_forever())
    else:
        import trio  # optional (dmproto[trio]): only for --adapter trio

        try:
            signum = trio.run(_serve_trio_until_signal, server)
        except BaseException as exc:  # trio wraps errors in groups
            raise unwrap(exc) from None
        # The same ending as the other adapters: KeyboardInterrupt, SIGTERM noted.
        stop.terminated = signum == signal.SIGTERM
        raise KeyboardInterrupt


async def _serve_trio_until_signal(server: Any) -> int:
    """Serve until SIGINT or SIGTERM; the signal that stopped the server.

    trio is told about the signals (``open_signal_receiver``, installed before the
    server listens) instead of meeting a KeyboardInterrupt: one raised inside trio's own
    code, e.g. while a listener task was being started, ended as TrioInternalError.
    """
    import trio

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.serve)
            async for signum in signals:
                nursery.cancel_scope.cancel()
                return int(signum)
    raise AssertionError("the signal receiver ended")  # pragma: no cover - it never ends


def cmd_serve(args: argparse.Namespace) -> int:
    """Run a DM server until Ctrl-C or SIGTERM."""
    if bool(args.client_user) != bool(args.client_password):
        raise UsageError("--client-user and --client-password go together")
    adapter = load_adapter(args.adapter)
    packages = load_job(args.job)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    config = ServerConfig(
        random_bytes=os.urandom,
        server_uri=args.server_id,
        max_msg_size=args.max_msg_size,
        max_obj_size=args.max_obj_size,
    )
    tracer = (
        Trace(Path(args.trace), side=TraceSide.SERVER, show_credentials=args.show_credentials)
        if args.trace
        else None
    )
    store = _open_store(args.db)
    stop = _Stop()
    previous = signal.signal(signal.SIGTERM, stop)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background of a non-interactive shell (`dmproto serve &` in a
        # script), which ignores SIGINT: SIGTERM is turned into SIGINT, so put Python's
        # handler back or SIGTERM would be lost (before the adapter starts: trio only
        # watches SIGINT when it finds this handler).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if args.client_user:
            store.put_account(args.client_user, args.client_password)
        log = ServerLog(level=level, fmt=args.log_format)

        def on_message(request: HttpRequest, response: HttpResponse | None, s: object) -> None:
            log.messages(request, response, s)
            if tracer is not None:
                tracer(request, response)

        server_creds = (
            Credentials.digest_of(args.server_id, args.server_password)
            if args.server_password
            else None
        )
        app = ServerApp(
            scheme=SCHEMES.get(args.auth),
            packages=packages,
            accounts=store.md5_digest,
            log=log,
            level=level,
            server_credentials=server_creds,
            store=store,
        )
        server = adapter.DMServer(
            app,
            config=config,
            host=args.host,
            port=args.port,
            path=args.path,
            on_message=on_message,
            store=store,
        )
        log.emit(
            logging.WARNING,
            "server",
            f"dmproto serve: {args.adapter} adapter on "
            f"http://{args.host}:{args.port}{args.path} (db {args.db}); Ctrl-C stops",
        )
        _run(server, args.adapter, stop)
    except KeyboardInterrupt:
        if not stop.terminated:
            raise
        print("dmproto serve: terminated by SIGTERM, stopped", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        store.close()
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number 1..65535")
    return int(text)


def _size(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of bytes")
    return int(text)


_SERVE_HELP = """\
Secrets at rest: the database keeps, for each --client-user, only
B64(MD5(user:password)) -- enough to verify basic, MD5 and HMAC, never the password.
That digest is still password-equivalent for DM (it computes valid MD5/HMAC
credentials): the file is created with permissions 0600; keep it so. An older
database holding plaintext passwords is converted on open. --server-password is
never stored: the server keeps B64(MD5(server-id:password)) in memory (enough for
MD5/HMAC toward the device), and session snapshots hold only digests.

--job FILE: a JSON list of commands (one package) or a list of lists (several
packages in one session). Commands:
  {"cmd": "Get", "uri": "./DevInfo/Mod"}
  {"cmd": "Add", "uri": "./Vendor/X", "data": "1", "format": "int", "type": "text/plain"}
  {"cmd": "Replace", "items": [{"uri": "./A", "data": "a"}, {"uri": "./B", "data": "b"}]}
  {"cmd": "Delete", "uri": "./Vendor/X"}
  {"cmd": "Copy", "uri": "./Vendor/To", "source": "./Vendor/From"}
  {"cmd": "Exec", "uri": "./Vendor/Update", "data": "go", "correlator": "job-1"}
  {"cmd": "Atomic", "commands": [{"cmd": "Delete", "uri": "./Vendor/A"}]}  (nesting allowed)
  {"cmd": "Sequence", "commands": [{"cmd": "Get", "uri": "./Vendor/B"}]}
  {"cmd": "Alert", "code": 1100, "text": "Updating", "options": {"MINDT": 2, "MAXDT": 9}}
  {"cmd": "Alert", "code": 1101, "text": "Install?", "options": {"MAXDT": 30, "DR": "0"}}
  {"cmd": "Alert", "code": 1102, "text": "PIN?", "options": {"MAXLEN": 4, "IT": "N", "ET": "P"}}
  {"cmd": "Alert", "code": 1103, "text": "Pick", "choices": ["red", "blue"]}
  {"cmd": "Alert", "code": 1104, "text": "Extras", "choices": ["maps", "music"]}
("ui": "Display|Confirm|TextInput|SingleChoice|MultipleChoice" may replace "code".)
UI options: MINDT, MAXDT, MAXLEN (integers), DR (string), IT (A N D T P I), ET (T P).
See docs/cli.md. Outcomes (Status, Results, UI answers, Generic Alerts) are kept in
the database: list them with 'dmproto outcomes --db FILE [--json]'.

Exit status: 130 after Ctrl-C, 0 after SIGTERM (a line on stderr says so), 2 for
bad options, an unusable --db or a port that cannot be bound (one line on stderr).
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``serve`` and ``outcomes``."""
    serve = subparsers.add_parser(
        "serve",
        help="run a DM server (SQLite-backed)",
        epilog=_SERVE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080)
    serve.add_argument("--path", default="/dm")
    add_auth_options(serve)
    serve.add_argument(
        "--client-user",
        help="device account name to create/update (stored as B64(MD5(user:password)))",
    )
    serve.add_argument("--client-password", help="device account password (never stored)")
    serve.add_argument(
        "--db",
        default="dmproto-server.sqlite3",
        help="SQLite file (created 0600; holds password-equivalent digests)",
    )
    serve.add_argument("--job", help="JSON job file (see below)")
    serve.add_argument("--adapter", choices=ADAPTERS, default="sync")
    serve.add_argument(
        "--max-msg-size",
        type=_size,
        default=16 * 1024,
        help="MaxMsgSize we advertise (bytes, default 16384, at least 1024)",
    )
    serve.add_argument(
        "--max-obj-size",
        type=_size,
        default=1024 * 1024,
        help="MaxObjSize we advertise (largest large object accepted)",
    )
    serve.add_argument(
        "--trace", metavar="DIR", help="write every message received and sent into DIR, numbered"
    )
    serve.add_argument(
        "--show-credentials",
        action="store_true",
        help="do not redact Cred Data and HMAC macs in --trace files",
    )
    loud = serve.add_mutually_exclusive_group()
    loud.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also HTTP header fields and every session event",
    )
    loud.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only rejections, failed sessions and HTTP errors",
    )
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text or as JSON objects",
    )
    serve.set_defaults(func=cmd_serve)
    outcomes.register(subparsers)
