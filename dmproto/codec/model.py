"""The one SyncML DM message model, shared by both roles and both encodings.

A decoded message — XML or WBXML — is a :class:`Message`; encoders take the same
model. Every class is an attrs frozen, keyword-only value; sequences are tuples.
Structure and element order follow the SyncML RepPro 1.2 DTD as restricted by DM
RepPro 1.2.1 (OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 DTD).

Conventions (decided once here, relied upon everywhere):

* ``cmd_id`` defaults to ``None`` on every command: an application building a
  command never numbers it (``Get(items=[Item(target=Location(loc_uri="./x"))])``
  is a whole command); a session assigns CmdIDs when it sends them (SyncML
  RepPro 1.2 CmdID: unique within a message, never ``0``).
* Identifiers that travel as PCDATA — SessionID, MsgID, CmdID, MsgRef, CmdRef — are
  kept as the exact strings received (``"0"`` is a legal SessionID; a peer may send
  non-numeric or missing CmdIDs, which a session answers with 400). Codes (Status
  and Alert Data) are ``int``.
* ``Item.data`` is ``str`` (text), ``bytes`` (binary: WBXML OPAQUE whose effective
  Meta Format is ``bin``, or an embedded ``+wbxml`` document), :class:`XmlData`
  (XML markup carried inside ``<Data>``, e.g. a TNDS document), or ``None`` (no
  ``<Data>`` element). ``bytes`` cannot be written as XML (an ``EncodeError``):
  binary over XML is base64 text with Meta Format ``b64`` (OMA-TS-DM_TND-V1_2 §8.3.7.2).
* Commands DM does not use (Sync, Map, Put, Search, ...) decode to
  :class:`UnsupportedCommand`, so a session can answer them with a Status.
* Elements DM does not use (Archive, SftDel, Lang, Cred at command level, DS-only
  MetInf such as Anchor/Mem) are ignored when read and never written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeAlias, TypeVar

import attrs

__all__ = [
    "Add",
    "Alert",
    "Atomic",
    "Chal",
    "Command",
    "Copy",
    "Cred",
    "Delete",
    "Exec",
    "Get",
    "Item",
    "ItemCommand",
    "Location",
    "Message",
    "Meta",
    "Replace",
    "Results",
    "Sequence",
    "Status",
    "SyncHdr",
    "UnsupportedCommand",
    "XmlData",
]


@attrs.frozen
class XmlData:
    """XML markup carried inside ``<Data>`` (TNDS documents, Windows profiles).

    ``text`` is the exact XML text between ``<Data>`` and ``</Data>`` as received;
    the XML encoder writes it verbatim (it must be well-formed XML content).
    """

    text: str


DataValue: TypeAlias = "str | bytes | XmlData"


# Typed converters: with a bare tuple converter mypy cannot check the arguments.
def _strs(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _items(values: Iterable[Item]) -> tuple[Item, ...]:
    return tuple(values)


def _commands(values: Iterable[Command]) -> tuple[Command, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class Location:
    """A Target or Source: ``(LocURI, LocName?)``."""

    loc_uri: str
    loc_name: str | None = None


@attrs.frozen(kw_only=True)
class Meta:
    """MetInf content of a ``<Meta>`` element (OMA-TS-DM_RepPro-V1_2_1 §4.1.3), in DTD order.

    ``size``, ``max_msg_size`` and ``max_obj_size`` are byte counts; ``next_nonce``
    is the base64 text exactly as carried on the wire.
    """

    format: str | None = None
    type: str | None = None
    mark: str | None = None
    size: int | None = None
    version: str | None = None
    next_nonce: str | None = None
    max_msg_size: int | None = None
    max_obj_size: int | None = None
    emi: tuple[str, ...] = attrs.field(default=(), converter=_strs)


@attrs.frozen(kw_only=True)
class Cred:
    """SyncHdr credentials: Meta (Type = auth scheme, Format) and Data (secret-derived)."""

    meta: Meta | None = None
    data: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Chal:
    """A challenge inside a SyncHdr Status: Meta Type, Format and NextNonce."""

    meta: Meta


@attrs.frozen(kw_only=True)
class Item:
    """``(Target?, Source?, Meta?, Data?, MoreData?)``."""

    target: Location | None = None
    source: Location | None = None
    meta: Meta | None = None
    data: str | bytes | XmlData | None = attrs.field(default=None, repr=False)
    more_data: bool = False


@attrs.frozen(kw_only=True)
class ItemCommand:
    """Base of the commands shaped ``(CmdID, NoResp?, Meta?, Item+)``."""

    #: The SyncML element name of the command.
    name: ClassVar[str] = ""

    cmd_id: str | None = None
    no_resp: bool = False
    meta: Meta | None = None
    items: tuple[Item, ...] = attrs.field(default=(), converter=_items)


@attrs.frozen(kw_only=True)
class Add(ItemCommand):
    """Add nodes (OMA-TS-DM_RepPro-V1_2_1 §4.1.6 Add)."""

    name: ClassVar[str] = "Add"


@attrs.frozen(kw_only=True)
class Replace(ItemCommand):
    """Replace node values (client Package 1 also uses it for DevInfo)."""

    name: ClassVar[str] = "Replace"


@attrs.frozen(kw_only=True)
class Delete(ItemCommand):
    """Delete nodes with their subtrees."""

    name: ClassVar[str] = "Delete"


@attrs.frozen(kw_only=True)
class Copy(ItemCommand):
    """Copy a leaf value (Item Source) onto another leaf (Item Target)."""

    name: ClassVar[str] = "Copy"


@attrs.frozen(kw_only=True)
class Get(ItemCommand):
    """Read node values, child lists, properties or tree listings."""

    name: ClassVar[str] = "Get"


@attrs.frozen(kw_only=True)
class Exec(ItemCommand):
    """Execute a node; ``correlator`` asks for an asynchronous Generic Alert result."""

    name: ClassVar[str] = "Exec"

    correlator: str | None = None


@attrs.frozen(kw_only=True)
class Alert:
    """``(CmdID, NoResp?, Data?, Correlator?, Item*)``; ``code`` is the Alert Data."""

    name: ClassVar[str] = "Alert"

    cmd_id: str | None = None
    no_resp: bool = False
    code: int | None = None
    correlator: str | None = None
    items: tuple[Item, ...] = attrs.field(default=(), converter=_items)


@attrs.frozen(kw_only=True)
class Atomic:
    """All-or-nothing group of commands; children keep their order and nesting."""

    name: ClassVar[str] = "Atomic"

    cmd_id: str | None = None
    no_resp: bool = False
    meta: Meta | None = None
    commands: tuple[Command, ...] = attrs.field(default=(), converter=_commands)


@attrs.frozen(kw_only=True)
class Sequence:
    """Ordered group of commands; children keep their order and nesting."""

    name: ClassVar[str] = "Sequence"

    cmd_id: str | None = None
    no_resp: bool = False
    meta: Meta | None = None
    commands: tuple[Command, ...] = attrs.field(default=(), converter=_commands)


@attrs.frozen(kw_only=True)
class Status:
    """``(CmdID, MsgRef, CmdRef, Cmd, TargetRef*, SourceRef*, Chal?, Data, Item*)``.

    ``code`` is the status code (Data); ``cmd`` the referenced element name
    (``"SyncHdr"`` with ``cmd_ref == "0"`` for the header status).
    """

    name: ClassVar[str] = "Status"

    cmd_id: str | None = None
    msg_ref: str | None
    cmd_ref: str
    cmd: str
    code: int
    target_refs: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    source_refs: tuple[str, ...] = attrs.field(default=(), converter=_strs)
    chal: Chal | None = None
    items: tuple[Item, ...] = attrs.field(default=(), converter=_items)


@attrs.frozen(kw_only=True)
class Results:
    """``(CmdID, MsgRef?, CmdRef, Meta?, TargetRef?, SourceRef?, Item+)``."""

    name: ClassVar[str] = "Results"

    cmd_id: str | None = None
    msg_ref: str | None
    cmd_ref: str
    meta: Meta | None = None
    target_ref: str | None = None
    source_ref: str | None = None
    items: tuple[Item, ...] = attrs.field(default=(), converter=_items)


@attrs.frozen(kw_only=True)
class UnsupportedCommand:
    """A SyncBody command DM does not use (Sync, Map, Put, Search, Move, ...).

    Kept so a session can answer it (406) instead of failing the whole message.
    """

    name: str
    cmd_id: str | None = None


Command: TypeAlias = (
    "Add | Replace | Delete | Copy | Get | Exec | Alert | Atomic | Sequence"
    " | Status | Results | UnsupportedCommand"
)


@attrs.frozen(kw_only=True)
class SyncHdr:
    """``(VerDTD, VerProto, SessionID, MsgID, Target, Source, RespURI?, NoResp?, Cred?, Meta?)``."""

    ver_dtd: str = "1.2"
    ver_proto: str = "DM/1.2"
    session_id: str
    msg_id: str
    target: Location
    source: Location
    resp_uri: str | None = None
    no_resp: bool = False
    cred: Cred | None = None
    meta: Meta | None = None


@attrs.frozen(kw_only=True)
class Message:
    """A whole SyncML DM message: header, body commands in order, and Final."""

    header: SyncHdr
    commands: tuple[Command, ...] = attrs.field(default=(), converter=_commands)
    final: bool = False


_T = TypeVar("_T")


def trusted(cls: type[_T]) -> Callable[..., _T]:
    """A constructor of ``cls`` for values that are already what the fields hold.

    For the decoder's hot path only: it takes every field by keyword, runs no
    converter (sequences must already be tuples) and skips the attrs ``__init__``
    (each instance is filled through the slots' own setters, about half the cost). The
    result is an ordinary instance: equal, hashable, ``evolve``-able as any other.
    """
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make(*, {', '.join(names)}):", "    obj = _new(_cls)"]
    for n, name in enumerate(names):
        namespace[f"_set{n}"] = getattr(cls, name).__set__
        lines.append(f"    _set{n}(obj, {name})")
    lines.append("    return obj")
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from the class's own field names
    make: Callable[..., _T] = namespace["make"]
    return make


_COPIERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}


def trusted_evolve(instance: _T, **changes: Any) -> _T:
    """``attrs.evolve(instance, **changes)`` for changes that are already what the
    fields hold (as :func:`trusted`: no converter, sequences as tuples).

    For the session's hot path (numbering each command of each message): the copy is
    made through the slots' own setters by a copier generated once per class, about a
    third of the cost of ``attrs.evolve``. Unknown field names raise ``TypeError``.
    """
    cls = type(instance)
    copier = _COPIERS.get(cls)
    if copier is None:
        copier = _COPIERS[cls] = _copier(cls)
    result: _T = copier(instance, changes)
    return result


def _copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    names = [field.name for field in attrs.fields(cls)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_names": set(names)}
    lines = [
        "def copy(src, changes):",
        "    if not changes.keys() <= _names:",
        "        raise TypeError(f'{_cls.__name__} has no field {set(changes) - _names}')",
        "    obj = _new(_cls)",
    ]
    for n, name in enumerate(names):
        namespace[f"_set{n}"] = getattr(cls, name).__set__
        lines.append(f"    _set{n}(obj, changes.get({name!r}, src.{name}))")
    lines.append("    return obj")
    exec("\n".join(lines), namespace)  # noqa: S102 - source built from the class's own field names
    copy: Callable[[Any, dict[str, Any]], Any] = namespace["copy"]
    return copy
