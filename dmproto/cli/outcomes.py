"""``dmproto outcomes``: list what ``dmproto serve`` recorded (the record kinds:
:mod:`dmproto_server.records`)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from dmproto_server import ServerStore, StoreError, connect
from dmproto_server.records import answer_text

from .common import UsageError

__all__ = ["register", "row_text"]


def row_text(row: dict[str, Any]) -> str:
    """One line for a stored outcome record."""
    detail = row["detail"]
    head = f"#{row['id']} {row['device_id']} session {row['session_id'] or '?'}: "
    if row["kind"] == "ui":
        return head + f"{row['command']} -> {answer_text(detail.get('answer', {}))}"
    if row["kind"] in ("generic-alert", "client-event"):
        items = detail.get("items", [])
        corr = f" correlator {detail['correlator']!r}" if detail.get("correlator") else ""
        return head + f"{row['command']}{corr}: {json.dumps(items)}"
    results = f" {json.dumps(detail['results'])}" if detail.get("results") else ""
    if not detail and row["results"]:  # a row written before details were kept
        results = f" {json.dumps(row['results'])}"
    children = detail.get("children")
    nested = f" children {[c['code'] for c in children]}" if children else ""
    return head + f"{row['command']} -> {row['code']}{results}{nested}"


def cmd_outcomes(args: argparse.Namespace) -> int:
    """List what ``serve`` recorded in ``--db``."""
    if not os.path.exists(args.db):  # do not create an empty database by looking
        raise UsageError(f"no database {args.db}")
    try:
        store = ServerStore(connect(args.db))
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        for row in store.outcomes():
            if args.device and row["device_id"] != args.device:
                continue
            print(json.dumps(row, sort_keys=True) if args.json else row_text(row))
    finally:
        store.close()
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``outcomes``."""
    outcomes = subparsers.add_parser(
        "outcomes",
        help="list what 'serve' received (Status, Results, UI answers, alerts)",
        description="List every outcome 'dmproto serve' recorded in its database, oldest "
        "first: command Status codes and Results, the user's answers to UI "
        "alerts, Generic Alerts and Client Event Alerts from devices.",
    )
    outcomes.add_argument("--db", default="dmproto-server.sqlite3", help="serve's SQLite file")
    outcomes.add_argument("--json", action="store_true", help="one JSON object per line")
    outcomes.add_argument("--device", help="only this device id")
    outcomes.set_defaults(func=cmd_outcomes)
