"""The device management tree: nodes, properties, ACLs, command semantics.

Entry point for a device application::

    from dmproto.tree import DeviceInfo, build_device_tree, devinfo_items

    tree = build_device_tree(DeviceInfo(dev_id="IMEI:...", man="ACME", mod="X1"))
    dev_info = devinfo_items(tree)        # -> ClientConfig(dev_info=...)
    outcome = tree.execute(command, server_id="srv1", ui=my_ui)   # -> CommandOutcome

The standard-object builders (:mod:`dmproto.tree.stdobj`: ``build_device_tree``,
``DeviceInfo``, ``devinfo_items``, DM accounts) are importable from here.

See :mod:`dmproto.tree.executor` for the command semantics (OMA-TS-DM_RepPro-V1_2_1 §4.1.6),
:mod:`dmproto.tree.stdobj` for the standard objects and account helpers,
:mod:`dmproto.tree.tnds_io` for TNDS, :mod:`dmproto.tree.ddf` for DDF rules and
:mod:`dmproto.tree.bootstrap` for DM-profile bootstrap and :mod:`dmproto.tree.cp`
for the CP-profile w7 mapping.

Backends (:class:`Backend`, mounted with :meth:`ManagementTree.mount`) map a
subtree to device functions; Exec goes to the backend's ``execute`` hook, and an
asynchronous Exec (202) is finished with :meth:`ManagementTree.complete_exec`, which
queues the Generic Alert the session sends (:meth:`ManagementTree.take_generic_alerts`).
"""

from __future__ import annotations

from .acl import Acl, AclCommand, parse_acl
from .backend import Backend, ExecRequest, ExecResult
from .context import UiHandler
from .ddf import DdfRule, DdfRules
from .errors import TreeCommandError
from .node import Access, Node
from .stdobj import (
    AccountInfo,
    AppAuth,
    AuthLevel,
    DeviceInfo,
    DMAccount,
    add_account,
    build_device_tree,
    devinfo_items,
    find_account,
    store_nonce,
)
from .store import Savepoint
from .tree import ManagementTree
from .uri import Listing, ListKind, ParsedUri, UriLimits, format_uri, parse_path, parse_uri
from .values import BinaryWire, NodeFormat

__all__ = [
    "Access",
    "AccountInfo",
    "Acl",
    "AclCommand",
    "AppAuth",
    "AuthLevel",
    "Backend",
    "BinaryWire",
    "DMAccount",
    "DdfRule",
    "DdfRules",
    "DeviceInfo",
    "ExecRequest",
    "ExecResult",
    "ListKind",
    "Listing",
    "ManagementTree",
    "Node",
    "NodeFormat",
    "ParsedUri",
    "Savepoint",
    "TreeCommandError",
    "UiHandler",
    "UriLimits",
    "add_account",
    "build_device_tree",
    "devinfo_items",
    "find_account",
    "format_uri",
    "parse_acl",
    "parse_path",
    "parse_uri",
    "store_nonce",
]
