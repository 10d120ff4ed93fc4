"""Get: leaf values, child lists, properties and ``?list=`` listings
(OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Get, OMA-TS-DM_TND-V1_2 §8.3, §8.4)."""

from __future__ import annotations

from ..codec.model import Get, Item, Location, Meta, XmlData
from ..codes import StatusCode
from ..outcome import CommandOutcome
from .acl import AclCommand
from .context import INBOX, Ctx, check_access, check_acl, fail, node_path, target_of
from .errors import TreeCommandError
from .node import Access, Node
from .store import Path
from .tnds_io import TNDS_TYPES, encode_subtree, export_tnds
from .uri import ListKind, format_uri
from .values import value_size, value_to_wire

__all__ = ["execute_get"]


def execute_get(ctx: Ctx, command: Get) -> CommandOutcome:
    if not command.items:
        return CommandOutcome(code=StatusCode.INCOMPLETE_COMMAND)
    results: list[Item] = []
    try:
        for item in command.items:
            results.extend(_get_item(ctx, command, item))
    except TreeCommandError as exc:
        return CommandOutcome(code=exc.code)
    return CommandOutcome(code=StatusCode.OK, results=results)


def _readable(ctx: Ctx, path: Path) -> bool:
    node = ctx.tree.require(path)
    # OMA-TS-DM_StdObj-V1_2_1 §7.1: nothing below ./Inbox is readable, listings included.
    if path[:1] == (INBOX,) or not node.allows(Access.GET):
        return False
    return ctx.server_id is None or ctx.tree.allows(path, AclCommand.GET, ctx.server_id)


def _leaf_item(ctx: Ctx, path: Path, node: Node, *, with_data: bool = True) -> Item:
    uri = format_uri(path)
    if node.is_interior:
        data: str | bytes | None = "/".join(node.children)
        meta = Meta(format="node", type=node.type)
    else:
        data, fmt_name = value_to_wire(node.format, ctx.tree.read_value(path), ctx.tree.binary_wire)
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Results: Meta only when not the defaults chr / text/plain.
        mtype = None if node.type in (None, "text/plain") else node.type
        fmt = None if fmt_name == "chr" else fmt_name
        meta = Meta(format=fmt, type=mtype)
    return Item(
        source=Location(loc_uri=uri),
        meta=meta if (meta.format or meta.type) else None,
        data=data if with_data else None,
    )


def _get_item(ctx: Ctx, command: Get, item: Item) -> list[Item]:
    parsed = target_of(item)
    path = node_path(ctx, parsed)
    if path[:1] == (INBOX,):
        # OMA-TS-DM_StdObj-V1_2_1 §7.1: Get on ./Inbox or below -> 405.
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "inbox.get")
    node = ctx.tree.require(path)
    check_access(node, Access.GET)
    check_acl(ctx, path, AclCommand.GET)
    if parsed.prop is not None:
        return [_property_item(ctx, path, node, parsed.prop)]
    if parsed.listing is None:
        return [_leaf_item(ctx, path, node)]

    def visible(p: Path) -> tuple[Path, ...]:
        kids = ctx.tree.require(p).children
        return tuple(c for c in ((*p, k) for k in kids) if _readable(ctx, c))

    if parsed.listing.kind is ListKind.TNDS:
        doc = export_tnds(
            ctx.tree.require,
            visible,
            ctx.tree.read_value,
            path,
            properties=parsed.listing.properties,
        )
        text = encode_subtree(doc).decode("utf-8")
        start = text.find("<MgmtTree")
        return [
            Item(
                source=Location(loc_uri=format_uri(path)),
                meta=Meta(format="xml", type=TNDS_TYPES[0]),
                data=XmlData(text[start:] if start >= 0 else text),
            )
        ]
    # OMA-TS-DM_TND-V1_2 §8.4 Struct / StructData: one Item per readable node, parents first.
    out: list[Item] = []
    stack = [path]
    while stack:
        current = stack.pop()
        cnode = ctx.tree.require(current)
        with_data = parsed.listing.kind is ListKind.STRUCT_DATA and not cnode.is_interior
        out.append(_leaf_item(ctx, current, cnode, with_data=with_data))
        stack.extend(reversed(visible(current)))
    return out


def _property_item(ctx: Ctx, path: Path, node: Node, prop: str) -> Item:
    # OMA-TS-DM_TND-V1_2 §8.3, §8.4: property values are strings; unset ones are empty.
    values: dict[str, str | None] = {
        "ACL": str(node.acl) if node.acl is not None else "",
        "Format": node.format.value,
        "Name": node.name,
        "Title": node.title or "",
        "TStamp": node.tstamp or "",
        "Type": node.type or "",
        "VerNo": str(node.verno),
        # OMA-TS-DM_TND-V1_2 §8.3: Size MUST NOT be supported for interior nodes.
        "Size": None if node.is_interior else str(value_size(ctx.tree.read_value(path))),
    }
    value = values[prop]
    if value is None:
        raise fail(StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED, "property.unsupported", prop)
    return Item(source=Location(loc_uri=f"{format_uri(path)}?prop={prop}"), data=value)
