"""``dmproto queue add | list | results``: the per-device command queue of ``serve``.

``add`` queues a job (the ``--job`` format of ``serve``) for one device in the
server's database and, with ``--notify``, wakes the device with a Package 0
(OMA-TS-DM_Notification-V1_2_1: over UDP as a WSP push, or an HTTP POST to a push
URL). ``list`` shows the queued commands and where each is (pending, sent, answered,
failed, unknown); ``results`` shows the finished ones with their outcomes (Status,
Results, UI answers, each child of an Atomic or Sequence). See ``docs/queue.md``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from dmproto_server import ServerStore, StoreError, connect
from dmproto_server.jobs import JobError, packages_from_json
from dmproto_server.queue import CommandQueue, State

from ..bindings.push import parse_push_target
from ..notification import build_notification
from ..session import events as ev
from .common import IO_TIMEOUT, UsageError, load_adapter

__all__ = ["register"]

_FINISHED = (State.ANSWERED, State.FAILED, State.UNKNOWN)


def _open(target: str) -> ServerStore:
    try:
        return ServerStore(connect(target))
    except StoreError as exc:
        raise UsageError(f"--db: {exc}") from None


def _notify(args: argparse.Namespace, store: ServerStore) -> str:
    """Send the device a Package 0; what was done, for the user."""
    if not args.server_password:
        raise UsageError("--notify needs --server-password (the Package 0 digest)")
    # OMA-TS-DM_Notification-V1_2_1 §6.2: the digest uses the server nonce the device
    # keeps for this server (the one our sessions hand it).
    nonce = store.nonce(args.device, ev.NonceRole.SERVER)
    session_id = int.from_bytes(os.urandom(2), "big")
    pkg0 = build_notification(
        server_id=args.server_id, password=args.server_password, nonce=nonce, session_id=session_id
    )
    sync = load_adapter("sync")
    target = args.notify
    if target.startswith(("http://", "https://")):
        sync.send_push_http(target, pkg0, timeout=IO_TIMEOUT)
        return f"Package 0 ({len(pkg0)} bytes, session {session_id:04X}) POSTed to {target}"
    host, port = parse_push_target(target.removeprefix("udp://"))
    sync.send_push_udp(pkg0, host, port)
    return f"Package 0 ({len(pkg0)} bytes, session {session_id:04X}) sent to udp {host}:{port}"


def cmd_add(args: argparse.Namespace) -> int:
    """Queue a job for one device."""
    try:
        doc = json.loads(Path(args.job).read_text(encoding="utf-8"))
        packages_from_json(doc)  # every command must be one serve can send
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read job file {args.job}: {exc}") from None
    except JobError as exc:
        raise UsageError(f"job file {args.job}: {exc}") from None
    packages = doc if all(isinstance(p, list) for p in doc) else [doc]
    store = _open(args.db)
    try:
        job = CommandQueue(store).add(args.device, packages, max_retries=args.max_retries)
        count = sum(len(p) for p in packages)
        print(f"job {job}: {count} command(s) in {len(packages)} package(s) for {args.device}")
        if args.notify:
            print(_notify(args, store))
    finally:
        store.close()
    return 0


def _row_line(row: dict[str, Any]) -> str:
    command = row["command"]
    what = command.get("cmd", "?") if isinstance(command, dict) else "?"
    uri = command.get("uri", "") if isinstance(command, dict) else ""
    line = (
        f"#{row['id']} job {row['job']} {row['device_id']} package {row['package']}: "
        f"{what} {uri}".rstrip()
        + f" -> {row['state']}"
    )
    if row["code"] is not None:
        line += f" ({row['code']})"
    if row["attempts"]:
        line += f", retried {row['attempts']} of {row['max_retries']}"
    if row["error"]:
        line += f": {row['error']}"
    return line


def _print_rows(args: argparse.Namespace, states: tuple[State, ...], *, results: bool) -> int:
    if "://" not in args.db and not os.path.exists(args.db):
        raise UsageError(f"no database {args.db}")  # do not create one by looking
    store = _open(args.db)
    try:
        rows = CommandQueue(store).rows(device=args.device, states=states)
        outcomes: dict[int, list[dict[str, Any]]] = {}
        if results:
            for outcome in store.outcomes(args.device):
                if outcome.get("command_id") is not None and outcome.get("parent_id") is None:
                    outcomes.setdefault(int(outcome["command_id"]), []).append(outcome)
        for row in rows:
            if results:
                row["outcomes"] = [
                    {k: o[k] for k in ("code", "results", "detail", "session_id")}
                    for o in outcomes.get(int(row["id"]), [])
                ]
            if args.json:
                print(json.dumps(row, sort_keys=True))
            else:
                print(_row_line(row))
                for outcome in row.get("outcomes", []):
                    detail = outcome["detail"]
                    shown = {k: detail[k] for k in ("results", "children", "answer") if k in detail}
                    print(f"    session {outcome['session_id']}: {json.dumps(shown)}")
    finally:
        store.close()
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """The queued commands and where each is."""
    states = tuple(State(s) for s in args.state) if args.state else tuple(State)
    return _print_rows(args, states, results=False)


def cmd_results(args: argparse.Namespace) -> int:
    """The finished commands with their outcomes."""
    return _print_rows(args, _FINISHED, results=True)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``queue`` with ``add``, ``list`` and ``results``."""
    queue = subparsers.add_parser(
        "queue",
        help="queue jobs for devices and see their results (serve's database)",
        description="The per-device command queue of 'dmproto serve' (docs/queue.md).",
    )
    commands = queue.add_subparsers(dest="queue_command", required=True, metavar="COMMAND")
    db_help = (
        "serve's database: an SQLite file or postgresql://USER@HOST:PORT/DBNAME "
        "(password from PGPASSWORD or a password file, never here)"
    )

    add = commands.add_parser("add", help="queue a job for one device")
    add.add_argument("--db", default="dmproto-server.sqlite3", help=db_help)
    add.add_argument("--device", required=True, help="the device id (SyncHdr Source)")
    add.add_argument("--job", required=True, help="JSON job file (the format of serve --job)")
    add.add_argument(
        "--max-retries",
        type=int,
        default=2,
        help="times a command failing with a 5xx Status is sent again (default 2)",
    )
    add.add_argument(
        "--notify",
        metavar="HOST:PORT|URL",
        help="wake the device: Package 0 over UDP to HOST[:PORT] (default port 2948) "
        "or POSTed to an http(s) push URL",
    )
    add.add_argument("--server-id", default="dmproto-server", help="ServerID in the Package 0")
    add.add_argument(
        "--server-password",
        default=os.environ.get("DMPROTO_SERVER_PASSWORD", ""),
        help="SRVCRED secret for the Package 0 digest (default: $DMPROTO_SERVER_PASSWORD)",
    )
    add.set_defaults(func=cmd_add)

    for name, func, text in (
        ("list", cmd_list, "the queued commands and their state"),
        ("results", cmd_results, "finished commands with their outcomes"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--db", default="dmproto-server.sqlite3", help=db_help)
        sub.add_argument("--device", help="only this device id")
        sub.add_argument("--json", action="store_true", help="one JSON object per line")
        if name == "list":
            sub.add_argument(
                "--state",
                action="append",
                choices=[s.value for s in State],
                help="only commands in this state (repeatable)",
            )
        sub.set_defaults(func=func)
