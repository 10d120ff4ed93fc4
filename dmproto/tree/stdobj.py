"""Standard management objects and account helpers (OMA-TS-DM_StdObj-V1_2_1 §7.1;
OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4).

* :func:`build_device_tree` creates a tree with DevInfo, DevDetail, DMAcc and Inbox
  from a :class:`DeviceInfo`;
* :func:`add_account` writes a DM 1.2 DMAcc account (:class:`DMAccount`);
* :func:`find_account` returns the plain values a session needs for a ServerID
  (:class:`AccountInfo`); :func:`store_nonce` is where a session's new nonces land;
* :func:`devinfo_items` gives the DevInfo Items of Package 1.

The DMAcc rules (AAuthSecret and AAuthData have no Get, OMA-TS-DM_StdObj-V1_2_1 §7.1) are DDF rules
of the tree, so they hold for accounts added later by servers or bootstrap too.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs

from ..codec.model import Item, Location, Meta
from ..errors import InvalidValueError
from ..security import NonceRole
from .acl import Acl, AclCommand, parse_acl
from .ddf import DdfRule
from .node import ALL_ACCESS, Access, Node
from .store import DEFAULT_ROOT_ACL, Path
from .tree import ManagementTree
from .uri import format_uri
from .values import BinaryWire, NodeFormat, Value, value_to_wire

__all__ = [
    "DEVDETAIL_MO",
    "DEVINFO_MO",
    "DMACC_MO",
    "INBOX_MO",
    "AccountInfo",
    "AppAuth",
    "AuthLevel",
    "DMAccount",
    "DeviceInfo",
    "add_account",
    "build_device_tree",
    "devinfo_items",
    "find_account",
    "store_nonce",
]

# OMA-TS-DM_StdObj-V1_2_1 §7.1: MO identifiers of the standard objects.
DEVINFO_MO = "urn:oma:mo:oma-dm-devinfo:1.0"
DEVDETAIL_MO = "urn:oma:mo:oma-dm-devdetail:1.0"
DMACC_MO = "urn:oma:mo:oma-dm-dmacc:1.0"
INBOX_MO = "urn:oma:mo:oma-dm-inbox:1.0"

_GET_ONLY = frozenset({Access.GET})
_NO_GET = ALL_ACCESS - {Access.GET}


class AuthLevel(enum.Enum):
    """AppAuth ``AAuthLevel`` values (OMA-TS-DM_StdObj-V1_2_1 §7.1)."""

    CLCRED = "CLCRED"  #: credentials the client uses towards the server
    SRVCRED = "SRVCRED"  #: credentials the server uses towards the client
    OBEX = "OBEX"
    HTTP = "HTTP"


@attrs.frozen(kw_only=True)
class DeviceInfo:
    """The parameters of a standard device tree (DevInfo and DevDetail leaves)."""

    dev_id: str
    man: str
    mod: str
    dm_v: str = "1.2"
    lang: str = "en-US"
    dev_typ: str = "phone"
    oem: str = ""
    fw_v: str = ""
    sw_v: str = ""
    hw_v: str = ""
    lrg_obj: bool = False
    max_depth: int = 0
    max_tot_len: int = 0
    max_seg_len: int = 0


@attrs.frozen(kw_only=True)
class AppAuth:
    """One ``AppAuth/<X>`` entry."""

    level: AuthLevel
    auth_type: str
    name: str | None = None
    secret: str | None = attrs.field(default=None, repr=False)
    data: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class DMAccount:
    """A DM 1.2 DMAcc account (``./DMAcc/<X>``)."""

    server_id: str
    addr: str
    addr_type: str = "URI"
    port: int | None = None
    name: str | None = None
    aauth_pref: str | None = None
    auths: tuple[AppAuth, ...] = ()


@attrs.frozen(kw_only=True)
class AccountInfo:
    """Plain values of the account for one ServerID, as a session needs them."""

    uri: str
    server_id: str
    server_address: str | None
    auth_pref: str | None
    client_username: str | None
    client_password: str | None = attrs.field(repr=False)
    client_nonce: bytes | None = attrs.field(repr=False)
    server_username: str | None
    server_password: str | None = attrs.field(repr=False)
    server_nonce: bytes | None = attrs.field(repr=False)


def _leaf(
    tree: ManagementTree,
    path: Path,
    value: Value,
    *,
    fmt: NodeFormat = NodeFormat.CHR,
    access: frozenset[Access] = ALL_ACCESS,
    permanent: bool = False,
) -> None:
    node = Node(
        name=path[-1],
        format=fmt,
        type="text/plain",
        value=value,
        access=access,
        permanent=permanent,
    )
    tree.add_node(path, node)


def _interior(
    tree: ManagementTree,
    path: Path,
    *,
    mo_type: str | None = None,
    acl: str = "",
    access: frozenset[Access] = ALL_ACCESS,
) -> None:
    node = Node(
        name=path[-1],
        format=NodeFormat.NODE,
        type=mo_type,
        acl=parse_acl(acl),
        access=access,
        permanent=True,
    )
    tree.add_node(path, node)


def _dmacc_rules(tree: ManagementTree) -> None:
    # OMA-TS-DM_StdObj-V1_2_1 §7.1 DMAcc: <X> accounts are DMAcc MOs (Inbox placement by MO type);
    # AAuthSecret and AAuthData are "No Get".
    rules = tree.ddf.rules
    rules[("DMAcc", None)] = DdfRule(ddf_name=DMACC_MO, df_format=NodeFormat.NODE)
    for leaf in ("AAuthSecret", "AAuthData"):
        rules[("DMAcc", None, "AppAuth", None, leaf)] = DdfRule(access=_NO_GET, max_occurs=1)


def build_device_tree(
    info: DeviceInfo,
    *,
    clock: Callable[[], str] | None = None,
    root_acl: str = DEFAULT_ROOT_ACL,
    binary_wire: BinaryWire = BinaryWire.B64,
) -> ManagementTree:
    """A tree with the standard objects: DevInfo, DevDetail, DMAcc (empty), Inbox.

    DevInfo and DevDetail are permanent, readable by every server (``Get=*``) and
    not writable by servers.
    """
    tree = ManagementTree(root_acl=root_acl, clock=clock, binary_wire=binary_wire)
    _dmacc_rules(tree)
    _interior(tree, ("DevInfo",), mo_type=DEVINFO_MO, acl="Get=*", access=_GET_ONLY)
    for name, value in (
        ("DevId", info.dev_id),
        ("Man", info.man),
        ("Mod", info.mod),
        ("DmV", info.dm_v),
        ("Lang", info.lang),
    ):
        _leaf(tree, ("DevInfo", name), value, access=_GET_ONLY, permanent=True)
    _interior(tree, ("DevDetail",), mo_type=DEVDETAIL_MO, acl="Get=*", access=_GET_ONLY)
    _interior(tree, ("DevDetail", "URI"), access=_GET_ONLY)
    for name, number in (
        ("MaxDepth", info.max_depth),
        ("MaxTotLen", info.max_tot_len),
        ("MaxSegLen", info.max_seg_len),
    ):
        _leaf(tree, ("DevDetail", "URI", name), str(number), access=_GET_ONLY, permanent=True)
    for name, value in (
        ("DevTyp", info.dev_typ),
        ("OEM", info.oem),
        ("FwV", info.fw_v),
        ("SwV", info.sw_v),
        ("HwV", info.hw_v),
    ):
        _leaf(tree, ("DevDetail", name), value, access=_GET_ONLY, permanent=True)
    lrg = "true" if info.lrg_obj else "false"
    _leaf(tree, ("DevDetail", "LrgObj"), lrg, fmt=NodeFormat.BOOL, access=_GET_ONLY, permanent=True)
    _interior(tree, ("DMAcc",))
    # OMA-TS-DM_StdObj-V1_2_1 §7.1 Inbox: servers Add MOs here; Get is refused by the executor
    # (405).
    _interior(tree, ("Inbox",), mo_type=INBOX_MO)
    return tree


def add_account(tree: ManagementTree, account: DMAccount, *, node_name: str | None = None) -> str:
    """Write ``account`` as ``./DMAcc/<X>`` (device authority, no ACL checks).

    ``<X>`` defaults to the first free ``"1"``, ``"2"``... The account node's ACL
    gives its server Get, Replace and Delete (as the CP w7 mapping does,
    OMA-TS-DM_Bootstrap-V1_2_1 §3.1). Returns the account URI.
    """
    dmacc = tree.require(("DMAcc",))
    name = node_name or next(
        str(i) for i in range(1, len(dmacc.children) + 2) if str(i) not in dmacc.children
    )
    base: Path = ("DMAcc", name)
    acl = Acl.grant(account.server_id, AclCommand.GET, AclCommand.REPLACE, AclCommand.DELETE)
    tree.add_node(base, Node(name=name, format=NodeFormat.NODE, type=DMACC_MO, acl=acl))
    _leaf(tree, (*base, "AppID"), "w7")
    _leaf(tree, (*base, "ServerID"), account.server_id)
    if account.name is not None:
        _leaf(tree, (*base, "Name"), account.name)
    tree.add_interior_chain((*base, "AppAddr", "1"))
    _leaf(tree, (*base, "AppAddr", "1", "Addr"), account.addr)
    _leaf(tree, (*base, "AppAddr", "1", "AddrType"), account.addr_type)
    if account.port is not None:
        tree.add_interior_chain((*base, "AppAddr", "1", "Port", "1"))
        _leaf(tree, (*base, "AppAddr", "1", "Port", "1", "PortNbr"), str(account.port))
    if account.aauth_pref is not None:
        _leaf(tree, (*base, "AAuthPref"), account.aauth_pref)
    for index, auth in enumerate(account.auths, start=1):
        entry = (*base, "AppAuth", str(index))
        tree.add_interior_chain(entry)
        _leaf(tree, (*entry, "AAuthLevel"), auth.level.value)
        _leaf(tree, (*entry, "AAuthType"), auth.auth_type)
        if auth.name is not None:
            _leaf(tree, (*entry, "AAuthName"), auth.name)
        if auth.secret is not None:
            _leaf(tree, (*entry, "AAuthSecret"), auth.secret)
        if auth.data is not None:
            _leaf(tree, (*entry, "AAuthData"), auth.data, fmt=NodeFormat.BIN)
    return format_uri(base)


def _text(tree: ManagementTree, path: Path) -> str | None:
    if tree.node(path) is None:
        return None
    value = tree.read_value(path)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _bytes(tree: ManagementTree, path: Path) -> bytes | None:
    if tree.node(path) is None:
        return None
    value = tree.read_value(path)
    return value.encode("utf-8") if isinstance(value, str) else value


def _account_path(tree: ManagementTree, server_id: str) -> Path | None:
    dmacc = tree.node(("DMAcc",))
    for name in dmacc.children if dmacc is not None else ():
        if _text(tree, ("DMAcc", name, "ServerID")) == server_id:
            return ("DMAcc", name)
    return None


def _auth_entry(tree: ManagementTree, base: Path, level: AuthLevel) -> Path | None:
    auth = tree.node((*base, "AppAuth"))
    for name in auth.children if auth is not None else ():
        if _text(tree, (*base, "AppAuth", name, "AAuthLevel")) == level.value:
            return (*base, "AppAuth", name)
    return None


def find_account(tree: ManagementTree, server_id: str) -> AccountInfo | None:
    """The account whose ``ServerID`` is ``server_id``, as plain values, or ``None``.

    Nonces are the AAuthData bytes (text values are returned UTF-8 encoded):
    ``client_nonce`` from CLCRED (the nonce the server gave the client),
    ``server_nonce`` from SRVCRED (the nonce the client gave the server),
    OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4.
    """
    base = _account_path(tree, server_id)
    if base is None:
        return None
    addr_node = tree.node((*base, "AppAddr"))
    first = addr_node.children[0] if addr_node is not None and addr_node.children else None
    address = _text(tree, (*base, "AppAddr", first, "Addr")) if first else None
    cl = _auth_entry(tree, base, AuthLevel.CLCRED)
    sv = _auth_entry(tree, base, AuthLevel.SRVCRED)

    def field(entry: Path | None, leaf: str) -> str | None:
        return _text(tree, (*entry, leaf)) if entry is not None else None

    return AccountInfo(
        uri=format_uri(base),
        server_id=server_id,
        server_address=address,
        auth_pref=_text(tree, (*base, "AAuthPref")),
        client_username=field(cl, "AAuthName"),
        client_password=field(cl, "AAuthSecret"),
        client_nonce=_bytes(tree, (*cl, "AAuthData")) if cl else None,
        server_username=field(sv, "AAuthName"),
        server_password=field(sv, "AAuthSecret"),
        server_nonce=_bytes(tree, (*sv, "AAuthData")) if sv else None,
    )


def store_nonce(
    tree: ManagementTree, server_id: str, level: AuthLevel | NonceRole, nonce: bytes
) -> None:
    """Store a new nonce in ``AppAuth/<level>/AAuthData`` of the server's account
    (OMA-TS-DM_Security-V1_2_1 §5.1; OMA-TS-DM_Protocol-V1_2_1 §2.4: CLCRED = nonce from the
    server, SRVCRED = nonce we issued).

    ``level`` may be the role of a session ``NonceChanged`` event: its CLIENT nonce
    is CLCRED, its SERVER nonce SRVCRED.

    Creates the AppAuth entry or AAuthData leaf when missing.

    Raises:
        InvalidValueError: ``account.unknown`` when no account has that ServerID.
    """
    if isinstance(level, NonceRole):
        level = AuthLevel.CLCRED if level is NonceRole.CLIENT else AuthLevel.SRVCRED
    base = _account_path(tree, server_id)
    if base is None:
        raise InvalidValueError("account.unknown", "no DMAcc account for this ServerID")
    entry = _auth_entry(tree, base, level)
    if entry is None:
        auth = tree.node((*base, "AppAuth"))
        used = auth.children if auth is not None else ()
        entry = (
            *base,
            "AppAuth",
            next(str(i) for i in range(1, len(used) + 2) if str(i) not in used),
        )
        tree.add_interior_chain(entry)
        _leaf(tree, (*entry, "AAuthLevel"), level.value)
    leaf = (*entry, "AAuthData")
    node = tree.node(leaf)
    if node is None:
        _leaf(tree, leaf, nonce, fmt=NodeFormat.BIN)
    else:
        tree.update_node(leaf, attrs.evolve(node, format=NodeFormat.BIN, value=nonce))


def devinfo_items(tree: ManagementTree) -> tuple[Item, ...]:
    """The DevInfo leaves as Items for the Package 1 Replace (OMA-TS-DM_Protocol-V1_2_1 §2.3;
    OMA-TS-DM_StdObj-V1_2_1 §7.1): Source/LocURI, Data, and Meta only when Format/Type differ from
    chr/text/plain."""
    devinfo = tree.require(("DevInfo",))
    items: list[Item] = []
    for name in devinfo.children:
        path = ("DevInfo", name)
        node = tree.require(path)
        if node.is_interior:
            continue
        data, fmt = value_to_wire(node.format, tree.read_value(path), tree.binary_wire)
        mtype = None if node.type in (None, "text/plain") else node.type
        meta = Meta(format=None if fmt == "chr" else fmt, type=mtype)
        items.append(
            Item(
                source=Location(loc_uri=format_uri(path)),
                meta=meta if meta.format or meta.type else None,
                data=data,
            )
        )
    return tuple(items)
