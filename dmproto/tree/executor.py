"""DM command semantics on a management tree (OMA-TS-DM_RepPro-V1_2_1 §4.1.6, §4.2;
OMA-TS-DM_TND-V1_2 §8.3.7.1, §8.4).

:func:`execute_command` (used by :meth:`ManagementTree.execute`) answers one server
command with a :class:`~dmproto.outcome.CommandOutcome`:

* every item command (Add, Replace, Delete, Copy, Exec) is all-or-nothing over its
  Items; the first failing Item's status is the command's status;
* Atomic: children in order; on the first failure everything executed is rolled
  back (216), the failing child keeps its code, the rest get 215, the Atomic 507
  (516 if an undo failed). Nested Atomic, Get or Exec inside Atomic -> 500;
* Sequence: children in order; after a UI cancel (214) or confirm "No" (304) the
  rest get 215; the Sequence itself is 200;
* UI alerts 1100–1104 go to the ``ui`` callable (406 without one).

Design choices where the spec is open: malformed URIs get 400; Copy onto a missing
target creates it (needs Add on the parent); Exec inside Atomic is refused with 500
(OMA-TS-DM_RepPro-V1_2_1 §4.1.6.6 allows Exec only in SyncBody or Sequence, and an Exec cannot be
undone); a UI cancel inside Atomic fails the Atomic like a "No".

Get (values, properties, listings) is in :mod:`dmproto.tree.query`; the shared
checks are in :mod:`dmproto.tree.context`.
"""

from __future__ import annotations

import attrs

from ..codec.model import (
    Add,
    Alert,
    Atomic,
    Command,
    Copy,
    Delete,
    Exec,
    Get,
    Item,
    Location,
    Replace,
    Sequence,
    XmlData,
)
from ..codes import StatusCode
from ..errors import InvalidValueError
from ..outcome import CommandOutcome
from .acl import Acl, AclCommand, parse_acl
from .backend import ExecRequest
from .context import (
    INBOX,
    Ctx,
    ItemCmd,
    UiHandler,
    check_access,
    check_acl,
    fail,
    merged_meta,
    node_path,
    target_of,
)
from .errors import TreeCommandError
from .node import Access, Node
from .query import execute_get
from .store import NodeStore, Path
from .tnds_io import (
    TNDS_TYPES,
    TndsEntry,
    decode_tnds_data,
    flatten_tnds,
)
from .uri import format_uri, parse_path, parse_uri
from .values import NodeFormat, value_from_wire

__all__ = ["execute_command"]


def execute_command(
    tree: NodeStore,
    command: Command,
    *,
    server_id: str | None,
    ui: UiHandler | None = None,
) -> CommandOutcome:
    """Execute ``command`` against ``tree`` as server ``server_id``.

    ``server_id=None`` runs with the device's own authority (no ACL checks), as a
    bootstrap does (OMA-TS-DM_Bootstrap-V1_2_1 §3.1).
    """
    return _run(Ctx(tree=tree, server_id=server_id, ui=ui), command)


# -- dispatch and groups ---------------------------------------------------------


def _run(ctx: Ctx, command: Command) -> CommandOutcome:
    if isinstance(command, Atomic):
        return _atomic(ctx, command)
    if isinstance(command, Sequence):
        return _sequence(ctx, command)
    if isinstance(command, Alert):
        return _alert(ctx, command)
    if isinstance(command, Get):
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.6: Get inside Atomic -> 500.
        if ctx.in_atomic:
            return CommandOutcome(code=StatusCode.COMMAND_FAILED)
        return execute_get(ctx, command)
    if isinstance(command, Exec) and ctx.in_atomic:
        return CommandOutcome(code=StatusCode.COMMAND_FAILED)
    if isinstance(command, Add | Replace | Delete | Copy | Exec):
        return _item_command(ctx, command)
    # Status, Results, commands DM does not use: not something a tree executes.
    return CommandOutcome(code=StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)


def _not_executed(command: Command) -> CommandOutcome:
    kids = command.commands if isinstance(command, Atomic | Sequence) else ()
    return CommandOutcome(code=StatusCode.NOT_EXECUTED, children=(_not_executed(c) for c in kids))


