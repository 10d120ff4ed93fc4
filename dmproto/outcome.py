"""How a received command was answered: the contract between sessions and executors.

A client session hands each server command to the application as an event; the
application (or :mod:`dmproto.tree`, which executes commands against a management
tree) answers it with a :class:`CommandOutcome`. The session turns the outcome into
the Status (and Results) the protocol requires (SPEC.md §1.5, §3.6). The server
session reports what the device answered to each queued command with the same type.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .codec.model import Item

__all__ = ["CommandOutcome"]



def _items(values: Iterable[Item]) -> tuple[Item, ...]:
    return tuple(values)


def _outcomes(values: Iterable[CommandOutcome]) -> tuple[CommandOutcome, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class CommandOutcome:
    """The answer to one command.

    Attributes:
        code: the status code for the command (``int``; see :class:`dmproto.StatusCode`).
        results: Items of the Results that follow the Status (Get); each Item
            carries Source/LocURI and, when not the defaults, Meta Format/Type.
        status_items: Items carried inside the Status itself (UI alert input,
            the failed ancestor of an implicit Add).
        children: for Atomic and Sequence, one outcome per child command, in the
            children's order (nested groups nest again).
    """

    code: int
    results: tuple[Item, ...] = attrs.field(default=(), converter=_items)
    status_items: tuple[Item, ...] = attrs.field(default=(), converter=_items)
    children: tuple[CommandOutcome, ...] = attrs.field(default=(), converter=_outcomes)
