"""Generic JSON form of session state (``snapshot()`` / ``restore()``).

The state is made of plain values, enums, tuples/lists/dicts and attrs classes from
a fixed registry (the message model, outcomes, events, credentials and the session's
own records). Each is written as JSON with small type tags: ``{"$b": base64}`` for
bytes, ``{"$e": [enum, value]}``, ``{"$t": [...]}`` for tuples, ``{"$d": [[k, v]...]}``
for dicts and ``{"$c": class, ...fields}`` for attrs instances. Loading accepts only
registered classes and enums, so a snapshot cannot name arbitrary code; any problem
raises :class:`~dmproto.errors.InvalidValueError`.

Snapshots contain credentials and nonces: store them like secrets.
"""

from __future__ import annotations

import base64
import binascii
import enum
from typing import Any

import attrs

from ..codec import Encoding
from ..codec import model as _model
from ..codes import AlertCode, StatusCode
from ..errors import DMError, InvalidValueError
from ..outcome import CommandOutcome, OutcomeNote
from ..security import AuthScheme, Credentials
from . import _ledger, _machine, _packaging, _state, events, ui

__all__ = ["dump", "load"]


def _registry() -> tuple[dict[str, type], dict[str, type[enum.Enum]]]:
    classes: dict[str, type] = {}
    modules = (_model, events, ui, _ledger, _packaging, _state, _machine)
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and attrs.has(value) and value.__module__ == module.__name__:
                classes[value.__name__] = value
    classes["CommandOutcome"] = CommandOutcome
    classes["Credentials"] = Credentials
    enums: dict[str, type[enum.Enum]] = {
        cls.__name__: cls
        for cls in (
            Encoding, AlertCode, StatusCode, AuthScheme, events.EndReason, events.NonceRole,
            events.UsernameSource, ui.InputType, ui.EchoType, OutcomeNote,
            _machine.Phase, _machine.Role,
        )
    }
    return classes, enums


_CLASSES, _ENUMS = _registry()


def dump(value: Any) -> Any:
    """The JSON-compatible form of *value*."""
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, enum.Enum):
        return {"$e": [type(value).__name__, value.value]}
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return {"$t": [dump(v) for v in value]}
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {"$d": [[dump(k), dump(v)] for k, v in value.items()]}
    if attrs.has(type(value)) and type(value).__name__ in _CLASSES:
        out = {"$c": type(value).__name__}
        for field in attrs.fields(type(value)):
            out[field.name] = dump(getattr(value, field.name))
        return out
    raise InvalidValueError("session.snapshot", f"cannot snapshot {type(value).__name__}")


def _bad(detail: str) -> InvalidValueError:
    return InvalidValueError("session.snapshot", detail)


def load(data: Any, depth: int = 0) -> Any:
    """Rebuild a value written by :func:`dump`.

    Raises:
        InvalidValueError: ``session.snapshot`` for anything malformed.
    """
    if depth > 200:
        raise _bad("snapshot nested too deeply")
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [load(v, depth + 1) for v in data]
    if not isinstance(data, dict):
        raise _bad("unexpected value type")
    try:
        if "$b" in data:
            return base64.b64decode(data["$b"], validate=True)
        if "$t" in data:
            return tuple(load(v, depth + 1) for v in data["$t"])
        if "$d" in data:
            return {load(k, depth + 1): load(v, depth + 1) for k, v in data["$d"]}
        if "$e" in data:
            name, raw = data["$e"]
            return _ENUMS[name](raw)
        if "$c" in data:
            cls = _CLASSES[data["$c"]]
            fields = {
                f.name: load(data[f.name], depth + 1)
                for f in attrs.fields(cls)
                if f.name in data
            }
            return cls(**fields)
    except (KeyError, TypeError, ValueError, binascii.Error, DMError) as exc:
        raise _bad(f"malformed snapshot ({type(exc).__name__})") from None
    raise _bad("unknown tag")
