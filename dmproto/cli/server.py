"""``dmproto serve``: the DM server application of :mod:`dmproto_server` over an
adapter, on SQLite or PostgreSQL, in one or several worker processes.

The application (:class:`dmproto_server.app.ServerApp`) supplies accounts and nonces
from the database, sends each device its queued commands (``dmproto queue``) or the
``--job`` script, and records every outcome. Sessions live in the database, claimed
for one request at a time (``ServerEndpoint(claims=...)``), so any worker answers any
message (docs/scaling.md). Secrets at rest: see :mod:`dmproto_server.store`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import ssl
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from dmproto_server import ServerStore, StoreError, connect
from dmproto_server.app import ServerApp
from dmproto_server.jobs import JobError, load_job
from dmproto_server.workers import supervise

from ..bindings.http import HttpRequest, HttpResponse, header_value
from ..security import Credentials
from ..session import ServerConfig
from . import outcomes, queue_cmds, tls
from .common import ADAPTERS, SCHEMES, UsageError, add_auth_options, load_adapter, unwrap
from .summary import summarize
from .trace import Trace, TraceSide

__all__ = ["ServerLog", "cmd_serve", "register"]


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


# -- the command -----------------------------------------------------------------------


class _Stop:
    """SIGTERM turns into the Ctrl-C path every adapter already stops cleanly on."""

    def __init__(self) -> None:
        self.terminated = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.terminated = True
        signal.raise_signal(signal.SIGINT)


def _open_store(target: str, lease_seconds: float) -> ServerStore:
    try:
        store = ServerStore(connect(target), lease_seconds=lease_seconds)
    except StoreError as exc:
        raise UsageError(f"--db: {exc}") from None
    if store.world_readable():
        print(
            f"dmproto serve: warning: {target} is readable by others; it holds "
            "password-equivalent digests (chmod 600 it)",
            file=sys.stderr,
            flush=True,
        )
    return store


def _worker_argv(argv: Sequence[str]) -> list[str]:
    """One worker's command line: ours without ``--workers``, listening with
    ``--reuse-port`` beside its siblings."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return [sys.executable, "-m", "dmproto", *out, "--reuse-port"]


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
    """Run a DM server until Ctrl-C or SIGTERM (``--workers N``: N processes)."""
    if bool(args.client_user) != bool(args.client_password):
        raise UsageError("--client-user and --client-password go together")
    tls.check_tls_options(args)
    adapter = load_adapter(args.adapter)
    try:
        script = load_job(args.job)
    except JobError as exc:
        raise UsageError(str(exc)) from None
    # Unusable TLS files are usage errors before a database or a worker exists.
    context = tls.server_context(args)
    fingerprint = (
        tls.certificate_fingerprint(args.client_certificate) if args.client_certificate else None
    )
    store = _open_store(args.db, args.lease_seconds)  # migrated once, before any worker
    try:
        if args.client_user:
            store.put_account(args.client_user, args.client_password)
        if fingerprint is not None:
            store.put_certificate(fingerprint, args.client_user)
        if args.workers > 1:
            store.close()
            return supervise(
                _worker_argv(args.argv),
                args.workers,
                say=lambda text: print(f"dmproto serve: {text}", file=sys.stderr, flush=True),
            )
        return _serve(args, adapter, script, store, context)
    finally:
        store.close()


def _serve(
    args: argparse.Namespace,
    adapter: Any,
    script: Any,
    store: ServerStore,
    context: ssl.SSLContext | None,
) -> int:
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    config = ServerConfig(
        random_bytes=os.urandom,
        server_uri=args.server_id,
        max_msg_size=args.max_msg_size,
        max_obj_size=args.max_obj_size,
        inactivity_timeout=args.inactivity_timeout,
    )
    tracer = (
        Trace(Path(args.trace), side=TraceSide.SERVER, show_credentials=args.show_credentials)
        if args.trace
        else None
    )
    stop = _Stop()
    previous = signal.signal(signal.SIGTERM, stop)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background of a non-interactive shell (`dmproto serve &` in a
        # script), which ignores SIGINT: SIGTERM is turned into SIGINT, so put Python's
        # handler back or SIGTERM would be lost (before the adapter starts: trio only
        # watches SIGINT when it finds this handler).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
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
            store=store,
            scheme=SCHEMES.get(args.auth),
            script=script,
            log=lambda level, text: log.emit(level, "server", text),
            server_credentials=server_creds,
        )
        server = adapter.DMServer(
            app,
            config=config,
            host=args.host,
            port=args.port,
            path=args.path,
            public_url=args.public_url,
            ssl_context=context,
            on_message=on_message,
            claims=store,
            # Session deadlines travel in the shared snapshots: a wall clock, the
            # same in every worker (and machine) sharing the database.
            clock=time.time,
            reuse_port=args.reuse_port,
        )
        log.emit(
            logging.WARNING,
            "server",
            f"dmproto serve: {args.adapter} adapter on {server.url} "
            f"(db {store.db.description}{_certificates(args)}); Ctrl-C stops",
        )
        _run(server, args.adapter, stop)
    except KeyboardInterrupt:
        if not stop.terminated:
            raise
        print("dmproto serve: terminated by SIGTERM, stopped", file=sys.stderr, flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _certificates(args: argparse.Namespace) -> str:
    """What the start line says of device certificates."""
    if not args.client_ca:
        return ""
    return f"; device certificates {'required' if args.require_client_certificate else 'asked'}"


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number 1..65535")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers 1..64")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    return value


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

TLS: --tls-cert/--tls-key serve HTTPS; --client-ca asks devices for a client
certificate (--require-client-certificate: no handshake without one);
--client-certificate FILE lets a device presenting that certificate log in to the
--client-user account without any Cred (Windows devices do). A certificate that
does not chain to --client-ca, or is expired, fails the handshake.

Fleets: a device with jobs queued for it ('dmproto queue add', docs/queue.md) gets
them; a device with nothing queued gets the --job script. Sessions are kept in the
database and claimed per request, so --workers N processes on one port, or several
serve processes on other ports or machines sharing one PostgreSQL database (behind
any HTTP load balancer; give --public-url), answer any message (docs/scaling.md).

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
    """Add ``serve``, ``outcomes`` and ``queue``."""
    serve = subparsers.add_parser(
        "serve",
        help="run a DM server (SQLite or PostgreSQL)",
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
        help="SQLite file (created 0600; holds password-equivalent digests) or "
        "postgresql://USER@HOST:PORT/DBNAME (the password from PGPASSWORD or a "
        "password file, never on the command line)",
    )
    serve.add_argument("--job", help="JSON job file for devices with nothing queued (see below)")
    serve.add_argument(
        "--workers",
        type=_count,
        default=1,
        help="worker processes listening on the one port (default 1; docs/scaling.md)",
    )
    serve.add_argument(
        "--reuse-port",
        action="store_true",
        help="listen with SO_REUSEPORT, beside other serve processes on the same port",
    )
    serve.add_argument(
        "--lease-seconds",
        type=_seconds,
        default=30.0,
        help="how long a worker holds a session for one request; a dead worker's "
        "sessions continue after this (default 30)",
    )
    serve.add_argument(
        "--inactivity-timeout",
        type=_seconds,
        default=300.0,
        help="seconds after which a silent device's session is abandoned (default 300)",
    )
    serve.add_argument(
        "--public-url",
        help="base URL devices reach us at (behind a load balancer), for RespURIs",
    )
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
    tls.add_tls_options(serve)
    serve.set_defaults(func=cmd_serve)
    outcomes.register(subparsers)
    queue_cmds.register(subparsers)