def _is_failure(outcome: CommandOutcome) -> bool:
    # A cancel (214) or any 3xx-5xx (304 = confirm "No") fails an Atomic
    # (OMA-TS-DM_RepPro-V1_2_1 §4.2).
    return (
        outcome.code == StatusCode.OPERATION_CANCELLED
        or outcome.code >= 300
        or any(_is_failure(c) for c in outcome.children)
    )


def _rolled_back(outcome: CommandOutcome) -> CommandOutcome:
    # OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Atomic: executed commands report 216; failures and 215 keep
    # theirs.
    own_failure = outcome.code >= 300 or outcome.code in (
        StatusCode.OPERATION_CANCELLED,
        StatusCode.NOT_EXECUTED,
    )
    return attrs.evolve(
        outcome,
        code=outcome.code if own_failure else StatusCode.ATOMIC_ROLLBACK_OK,
        results=(),
        children=(_rolled_back(c) for c in outcome.children),
    )


def _atomic(ctx: Ctx, atomic: Atomic) -> CommandOutcome:
    if ctx.in_atomic:
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.6: nested Atomic -> 500 (and the parent fails with 507).
        return CommandOutcome(
            code=StatusCode.COMMAND_FAILED,
            children=(_not_executed(c) for c in atomic.commands),
        )
    point = ctx.tree.savepoint()
    ctx.in_atomic = True
    done: list[CommandOutcome] = []
    try:
        for child in atomic.commands:
            done.append(_run(ctx, child))
            if _is_failure(done[-1]):
                break
    except BaseException:
        # The application's ui hook raised: leave no partial change behind.
        ctx.tree.rollback(point)
        raise
    finally:
        ctx.in_atomic = False
    if not done or not _is_failure(done[-1]):
        ctx.tree.release(point)
        return CommandOutcome(code=StatusCode.OK, children=done)
    undone = ctx.tree.rollback(point)
    if undone:
        done = [_rolled_back(o) for o in done]
    rest = [_not_executed(c) for c in atomic.commands[len(done) :]]
    return CommandOutcome(
        code=StatusCode.ATOMIC_FAILED if undone else StatusCode.ATOMIC_ROLLBACK_FAILED,
        children=(*done, *rest),
    )


def _sequence(ctx: Ctx, sequence: Sequence) -> CommandOutcome:
    out: list[CommandOutcome] = []
    stop = False
    for child in sequence.commands:
        if stop:
            out.append(_not_executed(child))
            continue
        outcome = _run(ctx, child)
        out.append(outcome)
        # OMA-TS-DM_RepPro-V1_2_1 §4.2: after a cancel or a confirm "No" the rest is bypassed (215);
        # inside Atomic the first failure ends the whole group.
        stop = (
            isinstance(child, Alert)
            and outcome.code in (StatusCode.OPERATION_CANCELLED, StatusCode.NOT_MODIFIED)
        ) or (ctx.in_atomic and _is_failure(outcome))
    return CommandOutcome(code=StatusCode.OK, children=out)


def _alert(ctx: Ctx, alert: Alert) -> CommandOutcome:
    # OMA-TS-DM_RepPro-V1_2_1 §4.2: UI alerts 1100-1104; a client without UI answers 406.
    if alert.code is None or not 1100 <= alert.code <= 1104 or ctx.ui is None:
        return CommandOutcome(code=StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)
    return ctx.ui(alert)


# -- item commands -----------------------------------------------------------------


def _item_command(ctx: Ctx, command: ItemCmd) -> CommandOutcome:
    if not command.items:
        return CommandOutcome(code=StatusCode.INCOMPLETE_COMMAND)
    point = ctx.tree.savepoint()
    code: int = StatusCode.OK
    status_items: tuple[Item, ...] = ()
    try:
        for item in command.items:
            code = _ITEM_HANDLERS[type(command)](ctx, command, item)
    except TreeCommandError as exc:
        ctx.tree.rollback(point)
        if exc.failed_uri is not None:
            status_items = (Item(target=Location(loc_uri=exc.failed_uri)),)
        return CommandOutcome(code=exc.code, status_items=status_items)
    except BaseException:
        ctx.tree.rollback(point)
        raise
    ctx.tree.release(point)
    return CommandOutcome(code=code)


