"""What ``dmproto serve`` receives, as records, and ``dmproto outcomes`` to list them.

Every record has a ``kind``:

* ``status`` — a command's Status code, its Results Items and, for Atomic and
  Sequence, the children's outcomes (OMA-TS-DM_RepPro-V1_2_1 §4.1.6);
* ``ui`` — the user's answer to a UI alert (OMA-TS-DM_RepPro-V1_2_1 §4.2): 1100
  displayed, 1101 ``yes`` (200) / ``no`` (304), 1102 the text typed, 1103/1104 the
  numbers chosen and their labels; a code >= 300 (timeout, cancel) is no answer;
* ``generic-alert`` — a Generic Alert 1226 from the device (OMA-TS-DM_RepPro-V1_2_1
  §4.2: an asynchronous Exec result with its Correlator, or a device event), with
  its Items;
* ``client-event`` — a Client Event Alert 1224.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from dmproto_server import ServerStore, StoreError, connect

from ..codec.model import Item
from ..outcome import CommandOutcome
from .common import UsageError

__all__ = ["describe_items", "outcome_detail", "register", "ui_answer"]


def _data(item: Item) -> str | None:
    data = item.data
    if data is None or isinstance(data, str):
        return data
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data.text


def describe_items(items: tuple[Item, ...]) -> list[dict[str, Any]]:
    """Items as JSON objects (only the parts present)."""
    out = []
    for item in items:
        entry: dict[str, Any] = {}
        if item.source is not None:
            entry["source"] = item.source.loc_uri
        if item.target is not None:
            entry["target"] = item.target.loc_uri
        if item.meta is not None and item.meta.format:
            entry["format"] = item.meta.format
        if item.meta is not None and item.meta.type:
            entry["type"] = item.meta.type
        data = _data(item)
        if data is not None:
            entry["data"] = data
        out.append(entry)
    return out


def outcome_detail(outcome: CommandOutcome) -> dict[str, Any]:
    """A command's outcome as JSON: code, Results Items, Status Items, children."""
    detail: dict[str, Any] = {"code": int(outcome.code)}
    if outcome.results:
        detail["results"] = describe_items(outcome.results)
    if outcome.status_items:
        detail["status_items"] = describe_items(outcome.status_items)
    if outcome.children:
        detail["children"] = [outcome_detail(c) for c in outcome.children]
    if outcome.note is not None:
        detail["note"] = outcome.note.value
    return detail


def ui_answer(code: int, choices: list[str], outcome: CommandOutcome) -> dict[str, Any]:
    """The user's answer to UI alert *code* (see the module documentation)."""
    status = int(outcome.code)
    if status >= 300 and not (code == 1101 and status == 304):
        return {"answered": False, "status": status}
    values = [_data(i) or "" for i in outcome.status_items]
    if code == 1101:
        return {"answered": True, "answer": "yes" if status == 200 else "no"}
    if code == 1102:
        return {"answered": True, "answer": values[0] if values else ""}
    if code in (1103, 1104):
        numbers = [int(v) for v in values if v.strip().isdigit()]
        labels = [choices[n - 1] for n in numbers if 0 < n <= len(choices)]
        return {"answered": True, "answer": numbers, "labels": labels}
    return {"answered": True, "answer": "displayed"}


def answer_text(answer: dict[str, Any]) -> str:
    """One-line form of :func:`ui_answer`'s result."""
    if not answer.get("answered"):
        return f"no answer ({answer.get('status')})"
    if "labels" in answer:
        return "chose " + ", ".join(
            f"{n} {lab!r}" for n, lab in zip(answer["answer"], answer["labels"], strict=False)
        )
    value = answer["answer"]
    return (
        f"answered {value!r}"
        if isinstance(value, str) and value not in ("yes", "no", "displayed")
        else f"answered {value}"
    )


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
