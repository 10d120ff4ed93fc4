"""``dmproto notify | demo``: Package 0, a demo (and helpers ``serve`` and ``device`` share).

These tools are an application built on the public API (sessions, tree,
notification, bindings) and the adapters; ``dmproto.cli`` is the only place under
``dmproto/`` that may import adapters, ``sqlite3`` or a clock.

* ``serve`` — a DM server: :mod:`dmproto.cli.server` (``store.py``: its SQLite
  store, ``jobs.py``: its JSON jobs, ``outcomes.py``: what it received).
* ``device`` — a DM client (device): :mod:`dmproto.cli.device`.
* ``notify`` — sends a Package 0 over UDP (WSP push) or HTTP.
* ``demo`` — server and device on loopback, Package 0 over UDP, one session over
  HTTP with MD5: inventory, add/replace/delete, a failing Atomic, a large object
  and an auto-answered UI alert; prints a transcript and exits 0.
"""

from __future__ import annotations

import argparse
import binascii
import os
import sys
import threading
from collections.abc import Sequence
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
from ..session import ClientSession, ServerConfig
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
    "sync": "h11>=0.14",
    "asyncio": "h11>=0.14",
    "trio": "h11>=0.14 trio>=0.25",
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
    return f"msg {message.header.msg_id} ({encoding.value}, {len(body)} B{cred}{final}): " + (
        "; ".join(parts) or "(no commands)"
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


def _item_command(
    kind: type[ItemCommand], uri: str, data: str | None = None, fmt: str | None = None
) -> Command:
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


# -- subcommands ----------------------------------------------------------------------


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
    pkg0 = build_notification(
        server_id=args.server_id,
        password=args.password,
        nonce=_b64(args.nonce),
        session_id=session_id,
    )
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
    node = Add(
        cmd_id=None,
        items=(Item(target=Location(loc_uri="./Vendor/Demo"), meta=Meta(format="node")),),
    )
    big = "".join(f"{i:05d}," for i in range(5000))  # 30 000 characters
    failing_atomic = Atomic(
        cmd_id=None,
        commands=(
            _item_command(Add, "./Vendor/Demo/Temp", "will be rolled back"),
            _item_command(Replace, "./DevInfo/Mod", "not allowed"),
        ),
    )
    return [
        [_item_command(Get, f"./DevInfo/{n}") for n in ("DevId", "Man", "Mod", "DmV")]
        + [_item_command(Get, "./DevDetail/SwV")],
        [
            node,
            _item_command(Add, "./Vendor/Demo/Color", "red"),
            _item_command(Replace, "./Vendor/Demo/Color", "blue"),
            _item_command(Get, "./Vendor/Demo/Color"),
            _item_command(Delete, "./Vendor/Demo/Color"),
            _item_command(Get, "./Vendor/Demo/Color"),
        ],
        [failing_atomic, _item_command(Get, "./Vendor/Demo/Temp")],
        [_item_command(Add, "./Vendor/Demo/Blob", big), _item_command(Get, "./Vendor/Demo/Blob")],
        [ui_alert(AlertCode.CONFIRM_OR_REJECT, "Install the dmproto demo update?")],
    ]


def cmd_demo(args: argparse.Namespace) -> int:
    """Server and device on loopback; Package 0 over UDP; one MD5 session over HTTP."""
    from .device import DeviceApp, _client_config, _device_tree, _run_device_session
    from .server import ServerApp  # server.py imports this module: import at call time

    sync = _adapter("sync")
    watchdog = threading.Timer(args.timeout, _give_up, args=(args.timeout,))
    watchdog.daemon = True
    watchdog.start()
    log = Transcript()
    server_id, dev_id = "dmproto-demo-server", "IMEI:493005100592800"
    user, password, server_password = "demo-device", "device-secret", "server-secret"
    server_nonce = b"demo-server-nonce"
    app = ServerApp(
        scheme=AuthScheme.MD5,
        packages=_demo_packages(),
        accounts={user: user_pass_digest(user, password)}.get,
        log=log,
        log_outcomes=False,
        server_credentials=Credentials(username=server_id, password=server_password),
    )
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
        log(
            "server",
            f"DM server at {server.url}; device listens for Package 0 on "
            f"udp 127.0.0.1:{listener.udp_port}",
        )
        pkg0 = build_notification(
            server_id=server_id, password=server_password, nonce=server_nonce, session_id=0x1D
        )
        log("server", f"-> Package 0 ({len(pkg0)} bytes, WSP push over UDP), session 1D")
        sync.send_push_udp(pkg0, "127.0.0.1", listener.udp_port)
        if not arrived.wait(_IO_TIMEOUT):
            raise OSError("the device did not receive the Package 0")
        notification = pushes[0].notification
        log(
            "device",
            f"Package 0 verified ({pushes[0].nonce_used.value} nonce): server "
            f"{notification.server_id}, session {notification.session_id_text}",
        )
        tree = _device_tree(dev_id, None)
        device = DeviceApp(tree, server_id, log)
        ns = argparse.Namespace(
            server=server.url,
            device_id=dev_id,
            auth="md5",
            user=user,
            password=password,
            server_id=server_id,
            server_password=server_password,
        )
        client = _client_config(ns, tree, max_msg_size=4096, server_nonce=server_nonce)
        session = ClientSession.from_notification(notification, pushes[0].nonce_used, config=client)
        status = _run_device_session(session, device, server.url)
    watchdog.cancel()
    verdict = "completed" if status == 0 else "FAILED"
    log(
        "demo",
        f"session {verdict}; server nonce for next time: "
        f"{encode_nonce(device.nonces.get(ev.NonceRole.SERVER, server_nonce))}",
    )
    return status


def _give_up(seconds: float) -> None:
    print(f"dmproto demo: no result after {seconds:g} s, giving up", file=sys.stderr, flush=True)
    os._exit(2)


# -- registration -----------------------------------------------------------------------


def _common_auth(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server-id", default="dmproto-server", help="the server's ServerID")
    parser.add_argument(
        "--server-password",
        default="",
        help="SRVCRED secret (server authentication and Package 0 digest)",
    )
    parser.add_argument(
        "--auth",
        choices=[*_SCHEMES, "none"],
        default="md5",
        help="client authentication scheme (default md5)",
    )


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``notify`` and ``demo`` (``serve``: :mod:`.server`, ``device``: :mod:`.device`)."""
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
