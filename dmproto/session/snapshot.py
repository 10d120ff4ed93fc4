"""JSON form of a session (``snapshot()`` / ``restore()``), format version 2.

The schema is explicit (documented in ``docs/session-api.md``, "Snapshots"): each of
the session's own records (:data:`RECORDS`) is written as ``{"$r": record, key:
value, ...}`` with the named keys listed here, so an internal attribute can be
renamed without breaking stored snapshots (only the attribute side of its entry
changes). Public value classes (the message model, events, ``CommandOutcome``,
``Credentials``, UI requests) are written with their public field names as
``{"$c": class, field: value, ...}``; other values with small type tags:
``{"$b": base64}`` for bytes, ``{"$e": [enum, value]}``, ``{"$t": [...]}`` for
tuples, ``{"$d": [[k, v]...]}`` for dicts. Loading accepts only the records,
classes and enums named here, so a snapshot cannot name arbitrary code; any problem
raises :class:`~dmproto.errors.InvalidValueError` (``session.snapshot``). Version 1
(the generic dump of dmproto's internal state record) is refused with that error.

Snapshots contain credentials and nonces: store them like secrets.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Mapping
from typing import Any

import attrs

from ..codec import Encoding
from ..codec import model as _model
from ..codes import AlertCode, StatusCode
from ..errors import DMError, InvalidValueError
from ..outcome import CommandOutcome, OutcomeNote
from ..security import AuthScheme, Credentials, PeerCertificate
from . import events, ui
from ._ledger import Answer, Ref, SentRef, Tracked
from ._machine import Machine, Phase, Proof, Role
from ._packaging import Unit
from ._state import HeldMessage, LoIn, State

__all__ = ["FORMAT", "RECORDS", "VERSION", "dump", "load", "read", "write"]

FORMAT = "dmproto.session"
VERSION = 2


def _keys(names: str, **renamed: str) -> Mapping[str, str]:
    """Schema keys → the attribute each is kept in (its own name unless *renamed*)."""
    return {key: renamed.get(key, key) for key in names.split()}


#: record name → (class, schema key → attribute). The keys are the stored format:
#: never rename one without a new version; rename attributes freely (map them here).
RECORDS: Mapping[str, tuple[type, Mapping[str, str]]] = {
    "session": (
        State,
        _keys("""
        role session_id encoding machine next_msg_id next_handle next_lo_id
        last_peer_msg_id peer_msg_ref stalls backlog peer_idle peer_max_msg peer_max_obj
        url deadline events hdr_status answers out queued tracked sent lo_in ended
        end_after_send creds scheme nonce attempts peer_creds peer_scheme peer_nonce
        peer_attempts challenged issued_nonce try_reset trusted alert_code peer_commands
        initial device_id held account_known package dev_info peer_cert_required
        peer_certificate username
    """),
    ),
    "machine": (Machine, _keys("role phase peer_final our_closed ours peer_proved")),
    "unit": (Unit, _keys("command handle lo_id lo_total deferred")),
    "answer": (Answer, _keys("ref handle outcome")),
    "ref": (Ref, _keys("msg_ref cmd_ref cmd target_refs source_refs children")),
    "tracked": (Tracked, _keys("handle command codes status_items results open_results notes")),
    "sent": (SentRef, _keys("handle path lo_id")),
    "large_object": (
        LoIn,
        _keys("name target source command meta parts received total handle path"),
    ),
    "held": (HeldMessage, _keys("message body headers")),
}
_RECORD_OF: Mapping[type, str] = {cls: name for name, (cls, _) in RECORDS.items()}


def _public_classes() -> dict[str, type]:
    classes: dict[str, type] = {}
    for module in (_model, events, ui):
        for value in vars(module).values():
            if isinstance(value, type) and attrs.has(value) and value.__module__ == module.__name__:
                classes[value.__name__] = value
    classes["CommandOutcome"] = CommandOutcome
    classes["Credentials"] = Credentials
    classes["PeerCertificate"] = PeerCertificate
    return classes


_CLASSES = _public_classes()
_ENUMS: Mapping[str, type[enum.Enum]] = {
    cls.__name__: cls
    for cls in (
        Encoding,
        AlertCode,
        StatusCode,
        AuthScheme,
        events.EndReason,
        events.NonceRole,
        events.UsernameSource,
        ui.InputType,
        ui.EchoType,
        OutcomeNote,
        Phase,
        Role,
        Proof,
    )
}


def write(role: str, state: State) -> dict[str, Any]:
    """The snapshot of a session of *role* (``snapshot()``)."""
    return {"format": FORMAT, "version": VERSION, "role": role, "state": dump(state)}


def read(snapshot: Any, role: str) -> State:
    """The state in *snapshot* (``restore()``).

    Raises:
        InvalidValueError: ``session.snapshot``: not a snapshot of this role, an
            unsupported version (1 included) or malformed content.
    """
    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        raise _bad("not a dmproto session snapshot")
    version = snapshot.get("version")
    if version != VERSION:
        raise _bad(
            f"snapshot format version {version!r} is not supported (this dmproto reads "
            f"version {VERSION}; version 1 snapshots from older releases cannot be "
            "resumed: let those sessions time out)"
        )
    if snapshot.get("role") != role:
        raise _bad(f"not a snapshot of a {role} session")
    state = load(snapshot.get("state"))
    if (
        not isinstance(state, State)
        or not isinstance(state.machine, Machine)
        or state.role != role
        or state.machine.role is not Role(role)
        or not isinstance(state.machine.phase, Phase)
        or not isinstance(state.machine.ours, Proof)
    ):
        raise _bad("snapshot holds no valid session state")
    return state


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
    record = _RECORD_OF.get(type(value))
    if record is not None:
        out: dict[str, Any] = {"$r": record}
        for key, attribute in RECORDS[record][1].items():
            out[key] = dump(getattr(value, attribute))
        return out
    kind = type(value)
    if attrs.has(kind) and _CLASSES.get(kind.__name__) == kind:
        fields = {"$c": kind.__name__}
        for field in attrs.fields(kind):
            fields[field.name] = dump(getattr(value, field.name))
        return fields
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
        if "$r" in data:
            cls, keys = RECORDS[data["$r"]]
            unknown = set(data) - set(keys) - {"$r"}
            if unknown:
                raise _bad(f"unknown {data['$r']} keys in snapshot: {sorted(unknown)}")
            # (a key missing here takes the attribute's default, if it has one)
            return cls(
                **{
                    attribute: load(data[key], depth + 1)
                    for key, attribute in keys.items()
                    if key in data
                }
            )
        if "$c" in data:
            cls = _CLASSES[data["$c"]]
            fields = {
                f.name: load(data[f.name], depth + 1) for f in attrs.fields(cls) if f.name in data
            }
            return cls(**fields)
    except InvalidValueError:
        raise
    except (KeyError, TypeError, ValueError, binascii.Error, DMError) as exc:
        raise _bad(f"malformed snapshot ({type(exc).__name__})") from None
    raise _bad("unknown tag")
