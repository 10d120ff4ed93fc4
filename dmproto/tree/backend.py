"""Backends: map a subtree of the management tree to real device functions.

A :class:`Backend` is mounted on a subtree (``ManagementTree.mount``); for every node
below it the tree calls the backend's hooks *before* it changes its own copy, like
libdmclient's MO plugins. The tree keeps structure and properties; the backend may
supply live values (:meth:`Backend.read`) and perform the real change. The default
:class:`Backend` does nothing, which makes the subtree purely in-memory.

If a hook raises, the tree's copy is left unchanged, the hooks already run for the
same command (or, inside Atomic, for the whole Atomic) are undone by calling the
inverse hooks in reverse order, and the command gets 500 (507 for the Atomic). If
an inverse hook raises, the Atomic gets 516 (OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Atomic).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..codec.model import Item
from .node import Node
from .values import Value

__all__ = ["Backend", "ExecRequest", "ExecResult"]


@attrs.frozen(kw_only=True)
class ExecRequest:
    """An Exec addressed to a node: its URI, the Item Data argument, the Correlator
    and the ServerID that sent it."""

    uri: str
    data: str | bytes | None = attrs.field(default=None, repr=False)
    correlator: str | None = None
    server_id: str | None = None


def _items(values: Iterable[Item]) -> tuple[Item, ...]:
    # Typed converter: mypy cannot check arguments of a bare ``converter=tuple``.
    return tuple(values)


@attrs.frozen(kw_only=True)
class ExecResult:
    """What an Exec hook answers: a status code (200 done, 202 accepted and running
    asynchronously — OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Exec/FUMO) and optional Status Items."""

    code: int = 200
    status_items: tuple[Item, ...] = attrs.field(default=(), converter=_items)


class Backend:
    """Base class of subtree backends; every hook is a no-op by default."""

    def read(self, uri: str, node: Node) -> Value:
        """Return the current value of leaf ``uri`` (default: the stored copy)."""
        return node.value

    def added(self, uri: str, node: Node) -> None:
        """A node is being created (also used to undo a delete, parents first)."""

    def replaced(self, uri: str, old: Node, new: Node) -> None:
        """A node's value or properties are changing (undo passes them swapped)."""

    def deleted(self, uri: str, node: Node) -> None:
        """A node is being removed (children before parents; also undoes an add)."""

    def execute(self, request: ExecRequest) -> ExecResult:
        """Execute a node (default: Exec not supported here, 405)."""
        return ExecResult(code=405)
