"""Binary item values in an XML session (OMA-TS-DM_TND-V1_2 §8.3, §8.3.7.2).

``Item.data`` as ``bytes`` travels as WBXML OPAQUE only; XML cannot carry it. Binary
data sent over XML MUST use Meta Format ``b64``: before a command is packed into an
XML message, every binary value becomes its base64 text and the Item's Meta Format
``b64`` (its Type and other Meta kept). Done before packing, so large-object chunks
and Meta/Size are measured on the text as transported (OMA-TS-DM_Protocol-V1_2_1 §2.2).
"""

from __future__ import annotations

import base64

import attrs

from ..codec.model import Atomic, Command, Item, Meta, Sequence, UnsupportedCommand
from ._packaging import Unit

__all__ = ["b64_command", "b64_unit"]


def _b64_item(item: Item) -> Item:
    if not isinstance(item.data, bytes):
        return item
    meta = attrs.evolve(item.meta, format="b64") if item.meta is not None else Meta(format="b64")
    return attrs.evolve(item, data=base64.b64encode(item.data).decode("ascii"), meta=meta)


def b64_command(command: Command) -> Command:
    """*command* with every binary Item value as base64 text (children included)."""
    if isinstance(command, Atomic | Sequence):
        children = tuple(b64_command(child) for child in command.commands)
        # identity, not ==: comparing equal commands field by field costs more than it saves
        if all(new is old for new, old in zip(children, command.commands, strict=True)):
            return command
        return attrs.evolve(command, commands=children)
    if isinstance(command, UnsupportedCommand) or not any(
        isinstance(item.data, bytes) for item in command.items
    ):
        return command  # (we never send UnsupportedCommand; it has no Items)
    return attrs.evolve(command, items=[_b64_item(item) for item in command.items])


def b64_unit(unit: Unit) -> Unit:
    """*unit* with its command as :func:`b64_command` makes it; the same object when
    nothing in it is binary (the common case: no copy per message)."""
    command = b64_command(unit.command)
    return unit if command is unit.command else attrs.evolve(unit, command=command)
