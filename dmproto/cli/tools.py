"""``dmproto serve | notify | demo``: a DM server, Package 0, a demo (and shared helpers).

These tools are an application built on the public API (sessions, tree,
notification, bindings) and the adapters; ``dmproto.cli`` is the only place under
``dmproto/`` that may import adapters, ``sqlite3`` or a clock.

* ``serve`` — a DM server; accounts, nonces, session snapshots and every command's
  outcome persist in SQLite (``--db``), so nonces survive restarts. Default job: an
  inventory of DevInfo and DevDetail; ``--job FILE`` runs a JSON list of commands
  (``{"cmd": "Get|Add|Replace|Delete|Exec", "uri": "./X", "data": "...",
  "format": "chr"}``, or ``{"cmd": "Alert", "ui": "Display|Confirm|TextInput|
  SingleChoice|MultipleChoice", "text": "...", "choices": ["..."]}``)
  on each device. One log line per message.
* ``device`` — a DM client (device): :mod:`dmproto.cli.device`.
* ``notify`` — sends a Package 0 over UDP (WSP push) or HTTP.
* ``demo`` — server and device on loopback, Package 0 over UDP, one session over
  HTTP with MD5: inventory, add/replace/delete, a failing Atomic, a large object
  and an auto-answered UI alert; prints a transcript and exits 0.
"""

from __future__ import annotations

import argparse
import binascii
import json
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO, cast

from ..bindings.http import HttpRequest, HttpResponse, encoding_of, header_value
from ..bindings.push import PushAccepted, ServerSecret, parse_push_target
from ..codec import decode_message
from ..codec.model import (
    Add,
    Alert,
    Atomic,
    Command,
    Delete,
    Exec,
    Get,
    Item,
    ItemCommand,
    Location,
    Meta,
    Replace,
    Results,
    Status,
)
from ..codes import AlertCode
from ..errors import DMError, InvalidValueError
from ..notification import build_notification, session_id_from_text
from ..outcome import CommandOutcome
from ..security import AuthScheme, Credentials, decode_nonce, encode_nonce
from ..session import Account, ClientSession, ServerConfig, ServerSession
from ..session import events as ev
from ..session.ui import ui_alert

__all__ = ["register"]

_SCHEMES = {"md5": AuthScheme.MD5, "basic": AuthScheme.BASIC, "hmac": AuthScheme.HMAC}
_ADAPTERS = ("sync", "asyncio", "trio")
#: Every network wait of the tools is bounded (seconds).
_IO_TIMEOUT = 10.0


def _usage(message: str) -> Exception:
    from .main import UsageError  # main imports this module: import at call time

    return UsageError(message)


#: What each adapter needs beyond dmproto's own dependencies (the ``dmproto[NAME]``
#: extras of pyproject.toml say the same).
_ADAPTER_REQUIREMENTS = {
    "sync": "h11>=0.14", "asyncio": "h11>=0.14", "trio": "h11>=0.14 trio>=0.25"
}


def _adapter(name: str) -> Any:
    package = f"dmproto_{name}"
    try:
        return __import__(package)
    except ImportError as exc:
        if exc.name == package:  # a copy of dmproto/ without the adapters beside it
            hint = f"install dmproto from its checkout: pip install '.[{name}]'"
        else:  # the adapter is there, a library it needs (h11, trio) is not
            wanted = " ".join(f"'{r}'" for r in _ADAPTER_REQUIREMENTS[name].split())
            hint = f"pip install {wanted}"
        raise _usage(f"adapter {name!r} is not usable, {exc.name} is missing ({hint})") from None


# -- readable one-line summaries ----------------------------------------------------


def _target(command: object) -> str:
    items = getattr(command, "items", ())
    for item in items:
        loc = item.target or item.source
        if loc is not None:
            more = f" +{len(items) - 1}" if len(items) > 1 else ""
            return f" {loc.loc_uri}{more}"
    return ""


def _describe(command: object) -> str:
    if isinstance(command, Status):
        return f"Status({command.cmd}#{command.cmd_ref}={command.code})"
    if isinstance(command, Results):
        return f"Results(for #{command.cmd_ref}{_target(command)})"
    if isinstance(command, Alert):
        return f"Alert {command.code}"
    if isinstance(command, Atomic):
        return "Atomic[" + ", ".join(_describe(c) for c in command.commands) + "]"
    name = getattr(command, "name", type(command).__name__)
    more = " (MoreData)" if any(i.more_data for i in getattr(command, "items", ())) else ""
    return f"{name}{_target(command)}{more}"


