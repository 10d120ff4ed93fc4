"""Structure-aware fuzz targets for the session machines: a valid message, one field changed.

Random bytes rarely get past the decoder; a real message with one field changed
reaches the session logic (MsgID and CmdID bookkeeping, Status correlation, Final,
credentials, sizes). For every reachable state of ``session_targets`` there is a
target ``mutate_<state>``: the input picks one of the messages seen on the way to
that state, one leaf field of its decoded model (a string, number, flag or bytes)
and a new value of the same type, and the changed message is re-encoded and
fed to the session in that state. The invariant is the one of ``session_targets``:
only documented :class:`dmproto.errors.DMError` subclasses may leave the session.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterator
from typing import Any

import attrs
from session_targets import STATES, feed

from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.model import Message
from dmproto.errors import DMError

__all__ = ["TARGETS", "mutate"]

_Path = tuple[str | int, ...]


def _leaves(value: object, path: _Path = ()) -> Iterator[tuple[_Path, object]]:
    """Every leaf of a model value with the path that reaches it."""
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _leaves(getattr(value, field.name), (*path, field.name))
    elif isinstance(value, tuple | list):
        for index, child in enumerate(value):
            yield from _leaves(child, (*path, index))
    elif value is not None:  # an absent optional has no type to keep
        yield path, value


def _replace(value: Any, path: _Path, new: object) -> Any:
    """*value* with the leaf at *path* set to *new* (attrs.evolve down the path)."""
    if not path:
        return new
    step, rest = path[0], path[1:]
    if isinstance(step, int):
        items = list(value)
        items[step] = _replace(items[step], rest, new)
        return type(value)(items)
    return attrs.evolve(value, **{step: _replace(getattr(value, step), rest, new)})


def _new_value(old: object, raw: bytes) -> object:
    """A value for the leaf, shaped like the old one (the rest of the input)."""
    if isinstance(old, bool):
        return bool(raw[:1] and raw[0] & 1)
    if isinstance(old, enum.Enum):
        members = list(type(old))
        return members[raw[0] % len(members)] if raw else old
    if isinstance(old, int):
        return int.from_bytes(raw[:8], "big", signed=True)
    if isinstance(old, bytes):
        return raw
    text = raw.decode("utf-8", "replace")
    if isinstance(old, str) and raw[:1] == b"\xff":
        return old + text  # grow the value rather than replace it
    return text


@functools.lru_cache(maxsize=64)
def _decoded(body: bytes) -> tuple[Message, tuple[tuple[_Path, object], ...]]:
    """A seen message decoded, with its leaves: decoded once, not on every input (the
    model is frozen, so every input can start from the same objects)."""
    message = decode_message(body)
    return message, tuple(_leaves(message))


def mutate(messages: list[bytes], data: bytes) -> bytes | None:
    """The message the input picks, with one leaf changed; None when it cannot be built."""
    if len(data) < 3 or not messages:
        return None
    message, leaves = _decoded(messages[data[0] % len(messages)])
    path, old = leaves[int.from_bytes(data[1:3], "big") % len(leaves)]
    try:
        changed = _replace(message, path, _new_value(old, data[3:]))
    except (DMError, TypeError, ValueError):  # the model refuses the value: not an input
        return None
    if not isinstance(changed, Message):  # pragma: no cover - the root is never a leaf
        return None
    try:
        return encode_message(changed, Encoding.XML)
    except DMError:  # e.g. control characters XML cannot carry
        return None


def _target(role: str, snapshot: dict[str, Any], seen: list[bytes]) -> Callable[[bytes], None]:
    def target(data: bytes) -> None:
        body = mutate(seen, data)
        if body is not None:
            feed(role, snapshot, body)

    return target


TARGETS: dict[str, Callable[[bytes], None]] = {
    f"mutate_{name}": _target(role, snapshot, seen)
    for name, (role, snapshot, seen) in STATES.items()
}
