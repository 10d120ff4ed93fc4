"""``dmproto serve | device | notify | demo``: a DM server, a DM device, Package 0, a demo.

These tools are an application built on the public API (sessions, tree,
notification, bindings) and the adapters; ``dmproto.cli`` is the only place under
``dmproto/`` that may import adapters, ``sqlite3`` or a clock.

* ``serve`` — a DM server; accounts, nonces, session snapshots and every command's
  outcome persist in SQLite (``--db``), so nonces survive restarts. Default job: an
  inventory of DevInfo and DevDetail; ``--job FILE`` runs a JSON list of commands
  (``{"cmd": "Get|Add|Replace|Delete|Exec", "uri": "./X", "data": "...",
  "format": "chr"}``) on each device. One log line per message.
* ``device`` — a DM client with an in-memory (or ``--tree`` JSON-file) tree that
  connects once (client-initiated) or listens for Package 0 (``--listen-udp``).
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
from ..session import Account, ClientConfig, ClientSession, ServerConfig, ServerSession
from ..session import events as ev
from ..session.ui import choice_outcome, confirm_outcome, text_input_outcome, ui_alert
from ..tree import ManagementTree, Node, NodeFormat
from ..tree.executor import execute_command
from ..tree.stdobj import DeviceInfo, build_device_tree, devinfo_items

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


def command_from_json(obj: object) -> Command:
    """``{"cmd": "Replace", "uri": "./X", "data": "v", "format": "chr"}`` as a command."""
    if not isinstance(obj, dict) or obj.get("cmd") not in _COMMANDS:
        raise InvalidValueError("job.command", f"expected {{'cmd': one of {sorted(_COMMANDS)}}}")
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


def _outcome_text(outcome: CommandOutcome) -> str:
    text = str(int(outcome.code))
    for item in outcome.results[:1]:
        data = item.data
        if isinstance(data, str):
            text += f" {data[:40]!r}" + (f" ({len(data)} chars)" if len(data) > 40 else "")
    if outcome.children:
        text += " [" + ", ".join(_outcome_text(c) for c in outcome.children) + "]"
    return text


# -- the device application ------------------------------------------------------------


class DeviceApp:
    """Executes server commands against a tree, answers UI alerts automatically."""

    def __init__(self, tree: ManagementTree, server_id: str, log: Transcript):
        self.tree = tree
        self.server_id = server_id
        self.log = log
        self.nonces: dict[ev.NonceRole, bytes] = {}
        self.ended: ev.SessionEnded | None = None

    def _ui(self, alert: Alert) -> CommandOutcome:
        text = next((i.data for i in alert.items[1:2] if isinstance(i.data, str)), "")
        if alert.code == AlertCode.CONFIRM_OR_REJECT:
            outcome, answer = confirm_outcome(True), "Yes"
        elif alert.code == AlertCode.TEXT_INPUT:
            outcome, answer = text_input_outcome("42"), "'42'"
        elif alert.code in (AlertCode.SINGLE_CHOICE, AlertCode.MULTIPLE_CHOICE):
            outcome, answer = choice_outcome((1,)), "choice 1"
        else:
            outcome, answer = CommandOutcome(code=200), "OK"
        self.log("device", f"UI alert {alert.code} {text!r} auto-answered {answer}")
        return outcome

    def __call__(self, session: ClientSession, event: ev.Event) -> None:
        if isinstance(event, ev.CommandReceived):
            outcome = self.tree.execute(event.command, server_id=self.server_id, ui=self._ui)
            self.log("device", f"{_describe(event.command)} -> {_outcome_text(outcome)}")
            session.respond(event.handle, outcome)
        elif isinstance(event, ev.NonceChanged):
            self.nonces[event.role] = event.nonce
        elif isinstance(event, ev.PeerAuthenticated):
            self.log("device", f"server authenticated ({event.scheme or 'transport only'})")
        elif isinstance(event, ev.SessionEnded):
            self.ended = event
            self.log("device", f"session ended: {event.reason.value} {event.detail}".rstrip())


def _device_tree(dev_id: str, tree_file: str | None) -> ManagementTree:
    tree = build_device_tree(DeviceInfo(dev_id=dev_id, man="dmproto", mod="Demo Phone",
                                        sw_v="0.1.0", lrg_obj=True))
    tree.add_node(("Vendor",), Node(name="Vendor", format=NodeFormat.NODE))
    tree.set_acl("./Vendor", "Add=*&Get=*&Replace=*&Delete=*&Exec=*")
    if tree_file and Path(tree_file).exists():
        try:
            values = json.loads(Path(tree_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise _usage(f"cannot read tree file {tree_file}: {exc}") from None
        if not isinstance(values, dict):
            raise _usage("a tree file holds a JSON object {uri: value}")
        for uri, value in values.items():
            outcome = execute_command(tree, _item_command(Add, str(uri), str(value)),
                                      server_id=None)
            if outcome.code >= 300:
                raise _usage(f"tree file: cannot add {uri} ({outcome.code})")
    return tree


def _save_tree(tree: ManagementTree, tree_file: str) -> None:
    values = {}
    for path in tree.paths():
        node = tree.node(path)
        if path and path[0] == "Vendor" and node is not None and not node.is_interior:
            value = tree.read_value(path)
            if isinstance(value, str):
                values["./" + "/".join(path)] = value
    Path(tree_file).write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")


def _client_config(args: argparse.Namespace, tree: ManagementTree, **extra: Any) -> ClientConfig:
    scheme = _SCHEMES.get(args.auth)
    return ClientConfig(
        random_bytes=os.urandom,
        server_uri=args.server,
        device_id=args.device_id,
        dev_info=devinfo_items(tree),
        credentials=None if scheme is None else Credentials(username=args.user,
                                                             password=args.password),
        auth_scheme=scheme,
        server_credentials=(Credentials(username=args.server_id, password=args.server_password)
                            if args.server_password else None),
        **extra,
    )


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


def _run_device_session(session: ClientSession, app: DeviceApp, url: str) -> int:
    sync = _adapter("sync")
    sync.run_client_session(session, app, server_url=url, timeout=_IO_TIMEOUT)
    ok = app.ended is None or app.ended.reason is ev.EndReason.COMPLETED
    return 0 if ok else 1


def cmd_device(args: argparse.Namespace) -> int:
    """Connect once, or listen for Package 0 and run one session per push."""
    log = Transcript()
    tree = _device_tree(args.device_id, args.tree)
    app = DeviceApp(tree, args.server_id, log)
    try:
        if args.listen_udp is None:
            return _run_device_session(ClientSession(_client_config(args, tree)), app, args.server)
        sync = _adapter("sync")
        secret = ServerSecret(password=args.server_password or "", nonce=_b64(args.nonce))
        pushes: list[PushAccepted] = []
        arrived = threading.Event()

        def on_push(accepted: PushAccepted) -> None:
            pushes.append(accepted)
            arrived.set()

        lookup = {args.server_id: secret}.get
        with sync.PushListener(lookup, on_push, host=args.host, udp_port=args.listen_udp,
                               http_port=args.listen_http) as listener:
            where = f"udp {args.host}:{listener.udp_port}"
            if listener.http_url:
                where += f" and {listener.http_url}"
            log("device", f"listening for Package 0 on {where}")
            status = 0
            for _ in range(args.count):
                while not arrived.wait(0.5):
                    pass
                arrived.clear()
                accepted = pushes.pop(0)
                log("device", f"Package 0 from {accepted.notification.server_id} "
                    f"(session {accepted.notification.session_id_text})")
                session = ClientSession.from_notification(
                    accepted.notification, accepted.nonce_used, config=_client_config(args, tree))
                status |= _run_device_session(session, app, args.server)
            return status
    finally:
        if args.tree:
            _save_tree(tree, args.tree)


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
    """Add ``serve``, ``device``, ``notify`` and ``demo``."""
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

    device = subparsers.add_parser("device", help="run a DM client (device)")
    device.add_argument("--server", required=True, help="DM server URL")
    device.add_argument("--device-id", default="IMEI:000000000000000")
    device.add_argument("--user", default="device", help="client username")
    device.add_argument("--password", default="", help="client password")
    _common_auth(device)
    device.add_argument("--nonce", help="stored server nonce (base64) to verify Package 0")
    device.add_argument("--tree", help="JSON file {uri: value} loaded at start, saved at exit")
    device.add_argument("--listen-udp", type=int, metavar="PORT",
                        help="wait for Package 0 on this UDP port instead of connecting")
    device.add_argument("--listen-http", type=int, metavar="PORT",
                        help="also accept Package 0 as HTTP POST on this port")
    device.add_argument("--host", default="127.0.0.1", help="address to listen on")
    device.add_argument("--count", type=int, default=1, help="sessions to run when listening")
    device.set_defaults(func=cmd_device)

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