def summarize(body: bytes, media_type: str | None) -> str:
    """One line describing a DM message: MsgID, size, commands, Final."""
    try:
        encoding = encoding_of(media_type, body)
        message = decode_message(body, encoding=encoding)
    except DMError as exc:
        return f"{len(body)} bytes, not a DM message ({exc.reason})"
    parts = [_describe(c) for c in message.commands]
    final = ", Final" if message.final else ""
    cred = " Cred" if message.header.cred is not None else ""
    return (
        f"msg {message.header.msg_id} ({encoding.value}, {len(body)} B{cred}{final}): "
        + ("; ".join(parts) or "(no commands)")
    )


class Transcript:
    """Prints transcript lines (thread-safe)."""

    def __init__(self, out: TextIO = sys.stdout):
        self._out = out
        self._lock = threading.Lock()

    def __call__(self, who: str, text: str) -> None:
        with self._lock:
            print(f"[{who:>6}] {text}", file=self._out, flush=True)

    def messages(self, request: HttpRequest, response: HttpResponse | None, _: object) -> None:
        """``on_message`` observer: one line per message in each direction."""
        if response is None:
            ctype = header_value(request.headers, "content-type")
            self("device", "-> " + summarize(request.body, ctype))
            return
        if response.status != 200:
            self("server", f"<- HTTP {response.status}")
            return
        ctype = header_value(response.headers, "content-type")
        self("server", "<- " + summarize(response.body, ctype))


# -- commands from JSON -------------------------------------------------------------

_COMMANDS: dict[str, type[ItemCommand]] = {
    "Get": Get,
    "Add": Add,
    "Replace": Replace,
    "Delete": Delete,
    "Exec": Exec,
}


def _item_command(kind: type[ItemCommand], uri: str, data: str | None = None,
                  fmt: str | None = None) -> Command:
    meta = Meta(format=fmt) if fmt else None
    item = Item(target=Location(loc_uri=uri), meta=meta, data=data)
    return cast("Command", kind(cmd_id=None, items=(item,)))


#: UI alerts a job may send (OMA-TS-DM_Protocol-V1_2_1 §10).
_UI_ALERTS = {"Display": AlertCode.DISPLAY, "Confirm": AlertCode.CONFIRM_OR_REJECT,
              "TextInput": AlertCode.TEXT_INPUT, "SingleChoice": AlertCode.SINGLE_CHOICE,
              "MultipleChoice": AlertCode.MULTIPLE_CHOICE}


def _ui_alert_from_json(obj: dict[str, Any]) -> Command:
    kind, text, choices = obj.get("ui"), obj.get("text"), obj.get("choices", [])
    if kind not in _UI_ALERTS or not isinstance(text, str):
        raise InvalidValueError("job.command", f"an Alert has 'ui': one of {sorted(_UI_ALERTS)} "
                                "and a 'text' string")
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise InvalidValueError("job.command", "'choices' must be a list of strings")
    return ui_alert(_UI_ALERTS[kind], text, choices=tuple(choices))


def command_from_json(obj: object) -> Command:
    """``{"cmd": "Replace", "uri": "./X", "data": "v", "format": "chr"}`` as a command;
    ``{"cmd": "Alert", "ui": "Confirm", "text": "Go?", "choices": [...]}`` as a UI alert."""
    if isinstance(obj, dict) and obj.get("cmd") == "Alert":
        return _ui_alert_from_json(obj)
    if not isinstance(obj, dict) or obj.get("cmd") not in _COMMANDS:
        names = sorted([*_COMMANDS, "Alert"])
        raise InvalidValueError("job.command", f"expected {{'cmd': one of {names}}}")
    uri, data, fmt = obj.get("uri"), obj.get("data"), obj.get("format")
    if not isinstance(uri, str) or not isinstance(data, str | None):
        raise InvalidValueError("job.command", "'uri' must be a string, 'data' a string")
    if not isinstance(fmt, str | None):
        raise InvalidValueError("job.command", "'format' must be a string")
    return _item_command(_COMMANDS[obj["cmd"]], uri, data, fmt)


def _load_job(path: str | None) -> list[Command]:
    if path is None:
        leaves = ("DevId", "Man", "Mod", "DmV", "Lang")
        details = ("DevTyp", "OEM", "FwV", "SwV", "HwV", "LrgObj")
        return [_item_command(Get, f"./DevInfo/{n}") for n in leaves] + [
            _item_command(Get, f"./DevDetail/{n}") for n in details
        ]
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _usage(f"cannot read job file {path}: {exc}") from None
    if not isinstance(doc, list) or not doc:
        raise _usage("a job file holds a non-empty JSON list of commands")
    return [command_from_json(entry) for entry in doc]