def _add_item(ctx: Ctx, command: ItemCmd, item: Item) -> int:
    parsed = target_of(item)
    if parsed.prop is not None or parsed.listing is not None:
        # OMA-TS-DM_TND-V1_2 §8.3: no Add on properties.
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "add.property")
    path = node_path(ctx, parsed)
    meta = merged_meta(command, item)
    if meta.type in TNDS_TYPES:
        _import_tnds(ctx, path, item.data, replace=False)
        return StatusCode.OK
    if path[:1] == (INBOX,) and len(path) == 2 and ctx.tree.node(path) is None:
        path = _inbox_place(ctx, path, meta.type)
    data = item.data
    found = ctx.tree.ddf.rule_for(path)
    if data is None and found is not None and found[1].default_value is not None:
        # OMA-TS-DM_TND-V1_2 §8.5: DDF DefaultValue fills a leaf added without Data.
        data = found[1].default_value
    fmt, value = value_from_wire(data, meta.format)
    # OMA-TS-DM_RepPro-V1_2_1 §4.1.3: a leaf's Type defaults to text/plain (or the DDF's DFType).
    default_type = found[1].mime_types[0] if found and found[1].mime_types else "text/plain"
    node_type = meta.type or (None if fmt is NodeFormat.NODE else default_type)
    node = Node(name=path[-1] if path else ".", format=fmt, type=node_type, value=value)
    _create(ctx, path, node)
    return StatusCode.OK


def _inbox_place(ctx: Ctx, path: Path, mo_type: str | None) -> Path:
    # OMA-TS-DM_StdObj-V1_2_1 §7.1 Inbox: the device places an MO dropped in ./Inbox by its MO type.
    for rule_path, rule in ctx.tree.ddf.rules.items():
        if mo_type is not None and rule.ddf_name == mo_type and rule_path[-1] is None:
            parent = tuple(s for s in rule_path[:-1] if s is not None)
            if len(parent) == len(rule_path) - 1:
                return (*parent, path[-1])
    raise fail(StatusCode.COMMAND_NOT_ALLOWED, "inbox.unknown_type", mo_type or "")


def _inbox_entries(ctx: Ctx, entries: tuple[TndsEntry, ...]) -> tuple[TndsEntry, ...]:
    # OMA-TS-DM_Bootstrap-V1_2_1 §3.1; OMA-TS-DM_StdObj-V1_2_1 §7.1: each top MO of a TNDS added to
    # ./Inbox goes where its type lives.
    moved: dict[Path, Path] = {}
    out = []
    for entry in entries:
        path = entry.path
        if len(path) == 2:
            moved[path] = _inbox_place(ctx, path, entry.node.type)
        top = moved.get(path[:2])
        if top is None:
            raise fail(StatusCode.COMMAND_NOT_ALLOWED, "inbox.path")
        out.append(attrs.evolve(entry, path=(*top, *path[2:])))
    return tuple(out)


def _create(ctx: Ctx, path: Path, node: Node) -> None:
    """Create one node with implicit interior ancestors (OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Add,
    OMA-TS-DM_TND-V1_2 §8.3.7.1)."""
    tree = ctx.tree
    if not path or tree.node(path) is not None:
        raise fail(StatusCode.ALREADY_EXISTS, "add.exists", format_uri(path))
    depth = len(path) - 1
    while depth > 0 and tree.node(path[:depth]) is None:
        depth -= 1
    anchor = tree.require(path[:depth])
    if not anchor.is_interior:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "add.under_leaf", format_uri(path[:depth]))
    check_acl(ctx, path[:depth], AclCommand.ADD)
    for level in range(depth + 1, len(path)):
        implicit = Node(name=path[level - 1], format=NodeFormat.NODE)
        try:
            _create_one(ctx, path[:level], implicit)
        except TreeCommandError as exc:
            # OMA-TS-DM_RepPro-V1_2_1 §4.1.6: report the interior node that could not be created.
            raise TreeCommandError(
                exc.code, exc.reason, failed_uri=format_uri(path[:level])
            ) from None
    _create_one(ctx, path, node)


