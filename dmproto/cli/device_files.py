"""The files of ``dmproto device``: its state (``--state``) and a value file (``--tree``)
(the wire trace, ``--trace``, is :mod:`.trace`, shared with ``serve``).

* State: one JSON document ``{"format": "dmproto-device-state", "version": 1,
  "device_id": ..., "nodes": [...]}`` holding every node of the management tree
  with its value and properties (ACL, Format, Type, Title, TStamp, VerNo, Scope,
  AccessType; OMA-TS-DM_TND-V1_2 §8.3, §8.5). The DMAcc account and both nonces live in
  the tree, where OMA-TS-DM_StdObj-V1_2_1 (DMAcc) puts them (``AppAuth/<X>/AAuthData``
  of the CLCRED and SRVCRED entries). It is written atomically: a temporary file
  in the same directory, fsync, ``os.replace``. A file that is not such a document
  is refused (exit 2), never replaced.
* Value file: ``{uri: value}`` for leaves; see :func:`load_values`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DMError
from ..tree import ManagementTree, Node, NodeFormat
from ..tree.acl import parse_acl
from ..tree.node import ALL_ACCESS, Access
from ..tree.uri import format_uri, parse_path

__all__ = [
    "STATE_FORMAT",
    "STATE_VERSION",
    "StateFileError",
    "load_state",
    "load_values",
    "save_state",
    "save_values",
    "write_atomic",
]

STATE_FORMAT = "dmproto-device-state"
STATE_VERSION = 1


class StateFileError(Exception):
    """A state or value file cannot be used (one line; the CLI exits 2)."""


# -- atomic writes -------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a crash leaves the old or the new file whole:
    a temporary file in the same directory, flushed to disk, then ``os.replace``."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself, where directories sync
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# -- the state file --------------------------------------------------------------------


def _node_json(tree: ManagementTree, path: tuple[str, ...], node: Node) -> dict[str, Any]:
    entry: dict[str, Any] = {"uri": format_uri(path), "format": node.format.value}
    for name in ("type", "title", "tstamp"):
        if getattr(node, name) is not None:
            entry[name] = getattr(node, name)
    if node.acl is not None:
        entry["acl"] = str(node.acl)
    if node.verno:
        entry["verno"] = node.verno
    if node.permanent:
        entry["permanent"] = True
    if node.access != ALL_ACCESS:
        entry["access"] = sorted(a.value for a in node.access)
    if not node.is_interior:
        value = tree.read_value(path)
        if isinstance(value, bytes):
            entry["value_b64"] = base64.b64encode(value).decode("ascii")
        elif value is not None:
            entry["value"] = value
    return entry


def _optional(entry: dict[str, Any], name: str, kind: type) -> Any:
    value = entry.get(name)
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"{entry.get('uri')}: {name!r} must be a {kind.__name__}")
    return value


def _node_from_json(entry: object) -> tuple[tuple[str, ...], Node]:
    if not isinstance(entry, dict) or not isinstance(entry.get("uri"), str):
        raise ValueError("every node is an object with a 'uri'")
    path = parse_path(entry["uri"])
    value: str | bytes | None = _optional(entry, "value", str)
    if "value_b64" in entry:
        value = base64.b64decode(_optional(entry, "value_b64", str), validate=True)
    acl_text = _optional(entry, "acl", str)
    access = entry.get("access")
    if access is not None and not isinstance(access, list):
        raise ValueError(f"{entry['uri']}: 'access' must be a list")
    verno = _optional(entry, "verno", int) or 0
    node = Node(
        name=path[-1] if path else "",
        format=NodeFormat(_optional(entry, "format", str)),
        type=_optional(entry, "type", str),
        value=value,
        acl=parse_acl(acl_text) if acl_text is not None else None,
        title=_optional(entry, "title", str),
        tstamp=_optional(entry, "tstamp", str),
        verno=verno,
        permanent=bool(_optional(entry, "permanent", bool)),
        access=ALL_ACCESS if access is None else frozenset(Access(a) for a in access),
    )
    return path, node


def load_state(
    path: Path, base_tree: Callable[[str], ManagementTree]
) -> tuple[str, ManagementTree] | None:
    """The device id and tree a state file holds; ``None`` when the file is missing.

    ``base_tree(device_id)`` builds the device's standard tree (whose DDF rules the
    stored nodes are laid over); nodes it has that the state lacks were deleted by a
    server and are removed again.

    Raises:
        StateFileError: unreadable, not JSON, not a device state, another version,
            or a node that does not fit the tree.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(f"cannot read state file {path}: {exc}") from None
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
            raise ValueError(f"not a {STATE_FORMAT} file")
        if doc.get("version") != STATE_VERSION:
            raise ValueError(f"version {doc.get('version')!r}, expected {STATE_VERSION}")
        device_id, entries = doc.get("device_id"), doc.get("nodes")
        if not isinstance(device_id, str) or not isinstance(entries, list):
            raise ValueError("'device_id' (a string) and 'nodes' (a list) are required")
        tree = base_tree(device_id)
        before = set(tree.paths())
        stored: set[tuple[str, ...]] = set()
        for entry in entries:
            node_path, node = _node_from_json(entry)
            stored.add(node_path)
            if tree.node(node_path) is not None:
                tree.update_node(node_path, node, stamp=False)
            else:
                tree.add_node(node_path, node)
        for gone in sorted(before - stored, key=len):
            if tree.node(gone) is not None:
                tree.remove_subtree(gone)
    except (ValueError, TypeError, DMError) as exc:
        detail = " ".join(str(exc).split())
        raise StateFileError(f"state file {path} is not usable: {detail}") from None
    return device_id, tree