# -- the server application ----------------------------------------------------------


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

    def put_outcome(self, device_id: str, command: str, outcome: CommandOutcome) -> None:
        results = [str(i.data) for i in outcome.results if isinstance(i.data, str)]
        self._run("INSERT INTO outcomes (device_id, command, code, results) VALUES (?, ?, ?, ?)",
                  device_id, command, int(outcome.code), json.dumps(results))

    def close(self) -> None:
        with self._lock:
            self._db.close()


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
                session.end_session()
                return
            for queued in self.packages[index]:
                session.queue(queued)
            session.close_package()
        elif isinstance(event, ev.CommandCompleted):
            # (the command comes with its outcome, also in a restored session)
            what = _describe(event.command)
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


def _outcome_text(outcome: CommandOutcome) -> str:
    text = str(int(outcome.code))
    for item in outcome.results[:1]:
        data = item.data
        if isinstance(data, str):
            text += f" {data[:40]!r}" + (f" ({len(data)} chars)" if len(data) > 40 else "")
    if outcome.children:
        text += " [" + ", ".join(_outcome_text(c) for c in outcome.children) + "]"
    return text


# -- subcommands ----------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    """Run a DM server until Ctrl-C."""
    adapter = _adapter(args.adapter)
    job = _load_job(args.job)
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


def _unwrap(exc: BaseException) -> BaseException:
    """The one error inside (nested) exception groups; Ctrl-C wins."""
    inner: Sequence[BaseException] = getattr(exc, "exceptions", ())
    if isinstance(exc, KeyboardInterrupt) or not inner:
        return exc
    found = [_unwrap(e) for e in inner]
    interrupt = [e for e in found if isinstance(e, KeyboardInterrupt)]
    return interrupt[0] if interrupt else found[0]


def _b64(text: str | None) -> bytes:
    if not text:
        return b""
    try:
        return decode_nonce(text)
    except (DMError, binascii.Error, ValueError):
        raise _usage("--nonce must be base64") from None


def cmd_notify(args: argparse.Namespace) -> int:
    """Send one Package 0."""
    sync = _adapter("sync")
    session_id = session_id_from_text(args.session_id)
    pkg0 = build_notification(server_id=args.server_id, password=args.password,
                              nonce=_b64(args.nonce), session_id=session_id)
    if args.http:
        sync.send_push_http(args.http, pkg0, timeout=_IO_TIMEOUT)
        print(f"Package 0 ({len(pkg0)} bytes) POSTed to {args.http}")
        return 0
    if not args.to:
        raise _usage("give --to HOST[:PORT] or --http URL")
    host, port = parse_push_target(args.to)
    sync.send_push_udp(pkg0, host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"Package 0 ({len(pkg0)} bytes) sent as WSP push to udp {shown}:{port}")
    return 0


def _demo_packages() -> list[list[Command]]:
    node = Add(cmd_id=None, items=(Item(target=Location(loc_uri="./Vendor/Demo"),
                                        meta=Meta(format="node")),))
    big = "".join(f"{i:05d}," for i in range(5000))  # 30 000 characters
    failing_atomic = Atomic(cmd_id=None, commands=(
        _item_command(Add, "./Vendor/Demo/Temp", "will be rolled back"),
        _item_command(Replace, "./DevInfo/Mod", "not allowed"),
    ))
    return [
        [_item_command(Get, f"./DevInfo/{n}") for n in ("DevId", "Man", "Mod", "DmV")]
        + [_item_command(Get, "./DevDetail/SwV")],
        [node, _item_command(Add, "./Vendor/Demo/Color", "red"),
         _item_command(Replace, "./Vendor/Demo/Color", "blue"),
         _item_command(Get, "./Vendor/Demo/Color"),
         _item_command(Delete, "./Vendor/Demo/Color"),
         _item_command(Get, "./Vendor/Demo/Color")],
        [failing_atomic, _item_command(Get, "./Vendor/Demo/Temp")],
        [_item_command(Add, "./Vendor/Demo/Blob", big), _item_command(Get, "./Vendor/Demo/Blob")],
        [ui_alert(AlertCode.CONFIRM_OR_REJECT, "Install the dmproto demo update?")],
    ]