def _create_one(ctx: Ctx, path: Path, node: Node) -> None:
    tree = ctx.tree
    found = tree.ddf.rule_for(path)
    if found is not None:
        pattern, rule = found
        if Access.ADD not in rule.access:
            raise fail(StatusCode.COMMAND_NOT_ALLOWED, "ddf.access", "Add")
        if rule.df_format is not None and _format_family(rule.df_format) != _format_family(
            node.format
        ):
            raise fail(StatusCode.UNSUPPORTED_MEDIA_TYPE, "ddf.format", rule.df_format.value)
        if rule.mime_types and not node.is_interior and node.type not in rule.mime_types:
            raise fail(StatusCode.UNSUPPORTED_MEDIA_TYPE, "ddf.type", node.type or "")
        siblings = tree.require(path[:-1]).children
        count = tree.ddf.siblings_matching(pattern, path[:-1], siblings)
        if rule.max_occurs is not None and count >= rule.max_occurs:
            raise fail(StatusCode.COMMAND_NOT_ALLOWED, "ddf.occurrence", format_uri(path))
    if (
        ctx.server_id is not None
        and node.is_interior
        and node.acl is None
        and not tree.allows(path[:-1], AclCommand.REPLACE, ctx.server_id)
    ):
        # OMA-TS-DM_TND-V1_2 §8.3.7.1 (new nodes): an interior node added by a server
        # without Replace on the parent MUST get an ACL giving the creator Add, Delete
        # and Replace. We grant Get as well: the same rule says the server SHOULD then
        # give itself Delete, Get and Replace, and without Get every Get below the
        # new node would answer 425 to the very server that created it.
        acl = Acl.grant(ctx.server_id, *_CREATOR_RIGHTS)
        node = attrs.evolve(node, acl=acl)
    tree.add_node(path, node)


#: What the creator of an interior node holds when it lacked Replace on the
#: parent (see ``_create_one``).
_CREATOR_RIGHTS = (AclCommand.ADD, AclCommand.DELETE, AclCommand.GET, AclCommand.REPLACE)


def _format_family(fmt: NodeFormat) -> NodeFormat:
    return NodeFormat.BIN if fmt is NodeFormat.B64 else fmt


def _import_tnds(
    ctx: Ctx, base: Path, data: str | bytes | XmlData | None, *, replace: bool
) -> None:
    """Add (or Replace) the subtree a TNDS document describes below ``base``."""
    entries = flatten_tnds(decode_tnds_data(data, limits=ctx.tree.limits), base)
    if base == (INBOX,):
        entries = _inbox_entries(ctx, entries)
    listed = {e.path for e in entries}
    tops = {e.path for e in entries if e.path[:-1] not in listed}
    # One command: rights are checked where the subtree attaches; the nodes inside
    # take the ACLs the TNDS gives them (OMA-TS-DM_Bootstrap-V1_2_1 §3.1).
    inner = attrs.evolve(ctx, server_id=None)
    for entry in entries:
        existing = ctx.tree.node(entry.path)
        if entry.path not in tops:
            _create(inner, entry.path, entry.node)
        elif replace and existing is not None:
            # OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Replace/TNDS: delete the sub-nodes, replace the node,
            # re-add.
            check_acl(ctx, entry.path, AclCommand.REPLACE)
            for child in existing.children:
                _delete_path(ctx, (*entry.path, child))
            new = attrs.evolve(
                existing,
                format=entry.node.format,
                type=entry.node.type,
                value=entry.node.value,
                title=entry.node.title,
                acl=entry.node.acl if entry.node.acl is not None else existing.acl,
            )
            ctx.tree.update_node(entry.path, new)
        else:
            _create(ctx, entry.path, entry.node)


