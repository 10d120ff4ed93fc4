"""One management tree node: value, run-time properties and device-side rules
(OMA-TS-DM_TND-V1_2 §8.1, §8.2, §8.3). Nodes are immutable values; the store replaces them on
change.
"""

from __future__ import annotations

import enum

import attrs

from .acl import Acl
from .values import NodeFormat, Value

__all__ = ["Access", "Node"]


class Access(enum.Enum):
    """DDF AccessType members (OMA-TS-DM_TND-V1_2 §8.5): the commands a node supports at all,
    independently of the ACL (a missing one gives 405)."""

    ADD = "Add"
    COPY = "Copy"
    DELETE = "Delete"
    EXEC = "Exec"
    GET = "Get"
    REPLACE = "Replace"


ALL_ACCESS = frozenset(Access)


@attrs.frozen(kw_only=True)
class Node:
    """A node of the tree.

    ``acl`` is ``None`` when the ACL property has no value (inherited, OMA-TS-DM_TND-V1_2 §8.3.7.1).
    ``children`` keeps the child names in creation order (interior nodes only).
    ``permanent`` nodes (Scope Permanent) cannot be deleted or renamed (405).
    """

    name: str
    format: NodeFormat
    type: str | None = None
    value: Value = attrs.field(default=None, repr=False)
    acl: Acl | None = None
    title: str | None = None
    tstamp: str | None = None
    verno: int = 0
    children: tuple[str, ...] = ()
    permanent: bool = False
    access: frozenset[Access] = ALL_ACCESS

    @property
    def is_interior(self) -> bool:
        """True for interior nodes (Format ``node``)."""
        return self.format is NodeFormat.NODE

    def allows(self, access: Access) -> bool:
        """AccessType check (OMA-TS-DM_TND-V1_2 §8.5)."""
        return access in self.access
