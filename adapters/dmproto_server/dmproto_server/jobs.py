"""Jobs of ``dmproto serve``: the commands it sends each device, read from JSON.

A job file is a JSON list. A list of command objects is one package; a list of
lists is several packages sent one after the other in the same session (the next
package goes out once every Status of the previous one is in). A command object:

* item commands (OMA-TS-DM_RepPro-V1_2_1 §4.1.6): ``{"cmd": "Get" | "Add" | "Replace" |
  "Delete" | "Exec" | "Copy", "uri": "./X", "data": "v", "format": "chr",
  "type": "text/plain"}``; ``Copy`` also takes ``"source": "./Y"`` (the node copied
  onto ``uri``); ``Exec`` takes ``"correlator"`` (an asynchronous result comes
  back as a Generic Alert carrying it). Several Items: ``"items": [{"uri": ...,
  "data": ..., "format": ..., "type": ..., "source": ...}, ...]`` instead of the
  single-item keys;
* groups: ``{"cmd": "Atomic" | "Sequence", "commands": [...]}``, nesting allowed
  (OMA-TS-DM_RepPro-V1_2_1 §4.1.6, Atomic and Sequence);
* UI alerts (OMA-TS-DM_RepPro-V1_2_1 §4.2, the UI alert types):
  ``{"cmd": "Alert", "code": 1100..1104, "text": "...", "options": {"MINDT": 2,
  "MAXDT": 30, "DR": "1", "MAXLEN": 8, "IT": "N", "ET": "P"}, "choices": ["a", "b"]}``
  (``choices`` for 1103 single and 1104 multiple choice); ``"ui": "Display" |
  "Confirm" | "TextInput" | "SingleChoice" | "MultipleChoice"`` may name the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from dmproto.codec.model import (
    Add,
    Atomic,
    Command,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    ItemCommand,
    Location,
    Meta,
    Replace,
    Sequence,
)
from dmproto.errors import InvalidValueError
from dmproto.session.ui import UI_ALERT_CODES, EchoType, InputType, UiOptions, ui_alert

__all__ = [
    "DEFAULT_JOB",
    "JobError",
    "command_from_json",
    "item_command",
    "load_job",
    "packages_from_json",
    "read_job",
]


class JobError(ValueError):
    """A job file cannot be read or holds a command not in the job format (one line)."""


_ITEM_COMMANDS: dict[str, type[ItemCommand]] = {
    "Get": Get,
    "Add": Add,
    "Replace": Replace,
    "Delete": Delete,
    "Exec": Exec,
    "Copy": Copy,
}
_GROUPS: dict[str, type[Atomic] | type[Sequence]] = {"Atomic": Atomic, "Sequence": Sequence}
_NAMES = sorted([*_ITEM_COMMANDS, *_GROUPS, "Alert"])
#: Nesting bound of Atomic/Sequence in a job (the device's own bound is usually lower).
_MAX_DEPTH = 8


def _bad(detail: str) -> InvalidValueError:
    return InvalidValueError("job.command", detail)


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if not isinstance(value, str | None):
        raise _bad(f"{key!r} must be a string")
    return value


def _item(obj: object) -> Item:
    if not isinstance(obj, dict):
        raise _bad("an item is a JSON object")
    uri = obj.get("uri")
    if not isinstance(uri, str):
        raise _bad("'uri' must be a string")
    fmt, mime = _opt_str(obj, "format"), _opt_str(obj, "type")
    source = _opt_str(obj, "source")
    return Item(
        target=Location(loc_uri=uri),
        source=Location(loc_uri=source) if source is not None else None,
        meta=Meta(format=fmt, type=mime) if fmt or mime else None,
        data=_opt_str(obj, "data"),
    )


def _options(obj: object) -> UiOptions:
    if not isinstance(obj, dict):
        raise _bad('\'options\' is an object like {"MAXDT": 30, "DR": "1"}')
    known = {"MINDT", "MAXDT", "DR", "MAXLEN", "IT", "ET"}
    unknown = set(obj) - known
    if unknown:
        raise _bad(f"unknown UI option(s) {sorted(unknown)}; known: {sorted(known)}")
    for key in ("MINDT", "MAXDT", "MAXLEN"):
        value = obj.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise _bad(f"UI option {key} must be a non-negative integer")
    try:
        input_type = InputType(obj["IT"]) if "IT" in obj else None
        echo_type = EchoType(obj["ET"]) if "ET" in obj else None
    except ValueError:
        raise _bad("IT is one of A N D T P I, ET one of T P") from None
    default = obj.get("DR")
    if not isinstance(default, str | None):
        raise _bad("UI option DR must be a string")
    return UiOptions(
        min_display_time=obj.get("MINDT"),
        max_display_time=obj.get("MAXDT"),
        default_response=default,
        max_length=obj.get("MAXLEN"),
        input_type=input_type,
        echo_type=echo_type,
    )


#: ``"ui"`` names accepted instead of ``"code"``.
_UI_NAMES = {
    "Display": 1100,
    "Confirm": 1101,
    "TextInput": 1102,
    "SingleChoice": 1103,
    "MultipleChoice": 1104,
}


def _alert(obj: dict[str, Any]) -> Command:
    code, text, choices = obj.get("code"), obj.get("text"), obj.get("choices", [])
    if "ui" in obj:
        if "code" in obj or obj["ui"] not in _UI_NAMES:
            raise _bad(f"'ui' is one of {sorted(_UI_NAMES)} (or give 'code' instead)")
        code = _UI_NAMES[obj["ui"]]
    if code not in UI_ALERT_CODES:
        raise _bad(
            "an Alert in a job is a UI alert: 'code' 1100..1104 or 'ui': "
            f"one of {sorted(_UI_NAMES)}"
        )
    if not isinstance(text, str):
        raise _bad("a UI alert needs 'text'")
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise _bad("'choices' is a list of strings")
    if code in (1103, 1104) and not choices:
        raise _bad("choice alerts 1103/1104 need 'choices'")
    options = _options(obj["options"]) if "options" in obj else None
    return cast("Command", ui_alert(code, text, options=options, choices=tuple(choices)))


def command_from_json(obj: object, depth: int = 0) -> Command:
    """One command of a job (see the module documentation for the format).

    Raises:
        InvalidValueError: ``job.command`` for anything not in that format.
    """
    if not isinstance(obj, dict) or obj.get("cmd") not in _NAMES:
        raise _bad(f"expected {{'cmd': one of {_NAMES}}}")
    name = obj["cmd"]
    if name == "Alert":
        return _alert(obj)
    if name in _GROUPS:
        children = obj.get("commands")
        if not isinstance(children, list) or not children:
            raise _bad(f"{name} needs a non-empty 'commands' list")
        if depth >= _MAX_DEPTH:
            raise _bad(f"Atomic/Sequence nested deeper than {_MAX_DEPTH}")
        return cast(
            "Command",
            _GROUPS[name](
                cmd_id=None, commands=tuple(command_from_json(c, depth + 1) for c in children)
            ),
        )
    if "items" in obj:
        items = obj["items"]
        if not isinstance(items, list) or not items:
            raise _bad("'items' is a non-empty list")
        parsed = tuple(_item(i) for i in items)
    else:
        parsed = (_item(obj),)
    extra: dict[str, Any] = {}
    if name == "Exec":
        extra["correlator"] = _opt_str(obj, "correlator")
    elif "correlator" in obj:
        raise _bad("'correlator' belongs to Exec")
    if name == "Copy" and any(i.source is None for i in parsed):
        raise _bad("Copy needs 'source' (the node copied onto 'uri')")
    return cast("Command", _ITEM_COMMANDS[name](cmd_id=None, items=parsed, **extra))


def packages_from_json(doc: object) -> list[list[Command]]:
    """A whole job: a list of commands (one package) or a list of such lists."""
    if not isinstance(doc, list) or not doc:
        raise _bad("a job is a non-empty JSON list of commands, or a list of such lists")
    if all(isinstance(entry, list) for entry in doc):
        if not all(doc):
            raise _bad("every package of a job holds at least one command")
        return [[command_from_json(c) for c in package] for package in doc]
    return [[command_from_json(c) for c in doc]]


def item_command(
    kind: type[ItemCommand], uri: str, data: str | None = None, fmt: str | None = None
) -> Command:
    """A one-Item command of ``kind`` on ``uri`` (with data and Meta Format if given)."""
    meta = Meta(format=fmt) if fmt else None
    item = Item(target=Location(loc_uri=uri), meta=meta, data=data)
    return cast("Command", kind(cmd_id=None, items=(item,)))


def _default_job() -> list[list[Command]]:
    leaves = ("DevId", "Man", "Mod", "DmV", "Lang")
    details = ("DevTyp", "OEM", "FwV", "SwV", "HwV", "LrgObj")
    return [
        [item_command(Get, f"./DevInfo/{n}") for n in leaves]
        + [item_command(Get, f"./DevDetail/{n}") for n in details]
    ]


#: Without ``--job``: an inventory of DevInfo and DevDetail.
DEFAULT_JOB = _default_job()


def load_job(path: str | None) -> list[list[Command]]:
    """The packages of the job file at *path*, or :data:`DEFAULT_JOB`.

    Raises:
        JobError: see :func:`read_job`.
    """
    if path is None:
        return DEFAULT_JOB
    return packages_from_json(read_job(path))


def read_job(path: str) -> Any:
    """The JSON document of the job file at *path*, checked (see the module).

    Raises:
        JobError: unreadable, not JSON, or a command not in the job format.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise JobError(f"cannot read job file {path}: {exc}") from None
    try:
        packages_from_json(doc)
    except InvalidValueError as exc:
        raise JobError(f"job file {path}: {exc}") from None
    return doc
