"""``dmproto demo``: server and device on loopback, one full session, a transcript.

Package 0 over UDP, then one session over HTTP with MD5: inventory,
add/replace/delete, a failing Atomic, a large object and an auto-answered UI
alert; prints a transcript and exits 0. The server is ``dmproto serve``'s
application (:class:`dmproto_server.app.ServerApp`, on an in-memory database), the
device :class:`.device.DeviceApp`, both over the blocking adapter.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Any

from dmproto_server import ServerStore, connect
from dmproto_server.app import ServerApp
from dmproto_server.jobs import item_command

from ..bindings.push import PushAccepted, ServerSecret
from ..codec.model import Add, Atomic, Command, Delete, Get, Item, Location, Meta, Replace
from ..codes import AlertCode
from ..notification import build_notification
from ..security import AuthScheme, Credentials, NonceRole, encode_nonce
from ..session import ClientSession, ServerConfig
from ..session.ui import ui_alert
from .common import IO_TIMEOUT, load_adapter
from .device import DeviceApp, _client_config, _device_tree, _run_device_session
from .summary import Transcript

__all__ = ["cmd_demo", "register"]


def _demo_packages() -> list[list[Command]]:
    node = Add(
        cmd_id=None,
        items=(Item(target=Location(loc_uri="./Vendor/Demo"), meta=Meta(format="node")),),
    )
    big = "".join(f"{i:05d}," for i in range(5000))  # 30 000 characters
    failing_atomic = Atomic(
        cmd_id=None,
        commands=(
            item_command(Add, "./Vendor/Demo/Temp", "will be rolled back"),
            item_command(Replace, "./DevInfo/Mod", "not allowed"),
        ),
    )
    return [
        [item_command(Get, f"./DevInfo/{n}") for n in ("DevId", "Man", "Mod", "DmV")]
        + [item_command(Get, "./DevDetail/SwV")],
        [
            node,
            item_command(Add, "./Vendor/Demo/Color", "red"),
            item_command(Replace, "./Vendor/Demo/Color", "blue"),
            item_command(Get, "./Vendor/Demo/Color"),
            item_command(Delete, "./Vendor/Demo/Color"),
            item_command(Get, "./Vendor/Demo/Color"),
        ],
        [failing_atomic, item_command(Get, "./Vendor/Demo/Temp")],
        [item_command(Add, "./Vendor/Demo/Blob", big), item_command(Get, "./Vendor/Demo/Blob")],
        [ui_alert(AlertCode.CONFIRM_OR_REJECT, "Install the dmproto demo update?")],
    ]


def cmd_demo(args: argparse.Namespace) -> int:
    """Server and device on loopback; Package 0 over UDP; one MD5 session over HTTP."""
    sync = load_adapter("sync")
    watchdog = threading.Timer(args.timeout, _give_up, args=(args.timeout,))
    watchdog.daemon = True
    watchdog.start()
    log = Transcript()
    server_id, dev_id = "dmproto-demo-server", "IMEI:493005100592800"
    user, password, server_password = "demo-device", "device-secret", "server-secret"
    server_nonce = b"demo-server-nonce"
    store = ServerStore(connect(":memory:"))
    store.put_account(user, password)
    store.put_nonce(dev_id, NonceRole.SERVER, server_nonce)
    app = ServerApp(
        store=store,
        scheme=AuthScheme.MD5,
        script=_demo_packages(),
        log=lambda level, text: log("server", text),
        log_outcomes=False,
        server_credentials=Credentials(username=server_id, password=server_password),
    )
    config = ServerConfig(random_bytes=os.urandom, server_uri=server_id, max_msg_size=8192)
    pushes: list[PushAccepted] = []
    arrived = threading.Event()

    def on_push(accepted: PushAccepted) -> None:
        pushes.append(accepted)
        arrived.set()

    secret = ServerSecret(password=server_password, nonce=server_nonce)
    server = sync.DMServer(
        app, config=config, on_message=log.messages, timeout=IO_TIMEOUT, claims=store
    )
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
        if not arrived.wait(IO_TIMEOUT):
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
        f"{encode_nonce(device.nonces.get(NonceRole.SERVER, server_nonce))}",
    )
    return status


def _give_up(seconds: float) -> None:
    print(f"dmproto demo: no result after {seconds:g} s, giving up", file=sys.stderr, flush=True)
    os._exit(2)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``demo``."""
    demo = subparsers.add_parser("demo", help="server + device on loopback, one full session")
    demo.add_argument("--timeout", type=float, default=60.0, help="overall limit in seconds")
    demo.set_defaults(func=cmd_demo)
