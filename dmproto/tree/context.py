"""What every command handler shares: the execution context and the common checks
(target URI, URI limits, ACL and AccessType), OMA-TS-DM_RepPro-V1_2_1 §4.1.6;
OMA-TS-DM_TND-V1_2 §8.3.7.1, §8.5."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ..codec.model import Add, Alert, Copy, Delete, Exec, Get, Item, Meta, Replace
from ..codes import StatusCode
from ..outcome import CommandOutcome
from .acl import AclCommand
from .errors import TreeCommandError
from .node import Access, Node
from .store import NodeStore, Path
from .uri import ParsedUri, check_uri_limits, format_uri, parse_uri

__all__ = [
    "INBOX",
    "Ctx",
    "ItemCmd",
    "UiHandler",
    "check_access",
    "check_acl",
    "fail",
    "merged_meta",
    "node_path",
    "target_of",
]

ItemCmd = Add | Replace | Delete | Copy | Exec
#: Answers a UI alert (1100–1104) for the device's user.
UiHandler = Callable[[Alert], CommandOutcome]

#: OMA-TS-DM_StdObj-V1_2_1 §7.1 Inbox: reserved node where MOs are dropped for placement.
INBOX = "Inbox"


@attrs.define
class Ctx:
    """One execute() call: the tree, who is asking, the UI hook, Atomic nesting."""

    tree: NodeStore
    server_id: str | None  # None = the device itself (bootstrap): no ACL checks
    ui: UiHandler | None
    in_atomic: bool = False


def fail(code: StatusCode, reason: str, detail: str = "") -> TreeCommandError:
    """The error that ends a command with ``code``."""
    return TreeCommandError(code, reason, detail)


def target_of(item: Item) -> ParsedUri:
    """The parsed Target URI of an Item (412 without Target)."""
    if item.target is None:
        raise fail(StatusCode.INCOMPLETE_COMMAND, "item.target", "Item without Target")
    return parse_uri(item.target.loc_uri)


def merged_meta(command: ItemCmd | Get, item: Item) -> Meta:
    """The Meta in force for an Item: its own fields over the command's."""
    # The Item's Meta refines the command's Meta field by field.
    base, own = command.meta or Meta(), item.meta or Meta()
    return Meta(
        format=own.format or base.format,
        type=own.type or base.type,
        size=own.size if own.size is not None else base.size,
    )


def check_acl(ctx: Ctx, path: Path, command: AclCommand) -> None:
    """425 unless the requesting server holds ``command`` on ``path``."""
    # OMA-TS-DM_TND-V1_2 §8.3.7.1: rights are checked against the authenticated server's ServerID.
    if ctx.server_id is not None and not ctx.tree.allows(path, command, ctx.server_id):
        raise fail(StatusCode.PERMISSION_DENIED, "acl.denied", format_uri(path))


def check_access(node: Node, access: Access) -> None:
    """405 unless the node's AccessType includes ``access``."""
    # OMA-TS-DM_TND-V1_2 §8.5: AccessType is independent of the ACL; a missing command -> 405.
    if not node.allows(access):
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "access.denied", access.value)


def node_path(ctx: Ctx, parsed: ParsedUri) -> Path:
    """The node path of a parsed URI after the DevDetail/URI limit check (414)."""
    check_uri_limits(parsed.path, ctx.tree.uri_limits())
    return parsed.path
