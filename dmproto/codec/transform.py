"""Rewriting the Items of a decoded message (one walk shared by tools and tests).

:func:`map_items` applies a function to every :class:`~dmproto.codec.model.Item`
of a :class:`~dmproto.codec.model.Message`, including the Items of commands nested
in Atomic and Sequence, and returns the rewritten message. The CLI uses it to show
binary Data as base64 text; cross-encoding comparisons use it to normalise XmlData.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from .model import Atomic, Command, Item, Message, Sequence, UnsupportedCommand

__all__ = ["map_items"]


def map_items(message: Message, fn: Callable[[Item], Item]) -> Message:
    """``message`` with every Item (at any Atomic/Sequence depth) replaced by ``fn(item)``."""
    return attrs.evolve(message, commands=[_command(c, fn) for c in message.commands])


def _command(command: Command, fn: Callable[[Item], Item]) -> Command:
    # Nesting depth is bounded by Limits.max_depth when the message was decoded.
    if isinstance(command, Atomic | Sequence):
        return attrs.evolve(command, commands=[_command(c, fn) for c in command.commands])
    if isinstance(command, UnsupportedCommand):
        return command
    return attrs.evolve(command, items=[fn(i) for i in command.items])
