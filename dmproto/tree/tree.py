"""The management tree: the node store plus DM command execution.

:class:`ManagementTree` is the device-side tree (OMA-TS-DM_TND-V1_2 §8). Its local
methods come from :class:`~dmproto.tree.store.NodeStore` (no ACL checks); commands
from a server go through :meth:`ManagementTree.execute`, which applies the DM
semantics, ACLs and status codes (:mod:`dmproto.tree.executor`).
"""

from __future__ import annotations

from ..codec.model import Command
from ..outcome import CommandOutcome
from .context import UiHandler
from .executor import execute_command
from .store import NodeStore

__all__ = ["ManagementTree"]


class ManagementTree(NodeStore):
    """A device management tree (constructor arguments: :class:`NodeStore`)."""

    def execute(
        self, command: Command, *, server_id: str, ui: UiHandler | None = None
    ) -> CommandOutcome:
        """Execute one server command with DM semantics; see :mod:`dmproto.tree.executor`.

        ``command`` is any :mod:`dmproto.codec.model` command (Add, Replace, Delete,
        Copy, Get, Exec, Alert, Atomic, Sequence); ``server_id`` the authenticated
        server's ServerID for ACL checks; ``ui`` answers UI alerts 1100–1104 (406
        when ``None``). Never raises for anything a server can send.
        """
        return execute_command(self, command, server_id=server_id, ui=ui)
