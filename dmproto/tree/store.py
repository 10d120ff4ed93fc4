"""The node store under a management tree: nodes by path, backends, savepoints and undo.

:class:`NodeStore` holds the nodes of a device's tree (OMA-TS-DM_TND-V1_2 §8) and
its *local* methods (``add_node``, ``update_node``, ``remove_subtree``,
``read_value`` ...): the device's own access, no ACL checks. The DM command
semantics (:mod:`dmproto.tree.executor`) work on a store;
:class:`~dmproto.tree.tree.ManagementTree` is the store plus
:meth:`~dmproto.tree.tree.ManagementTree.execute`.

Every mutation calls the mounted :class:`~dmproto.tree.backend.Backend` hook first,
then changes the stored node, and records an undo step; :meth:`NodeStore.savepoint` /
:meth:`NodeStore.rollback` / :meth:`NodeStore.release` give all-or-nothing groups
(Atomic, one multi-item command, a bootstrap).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import attrs

from ..codec.model import Alert, Item, Location, Meta
from ..codes import AlertCode, StatusCode
from ..errors import InvalidValueError
from ..limits import DEFAULT_LIMITS, Limits
from .acl import Acl, AclCommand, parse_acl
from .backend import Backend, ExecRequest
from .ddf import DdfRules
from .errors import TreeCommandError
from .node import Node
from .uri import UriLimits, format_uri, parse_path
from .values import BinaryWire, NodeFormat, Value

__all__ = ["DEFAULT_ROOT_ACL", "NodeStore", "Path", "Savepoint"]

Path = tuple[str, ...]
_T = TypeVar("_T")

#: OMA-TS-DM_TND-V1_2 §8.3.7.1: the root ACL default.
DEFAULT_ROOT_ACL = "Add=*&Get=*"


@attrs.frozen(kw_only=True)
class Savepoint:
    """A point the tree can roll back to (see :meth:`NodeStore.rollback`)."""

    nodes: dict[Path, Node] = attrs.field(repr=False)
    undo_len: int


class NodeStore:
    """The nodes of a device management tree, with local (unchecked) access.

    Args:
        root_acl: the root ACL (OMA-TS-DM_TND-V1_2 §8.3.7.1 default ``Add=*&Get=*``).
        clock: returns the current time as ISO 8601 basic UTC (``20010711T163817Z``)
            for TStamp; ``None`` leaves TStamp unset.
        binary_wire: how binary values are returned in Results.
        max_nodes: most nodes the tree holds; an Add beyond it gets 420 (Device
            full), so a hostile server cannot exhaust memory.
        limits: bounds for decoding TNDS documents received in commands.
    """

    def __init__(
        self,
        *,
        root_acl: str = DEFAULT_ROOT_ACL,
        clock: Callable[[], str] | None = None,
        binary_wire: BinaryWire = BinaryWire.B64,
        max_nodes: int = 100_000,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        root = Node(name=".", format=NodeFormat.NODE, acl=parse_acl(root_acl), permanent=True)
        self._nodes: dict[Path, Node] = {(): root}
        self._mounts: dict[Path, Backend] = {}
        self._undo: list[Callable[[], None]] = []
        self._open_savepoints = 0
        self._clock = clock
        self.binary_wire = binary_wire
        self.max_nodes = max_nodes
        self.limits = limits
        self.ddf = DdfRules()
        self._pending_exec: dict[str, ExecRequest] = {}
        self._alerts: list[Alert] = []

    # -- reading -----------------------------------------------------------------

    def node(self, path: Path) -> Node | None:
        """The stored node at ``path`` or ``None``."""
        return self._nodes.get(path)

    def node_at(self, uri: str) -> Node | None:
        """The stored node at a URI string (``./a/b``), or ``None``."""
        try:
            return self._nodes.get(parse_path(uri))
        except TreeCommandError:
            return None

    def require(self, path: Path) -> Node:
        """The node at ``path``; 404 when it does not exist."""
        node = self._nodes.get(path)
        if node is None:
            raise TreeCommandError(StatusCode.NOT_FOUND, "tree.not_found", format_uri(path))
        return node

    def read_value(self, path: Path) -> Value:
        """A leaf's current value (through its backend)."""
        node = self.require(path)
        backend = self.backend_for(path)
        if backend is None:
            return node.value
        value: Value = _guard(backend.read, format_uri(path), node)
        return value

    def walk(self, path: Path) -> Iterator[Path]:
        """``path`` and its descendants, parents before children, in child order."""
        stack = [path]
        while stack:
            current = stack.pop()
            yield current
            node = self._nodes[current]
            stack.extend((*current, c) for c in reversed(node.children))

    def paths(self) -> tuple[Path, ...]:
        """Every node path, root first."""
        return tuple(self.walk(()))

    def effective_acl(self, path: Path) -> Acl:
        """The ACL in force: the node's own, else the nearest ancestor's
        (OMA-TS-DM_TND-V1_2 §8.3.7.1)."""
        for depth in range(len(path), -1, -1):
            node = self._nodes.get(path[:depth])
            if node is not None and node.acl is not None:
                return node.acl
        return Acl(())

    def allows(self, path: Path, command: AclCommand, server_id: str) -> bool:
        """ACL check of ``command`` by ``server_id`` on ``path``."""
        return self.effective_acl(path).allows(command, server_id)

    def uri_limits(self) -> UriLimits:
        """The ``./DevDetail/URI`` limits (0 = unlimited; unreadable values ignored)."""
        values = []
        for leaf in ("MaxDepth", "MaxTotLen", "MaxSegLen"):
            node = self._nodes.get(("DevDetail", "URI", leaf))
            text = node.value if node is not None else None
            values.append(int(text) if isinstance(text, str) and text.isdigit() else 0)
        return UriLimits(max_depth=values[0], max_tot_len=values[1], max_seg_len=values[2])

    # -- backends ----------------------------------------------------------------

    def mount(self, uri: str, backend: Backend) -> None:
        """Map the subtree at ``uri`` (the node itself included) to ``backend``."""
        self._mounts[parse_path(uri)] = backend

    def backend_for(self, path: Path) -> Backend | None:
        """The backend of the nearest mounted ancestor-or-self, if any."""
        for depth in range(len(path), -1, -1):
            backend = self._mounts.get(path[:depth])
            if backend is not None:
                return backend
        return None

    # -- savepoints --------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        """True while a savepoint is open (an Atomic, a command, a bootstrap)."""
        return self._open_savepoints > 0

    def savepoint(self) -> Savepoint:
        """Remember the current state; pair with :meth:`rollback` or :meth:`release`."""
        self._open_savepoints += 1
        return Savepoint(nodes=dict(self._nodes), undo_len=len(self._undo))

    def rollback(self, point: Savepoint) -> bool:
        """Return to ``point``: restore the nodes and undo backend changes in reverse.

        Returns ``False`` when an undo hook raised (the stored copy is restored
        anyway; the device may be inconsistent: OMA-TS-DM_RepPro-V1_2_1 §4.1.6 516).
        """
        self._close_savepoint()
        self._nodes = dict(point.nodes)
        ok = True
        while len(self._undo) > point.undo_len:
            step = self._undo.pop()
            try:
                step()
            except Exception:  # a backend's own failure, whatever it is
                ok = False
        return ok

    def release(self, point: Savepoint) -> None:
        """Keep the changes made since ``point`` (forget the undo steps when outermost)."""
        self._close_savepoint()
        if self._open_savepoints == 0:
            self._undo.clear()

    def _journal(self, step: Callable[[], None]) -> None:
        # Undo steps are only needed while a savepoint is open.
        if self._open_savepoints:
            self._undo.append(step)

    def _close_savepoint(self) -> None:
        if self._open_savepoints <= 0:
            raise InvalidValueError("tree.savepoint", "no savepoint is open")
        self._open_savepoints -= 1

    # -- local mutations (no ACL checks) -----------------------------------------

    def _stamp(self, node: Node) -> Node:
        # OMA-TS-DM_TND-V1_2 §8.3: TStamp = time of last change; VerNo 16-bit counter, wraps.
        tstamp = self._clock() if self._clock is not None else node.tstamp
        return attrs.evolve(node, tstamp=tstamp, verno=(node.verno + 1) & 0xFFFF)

    def add_node(self, path: Path, node: Node) -> None:
        """Create ``node`` at ``path``; the parent must be an existing interior node."""
        if not path:
            raise TreeCommandError(StatusCode.ALREADY_EXISTS, "tree.exists", ".")
        if path in self._nodes:
            raise TreeCommandError(StatusCode.ALREADY_EXISTS, "tree.exists", format_uri(path))
        if len(self._nodes) >= self.max_nodes:
            raise TreeCommandError(StatusCode.DEVICE_FULL, "tree.full", format_uri(path))
        parent = self._nodes.get(path[:-1])
        if parent is None or not parent.is_interior:
            # OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Add: the parent must be an existing interior node.
            code = StatusCode.NOT_FOUND if parent is None else StatusCode.COMMAND_NOT_ALLOWED
            raise TreeCommandError(code, "tree.parent", format_uri(path[:-1]))
        node = attrs.evolve(node, name=path[-1], children=())
        found = self.ddf.rule_for(path)
        if found is not None:
            # OMA-TS-DM_TND-V1_2 §8.5: a DDF AccessType/Scope describes every node it matches.
            rule = found[1]
            permanent = rule.permanent or node.permanent
            node = attrs.evolve(node, access=rule.access, permanent=permanent)
        if self._clock is not None and node.tstamp is None:
            node = attrs.evolve(node, tstamp=self._clock())
        uri = format_uri(path)
        backend = self.backend_for(path)
        if backend is not None:
            _guard(backend.added, uri, node)
            self._journal(lambda: backend.deleted(uri, node))
        self._nodes[path] = node
        self._nodes[path[:-1]] = attrs.evolve(parent, children=(*parent.children, path[-1]))

    def add_interior_chain(self, path: Path) -> None:
        """Create ``path`` and any missing interior ancestors (device-side setup)."""
        for depth in range(1, len(path) + 1):
            if path[:depth] not in self._nodes:
                self.add_node(path[:depth], Node(name=path[depth - 1], format=NodeFormat.NODE))

    def update_node(self, path: Path, new: Node, *, stamp: bool = True) -> None:
        """Replace the stored node at ``path`` (value and/or properties)."""
        old = self.require(path)
        new = attrs.evolve(new, name=old.name, children=old.children)
        if stamp:
            new = self._stamp(new)
        uri = format_uri(path)
        backend = self.backend_for(path)
        if backend is not None:
            _guard(backend.replaced, uri, old, new)
            self._journal(lambda: backend.replaced(uri, new, old))
        self._nodes[path] = new

    def remove_subtree(self, path: Path) -> None:
        """Delete ``path`` and its whole subtree (children first for backends)."""
        if not path:
            raise TreeCommandError(StatusCode.COMMAND_NOT_ALLOWED, "tree.root", ".")
        self.require(path)
        doomed = list(self.walk(path))
        for sub in reversed(doomed):
            backend = self.backend_for(sub)
            if backend is not None:
                node, uri = self._nodes[sub], format_uri(sub)
                _guard(backend.deleted, uri, node)
                self._journal(_undo_add(backend, uri, node))
        for sub in doomed:
            del self._nodes[sub]
        parent = self._nodes[path[:-1]]
        kids = tuple(c for c in parent.children if c != path[-1])
        self._nodes[path[:-1]] = attrs.evolve(parent, children=kids)

    def rename(self, path: Path, new_name: str) -> None:
        """Rename a node (Replace on ``?prop=Name``), moving its subtree."""
        parent_path = path[:-1]
        target = (*parent_path, new_name)
        if target in self._nodes:
            raise TreeCommandError(StatusCode.ALREADY_EXISTS, "tree.exists", format_uri(target))
        moved = list(self.walk(path))
        old = self._nodes[path]
        self.update_node(path, attrs.evolve(old, name=new_name))
        for sub in moved:
            node = self._nodes.pop(sub)
            self._nodes[target + sub[len(path) :]] = node
        renamed = attrs.evolve(self._nodes[target], name=new_name)
        self._nodes[target] = renamed
        parent = self._nodes[parent_path]
        kids = tuple(new_name if c == path[-1] else c for c in parent.children)
        self._nodes[parent_path] = attrs.evolve(parent, children=kids)

    def set_acl(self, uri: str, acl: str) -> None:
        """Set a node's ACL property locally (``""`` = no value, inherit).

        Raises:
            InvalidValueError: ``acl.syntax`` for a malformed ACL, or ``acl.root``
                when clearing the root ACL (OMA-TS-DM_TND-V1_2 §8.3.7.1: the root always has one).
            TreeCommandError: 404 when the node does not exist.
        """
        path = parse_path(uri)
        parsed = parse_acl(acl)
        if not path and parsed is None:
            raise InvalidValueError("acl.root", "the root ACL must have a value")
        self.update_node(path, attrs.evolve(self.require(path), acl=parsed), stamp=False)

    def remove_server(self, server_id: str) -> None:
        """Delete a ServerID from every ACL (OMA-TS-DM_TND-V1_2 §8.3.7.1 "Deleting a ServerID")."""
        for path, node in list(self._nodes.items()):
            if node.acl is not None:
                acl = node.acl.without_server(server_id, is_root=not path)
                self._nodes[path] = attrs.evolve(node, acl=acl)

    # -- asynchronous Exec ---------------------------------------------------------

    def exec_accepted(self, request: ExecRequest) -> None:
        """Record an Exec answered 202 so the app can finish it later."""
        if request.correlator is not None:
            self._pending_exec[request.correlator] = request

    def pending_execs(self) -> tuple[ExecRequest, ...]:
        """Exec requests accepted (202) and not yet completed."""
        return tuple(self._pending_exec.values())

    def complete_exec(
        self, correlator: str, result_code: int, *, alert_type: str, mark: str | None = None
    ) -> Alert:
        """Finish an asynchronous Exec: queue and return the Generic Alert (1226)
        that reports ``result_code`` with the Exec's Correlator (OMA-TS-DM_RepPro-V1_2_1 §4.2,
        FUMO).

        Raises:
            InvalidValueError: ``exec.unknown_correlator`` when no pending Exec has it.
        """
        request = self._pending_exec.pop(correlator, None)
        if request is None:
            raise InvalidValueError(
                "exec.unknown_correlator", "no pending Exec with this Correlator"
            )
        alert = Alert(
            cmd_id=None,
            code=AlertCode.GENERIC_ALERT,
            correlator=correlator,
            items=[
                Item(
                    source=Location(loc_uri=request.uri),
                    meta=Meta(format="int", type=alert_type, mark=mark),
                    data=str(int(result_code)),  # never an IntEnum name (3.10)
                )
            ],
        )
        self._alerts.append(alert)
        return alert

    def take_generic_alerts(self) -> tuple[Alert, ...]:
        """Generic Alerts queued by :meth:`complete_exec`, oldest first (then cleared)."""
        out, self._alerts = tuple(self._alerts), []
        return out


def _guard(hook: Callable[..., _T], *args: object) -> _T:
    """Call a backend hook; any exception it raises becomes a 500 for the command."""
    try:
        return hook(*args)
    except Exception as exc:  # the backend is application code: anything may escape
        raise TreeCommandError(
            StatusCode.COMMAND_FAILED, "backend.failed", type(exc).__name__
        ) from exc


def _undo_add(backend: Backend, uri: str, node: Node) -> Callable[[], None]:
    return lambda: backend.added(uri, node)