def _replace_item(ctx: Ctx, command: ItemCmd, item: Item) -> int:
    parsed = target_of(item)
    if parsed.listing is not None:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "replace.list")
    path = node_path(ctx, parsed)
    meta = merged_meta(command, item)
    if meta.type in TNDS_TYPES and parsed.prop is None:
        ctx.tree.require(path)
        _import_tnds(ctx, path, item.data, replace=True)
        return StatusCode.OK
    node = ctx.tree.require(path)
    if parsed.prop is not None:
        return _replace_property(ctx, path, node, parsed.prop, item)
    check_access(node, Access.REPLACE)
    check_acl(ctx, path, AclCommand.REPLACE)
    if node.is_interior:
        # An interior node has no value; only its properties can be replaced.
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "replace.interior")
    fmt, value = value_from_wire(item.data, meta.format)
    if fmt is NodeFormat.NODE:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "replace.to_interior")
    found = ctx.tree.ddf.rule_for(path)
    if found and found[1].df_format and _format_family(found[1].df_format) != _format_family(fmt):
        raise fail(StatusCode.UNSUPPORTED_MEDIA_TYPE, "ddf.format", found[1].df_format.value)
    new = attrs.evolve(node, format=fmt, value=value, type=meta.type or node.type)
    ctx.tree.update_node(path, new)
    return StatusCode.OK


def _text(data: str | bytes | XmlData | None) -> str:
    if isinstance(data, XmlData):
        return data.text
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise fail(StatusCode.BAD_REQUEST, "property.encoding") from None
    return data or ""


def _replace_property(ctx: Ctx, path: Path, node: Node, prop: str, item: Item) -> int:
    text = _text(item.data)
    if prop == "ACL":
        # OMA-TS-DM_TND-V1_2 §8.3.7.1: interior: Replace on the node or its parent; leaf: only the
        # parent's Replace right allows changing the ACL.
        if ctx.server_id is not None:
            own = node.is_interior and ctx.tree.allows(path, AclCommand.REPLACE, ctx.server_id)
            parent = ctx.tree.allows(path[:-1] if path else (), AclCommand.REPLACE, ctx.server_id)
            if not (own or parent):
                raise fail(StatusCode.PERMISSION_DENIED, "acl.denied", format_uri(path))
        try:
            acl = parse_acl(text)
        except InvalidValueError:
            raise fail(StatusCode.BAD_REQUEST, "acl.syntax") from None
        if not path and acl is None:
            # OMA-TS-DM_TND-V1_2 §8.3.7.1: the root ACL must always have a value.
            raise fail(StatusCode.COMMAND_NOT_ALLOWED, "acl.root_empty")
        ctx.tree.update_node(path, attrs.evolve(node, acl=acl))
        return StatusCode.OK
    if prop not in ("Name", "Title"):
        # OMA-TS-DM_TND-V1_2 §8.3: Format, Size, TStamp, Type, VerNo are Get-only.
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "property.read_only", prop)
    check_acl(ctx, path, AclCommand.REPLACE)
    if prop == "Title":
        if len(text.encode("utf-8")) > 255:
            raise fail(StatusCode.BAD_REQUEST, "property.title_length")
        ctx.tree.update_node(path, attrs.evolve(node, title=text))
        return StatusCode.OK
    # OMA-TS-DM_TND-V1_2 §8.1, §8.2: permanent nodes (and the root) cannot be renamed.
    if not path or node.permanent:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "rename.permanent")
    if "/" in text or parse_path(text) != (text,):
        raise fail(StatusCode.BAD_REQUEST, "rename.syntax")
    if text != path[-1]:
        ctx.tree.rename(path, text)
    return StatusCode.OK


def _delete_item(ctx: Ctx, command: ItemCmd, item: Item) -> int:
    parsed = target_of(item)
    if parsed.prop is not None or parsed.listing is not None:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "delete.property")
    _delete_path(ctx, node_path(ctx, parsed))
    return StatusCode.OK


