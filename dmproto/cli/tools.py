"""``dmproto serve | device | notify | demo``: a DM server, a DM device, Package 0, a demo.

These tools are an application built on the public API (sessions, tree,
notification, bindings) and the adapters; ``dmproto.cli`` is the only place under
``dmproto/`` that may import adapters, ``sqlite3`` or a clock.

* ``serve`` — a DM server: see :mod:`dmproto.cli.server` (``store.py``: its SQLite
  store, ``jobs.py``: its JSON jobs).
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
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO, cast

from ..bindings.http import HttpRequest, HttpResponse, encoding_of, header_value
from ..bindings.push import PushAccepted, ServerSecret
from ..codec import decode_message
from ..codec.model import (
    Add,
    Alert,
    Atomic,
    Command,
    Delete,
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
from ..errors import DMError
from ..notification import build_notification, session_id_from_text
from ..outcome import CommandOutcome
from ..security import AuthScheme, Credentials, decode_nonce, encode_nonce, user_pass_digest
from ..session import ClientConfig, ClientSession, ServerConfig
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


def _adapter(name: str) -> Any:
    try:
        return __import__(f"dmproto_{name}")
    except ImportError:
        hint = f"pip install -e adapters/dmproto_{name}"
        raise _usage(f"adapter {name!r} is not installed ({hint})") from None


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


# -- commands ---------------------------------------------------------------------

def _item_command(kind: type[ItemCommand], uri: str, data: str | None = None,
                  fmt: str | None = None) -> Command:
    meta = Meta(format=fmt) if fmt else None
    item = Item(target=Location(loc_uri=uri), meta=meta, data=data)
    return cast("Command", kind(cmd_id=None, items=(item,)))



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
    host, _, port = args.to.rpartition(":") if ":" in args.to else (args.to, "", "2948")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise _usage("--to port must be 1..65535")
    sync.send_push_udp(pkg0, host.strip("[]"), int(port))
    print(f"Package 0 ({len(pkg0)} bytes) sent as WSP push to udp {host}:{port}")
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
    from .server import ServerApp  # server.py imports this module: import at call time

    app = ServerApp(scheme=AuthScheme.MD5, packages=_demo_packages(),
                    accounts={user: user_pass_digest(user, password)}.get, log=log,
                    log_outcomes=False,
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
    """Add ``device``, ``notify`` and ``demo`` (``serve`` is in :mod:`.server`)."""
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


