"""``dmproto notify``: send one Package 0 (server-initiated session) to a device.

Over UDP as a WSP push (OMA-TS-DM_Notification-V1_2_1 §6.3; default port 2948) or as
an HTTP POST to a device's push URL, through the blocking adapter.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..bindings.push import parse_push_target
from ..notification import build_notification, session_id_from_text
from .common import IO_TIMEOUT, UsageError, load_adapter, nonce_option

__all__ = ["cmd_notify", "register"]


def cmd_notify(args: argparse.Namespace) -> int:
    """Send one Package 0."""
    sync = load_adapter("sync")
    session_id = session_id_from_text(args.session_id)
    pkg0 = build_notification(
        server_id=args.server_id,
        password=args.password,
        nonce=nonce_option(args.nonce),
        session_id=session_id,
    )
    if args.http:
        sync.send_push_http(args.http, pkg0, timeout=IO_TIMEOUT)
        print(f"Package 0 ({len(pkg0)} bytes) POSTed to {args.http}")
        return 0
    if not args.to:
        raise UsageError("give --to HOST[:PORT] or --http URL")
    host, port = parse_push_target(args.to)
    sync.send_push_udp(pkg0, host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"Package 0 ({len(pkg0)} bytes) sent as WSP push to udp {shown}:{port}")
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``notify``."""
    notify = subparsers.add_parser("notify", help="send a Package 0 (server-initiated session)")
    notify.add_argument("--to", help="device HOST[:PORT] (UDP, default port 2948)")
    notify.add_argument("--http", help="device push URL (HTTP POST instead of UDP)")
    notify.add_argument("--server-id", required=True)
    notify.add_argument("--password", required=True, help="SRVCRED secret")
    notify.add_argument("--nonce", default="", help="server nonce, base64")
    notify.add_argument("--session-id", required=True, help="session id, 1-4 hex digits")
    notify.set_defaults(func=cmd_notify)
