"""Jobs of ``dmproto serve``: the commands it sends each device, read from JSON."""

from __future__ import annotations

import json
from pathlib import Path

from ..codec.model import Add, Command, Delete, Exec, Get, ItemCommand, Replace
from ..errors import InvalidValueError
from .tools import _item_command, _usage

__all__ = ["command_from_json", "load_job"]

_COMMANDS: dict[str, type[ItemCommand]] = {
    "Get": Get,
    "Add": Add,
    "Replace": Replace,
    "Delete": Delete,
    "Exec": Exec,
}


def command_from_json(obj: object) -> Command:
    """``{"cmd": "Replace", "uri": "./X", "data": "v", "format": "chr"}`` as a command."""
    if not isinstance(obj, dict) or obj.get("cmd") not in _COMMANDS:
        raise InvalidValueError("job.command", f"expected {{'cmd': one of {sorted(_COMMANDS)}}}")
    uri, data, fmt = obj.get("uri"), obj.get("data"), obj.get("format")
    if not isinstance(uri, str) or not isinstance(data, str | None):
        raise InvalidValueError("job.command", "'uri' must be a string, 'data' a string")
    if not isinstance(fmt, str | None):
        raise InvalidValueError("job.command", "'format' must be a string")
    return _item_command(_COMMANDS[obj["cmd"]], uri, data, fmt)


def load_job(path: str | None) -> list[Command]:
    if path is None:
        leaves = ("DevId", "Man", "Mod", "DmV", "Lang")
        details = ("DevTyp", "OEM", "FwV", "SwV", "HwV", "LrgObj")
        return [_item_command(Get, f"./DevInfo/{n}") for n in leaves] + [
            _item_command(Get, f"./DevDetail/{n}") for n in details
        ]
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _usage(f"cannot read job file {path}: {exc}") from None
    if not isinstance(doc, list) or not doc:
        raise _usage("a job file holds a non-empty JSON list of commands")
    return [command_from_json(entry) for entry in doc]