def _delete_path(ctx: Ctx, path: Path) -> None:
    if not path:
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Delete: the root cannot be deleted.
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "delete.root")
    node = ctx.tree.require(path)
    check_access(node, Access.DELETE)
    check_acl(ctx, path, AclCommand.DELETE)
    # OMA-TS-DM_TND-V1_2 §8.1, §8.2: permanent nodes (anywhere in the subtree) cannot be deleted.
    if any(ctx.tree.require(p).permanent for p in ctx.tree.walk(path)):
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "delete.permanent")
    found = ctx.tree.ddf.rule_for(path)
    if found is not None and found[1].min_occurs:
        # OMA-TS-DM_TND-V1_2 §8.5 Occurrence: a required node cannot be deleted on its own.
        siblings = ctx.tree.require(path[:-1]).children
        if ctx.tree.ddf.siblings_matching(found[0], path[:-1], siblings) <= found[1].min_occurs:
            raise fail(StatusCode.COMMAND_NOT_ALLOWED, "ddf.occurrence", format_uri(path))
    ctx.tree.remove_subtree(path)


def _copy_item(ctx: Ctx, command: ItemCmd, item: Item) -> int:
    # OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Copy: leaf to leaf; needs Get on the source and Replace (or
    # Add on the parent, for a new target) on the destination.
    if item.source is None:
        raise fail(StatusCode.INCOMPLETE_COMMAND, "copy.source")
    src_parsed = parse_uri(item.source.loc_uri)
    dst_parsed = target_of(item)
    if any(p.prop is not None or p.listing is not None for p in (src_parsed, dst_parsed)):
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "copy.property")
    src = node_path(ctx, src_parsed)
    dst = node_path(ctx, dst_parsed)
    source = ctx.tree.require(src)
    if source.is_interior:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "copy.interior")
    check_access(source, Access.GET)
    check_acl(ctx, src, AclCommand.GET)
    value = ctx.tree.read_value(src)
    target = ctx.tree.node(dst)
    if target is None:
        new = Node(
            name=dst[-1] if dst else ".", format=source.format, type=source.type, value=value
        )
        _create(ctx, dst, new)
        return StatusCode.OK
    if target.is_interior:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "copy.interior")
    check_acl(ctx, dst, AclCommand.REPLACE)
    if not target.allows(Access.REPLACE):
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Copy: target not overwritable for a non-ACL reason -> 403.
        raise fail(StatusCode.FORBIDDEN, "copy.forbidden")
    ctx.tree.update_node(
        dst, attrs.evolve(target, format=source.format, type=source.type, value=value)
    )
    return StatusCode.OK


def _exec_item(ctx: Ctx, command: ItemCmd, item: Item) -> int:
    parsed = target_of(item)
    if parsed.prop is not None or parsed.listing is not None:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "exec.property")
    path = node_path(ctx, parsed)
    node = ctx.tree.require(path)
    check_access(node, Access.EXEC)
    check_acl(ctx, path, AclCommand.EXEC)
    backend = ctx.tree.backend_for(path)
    if backend is None:
        raise fail(StatusCode.COMMAND_NOT_ALLOWED, "exec.no_handler")
    data = item.data.text if isinstance(item.data, XmlData) else item.data
    correlator = command.correlator if isinstance(command, Exec) else None
    request = ExecRequest(
        uri=format_uri(path), data=data, correlator=correlator, server_id=ctx.server_id
    )
    try:
        result = backend.execute(request)
    except Exception:  # application code: any failure is the command's 500
        raise fail(StatusCode.COMMAND_FAILED, "exec.failed") from None
    if result.code == StatusCode.ACCEPTED_FOR_PROCESSING:
        # OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Exec / FUMO: 202 now, a Generic Alert with the Correlator
        # later.
        ctx.tree.exec_accepted(request)
    elif result.code >= 300:
        try:
            code = StatusCode(result.code)
        except ValueError:
            code = StatusCode.COMMAND_FAILED
        raise fail(code, "exec.refused")
    return result.code


_ITEM_HANDLERS = {
    Add: _add_item,
    Replace: _replace_item,
    Delete: _delete_item,
    Copy: _copy_item,
    Exec: _exec_item,
}


# -- Get -------------------------------------------------------------------------------
