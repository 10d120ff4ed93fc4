"""``dmproto device``: a DM client (device) with its own management tree.

It connects once (client-initiated) or listens for Package 0 (``--listen-udp``)
and runs one session per verified push, executing what the server sends against
an in-memory (or ``--tree`` JSON-file) tree.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any

from ..bindings.push import PushAccepted, ServerSecret
from ..codec.model import Add, Alert
from ..codes import AlertCode
from ..outcome import CommandOutcome
from ..security import Credentials
from ..session import ClientConfig, ClientSession
from ..session import events as ev
from ..session.ui import choice_outcome, confirm_outcome, text_input_outcome
from ..tree import ManagementTree, Node, NodeFormat
from ..tree.executor import execute_command
from ..tree.stdobj import DeviceInfo, build_device_tree, devinfo_items
from .tools import (
    _IO_TIMEOUT,
    _SCHEMES,
    Transcript,
    _adapter,
    _b64,
    _common_auth,
    _describe,
    _item_command,
    _outcome_text,
    _usage,
)

__all__ = ["DeviceApp", "register"]


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


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``device``."""
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