def save_state(path: Path, device_id: str, tree: ManagementTree) -> None:
    """Write the whole tree (so the DMAcc account and nonces too), atomically."""
    nodes = [_node_json(tree, p, tree.require(p)) for p in tree.paths()]
    doc = {"format": STATE_FORMAT, "version": STATE_VERSION, "device_id": device_id, "nodes": nodes}
    write_atomic(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


# -- the value file ----------------------------------------------------------------------

#: Subtrees the device rebuilds at every start; a value file does not save them.
_REBUILT = ("DevInfo", "DevDetail", "DMAcc")


def load_values(tree: ManagementTree, path: Path) -> tuple[str, ...]:
    """Set the leaves of ``{uri: value}`` in ``path`` (any URI: missing interior
    nodes are created, existing leaves get the new value); returns the URIs.

    Raises:
        StateFileError: missing or unreadable file, not a JSON object of strings,
            or a URI that cannot be a leaf.
    """
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise ValueError("expected a JSON object {uri: string value}")
        for uri, value in values.items():
            leaf = parse_path(uri)
            if not leaf:
                raise ValueError("the root is not a leaf")
            node = tree.node(leaf)
            if node is None:
                tree.add_interior_chain(leaf[:-1])
                tree.add_node(leaf, Node(name=leaf[-1], format=NodeFormat.CHR, value=value))
            elif node.is_interior:
                raise ValueError(f"{uri} is an interior node")
            else:
                tree.update_node(
                    leaf,
                    Node(
                        name=node.name,
                        format=node.format,
                        type=node.type,
                        value=value,
                        acl=node.acl,
                        permanent=node.permanent,
                        access=node.access,
                    ),
                )
    except (OSError, UnicodeDecodeError, ValueError, DMError) as exc:
        detail = " ".join(str(exc).split())
        raise StateFileError(f"tree file {path}: {detail}") from None
    return tuple(values)


def save_values(tree: ManagementTree, path: Path, listed: tuple[str, ...]) -> None:
    """Write the text leaves outside the rebuilt standard objects, plus the ``listed``
    URIs that still exist, as ``{uri: value}`` (atomically)."""
    values: dict[str, str] = {}
    for node_path in tree.paths():
        node = tree.node(node_path)
        if node is None or node.is_interior:
            continue
        uri = format_uri(node_path)
        if node_path[0] in _REBUILT and uri not in listed:
            continue
        value = tree.read_value(node_path)
        if isinstance(value, str):
            values[uri] = value
    write_atomic(path, json.dumps(values, indent=2, ensure_ascii=False) + "\n")
