"""What ``dmproto serve`` records of a device's answers, as JSON and as text.

Every outcome record has a ``kind``:

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

from typing import Any

from dmproto.codec.model import Alert, Atomic, Item, Results, Status
from dmproto.outcome import CommandOutcome

__all__ = [
    "answer_text",
    "describe",
    "describe_items",
    "outcome_detail",
    "outcome_text",
    "ui_answer",
]


def _target(command: object) -> str:
    items = getattr(command, "items", ())
    for item in items:
        loc = item.target or item.source
        if loc is not None:
            more = f" +{len(items) - 1}" if len(items) > 1 else ""
            return f" {loc.loc_uri}{more}"
    return ""


def describe(command: object) -> str:
    """One command in a few words: its name, target and MoreData, or a Status code."""
    if isinstance(command, Status):
        return f"Status({command.cmd}#{command.cmd_ref}={command.code})"
    if isinstance(command, Results):
        return f"Results(for #{command.cmd_ref}{_target(command)})"
    if isinstance(command, Alert):
        return f"Alert {command.code}"
    if isinstance(command, Atomic):
        return "Atomic[" + ", ".join(describe(c) for c in command.commands) + "]"
    name = getattr(command, "name", type(command).__name__)
    more = " (MoreData)" if any(i.more_data for i in getattr(command, "items", ())) else ""
    return f"{name}{_target(command)}{more}"


def outcome_text(outcome: CommandOutcome) -> str:
    """A command's outcome: its code, the start of its first Result, its children's."""
    text = str(int(outcome.code))
    for item in outcome.results[:1]:
        data = item.data
        if isinstance(data, str):
            text += f" {data[:40]!r}" + (f" ({len(data)} chars)" if len(data) > 40 else "")
    if outcome.children:
        text += " [" + ", ".join(outcome_text(c) for c in outcome.children) + "]"
    return text


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