def cmd_demo(args: argparse.Namespace) -> int:
    """Server and device on loopback; Package 0 over UDP; one MD5 session over HTTP."""
    from .device import DeviceApp, _client_config, _device_tree, _run_device_session

    sync = _adapter("sync")
    watchdog = threading.Timer(args.timeout, _give_up, args=(args.timeout,))
    watchdog.daemon = True
    watchdog.start()
    log = Transcript()
    server_id, dev_id = "dmproto-demo-server", "IMEI:493005100592800"
    user, password, server_password = "demo-device", "device-secret", "server-secret"
    server_nonce = b"demo-server-nonce"
    app = ServerApp(scheme=AuthScheme.MD5, packages=_demo_packages(),
                    accounts={user: password}.get, log=log, log_outcomes=False,
                    server_credentials=Credentials(username=server_id, password=server_password))
    app.nonces[(dev_id, ev.NonceRole.SERVER)] = server_nonce
    config = ServerConfig(random_bytes=os.urandom, server_uri=server_id, max_msg_size=8192)
    pushes: list[PushAccepted] = []
    arrived = threading.Event()

    def on_push(accepted: PushAccepted) -> None:
        pushes.append(accepted)
        arrived.set()

    secret = ServerSecret(password=server_password, nonce=server_nonce)
    server = sync.DMServer(app, config=config, on_message=log.messages, timeout=_IO_TIMEOUT)
    with server, sync.PushListener({server_id: secret}.get, on_push) as listener:
        log("server", f"DM server at {server.url}; device listens for Package 0 on "
            f"udp 127.0.0.1:{listener.udp_port}")
        pkg0 = build_notification(server_id=server_id, password=server_password,
                                  nonce=server_nonce, session_id=0x1D)
        log("server", f"-> Package 0 ({len(pkg0)} bytes, WSP push over UDP), session 1D")
        sync.send_push_udp(pkg0, "127.0.0.1", listener.udp_port)
        if not arrived.wait(_IO_TIMEOUT):
            raise OSError("the device did not receive the Package 0")
        notification = pushes[0].notification
        log("device", f"Package 0 verified ({pushes[0].nonce_used.value} nonce): server "
            f"{notification.server_id}, session {notification.session_id_text}")
        tree = _device_tree(dev_id, None)
        device = DeviceApp(tree, server_id, log)
        ns = argparse.Namespace(server=server.url, device_id=dev_id, auth="md5", user=user,
                                password=password, server_id=server_id,
                                server_password=server_password)
        client = _client_config(ns, tree, max_msg_size=4096, server_nonce=server_nonce)
        session = ClientSession.from_notification(notification, pushes[0].nonce_used,
                                                  config=client)
        status = _run_device_session(session, device, server.url)
    watchdog.cancel()
    verdict = "completed" if status == 0 else "FAILED"
    log("demo", f"session {verdict}; server nonce for next time: "
        f"{encode_nonce(device.nonces.get(ev.NonceRole.SERVER, server_nonce))}")
    return status


def _give_up(seconds: float) -> None:
    print(f"dmproto demo: no result after {seconds:g} s, giving up", file=sys.stderr, flush=True)
    os._exit(2)


# -- registration -----------------------------------------------------------------------


def _common_auth(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server-id", default="dmproto-server", help="the server's ServerID")
    parser.add_argument("--server-password", default="",
                        help="SRVCRED secret (server authentication and Package 0 digest)")
    parser.add_argument("--auth", choices=[*_SCHEMES, "none"], default="md5",
                        help="client authentication scheme (default md5)")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``serve``, ``notify`` and ``demo`` (``device`` is in :mod:`.device`)."""
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

    notify = subparsers.add_parser("notify", help="send a Package 0 (server-initiated session)")
    notify.add_argument("--to", help="device HOST[:PORT] (UDP, default port 2948)")
    notify.add_argument("--http", help="device push URL (HTTP POST instead of UDP)")
    notify.add_argument("--server-id", required=True)
    notify.add_argument("--password", required=True, help="SRVCRED secret")
    notify.add_argument("--nonce", default="", help="server nonce, base64")
    notify.add_argument("--session-id", required=True, help="session id, 1-4 hex digits")
    notify.set_defaults(func=cmd_notify)

    demo = subparsers.add_parser("demo", help="server + device on loopback, one full session")
    demo.add_argument("--timeout", type=float, default=60.0, help="overall limit in seconds")
    demo.set_defaults(func=cmd_demo)


