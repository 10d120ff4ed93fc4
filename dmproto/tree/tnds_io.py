"""TNDS export and import (OMA-TS-DM_TNDS-V1_2 §9.2; OMA-TS-DM_TND-V1_2 §8.4 ``?list=TNDS``).

* :func:`export_tnds` turns a subtree into a :class:`~dmproto.codec.tnds.MgmtTree`
  with the selected RTProperties (and ``Value``); :func:`encode_subtree` writes it
  as XML or WBXML with :func:`~dmproto.codec.tnds.encode_tree_document`.
* :func:`flatten_tnds` turns a received TNDS document into the ordered list of
  nodes (parents first) an Add/Replace must create below its target URI; the
  executor creates them with the usual ACL and DDF checks.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import attrs

from ..codec.model import Item, Location, Meta, XmlData
from ..codec.tnds import (
    MgmtTree,
    RTProperties,
    TreeNode,
    decode_tree_document,
    encode_tree_document,
)
from ..codes import StatusCode
from ..errors import MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from .acl import parse_acl
from .errors import TreeCommandError
from .node import Node
from .store import NodeStore
from .uri import PROPERTY_NAMES, format_uri, parse_path
from .values import NodeFormat, Value, value_from_wire, value_size

__all__ = [
    "TNDS_TYPES",
    "TNDS_WBXML",
    "TNDS_XML",
    "TndsEntry",
    "decode_tnds_data",
    "encode_subtree",
    "export_subtree",
    "export_tnds",
    "flatten_tnds",
    "load_ddf",
    "tnds_item",
]

Path = tuple[str, ...]

#: OMA-TS-DM_TNDS-V1_2 §9.2: the TNDS media types.
TNDS_XML = "application/vnd.syncml.dmtnds+xml"
TNDS_WBXML = "application/vnd.syncml.dmtnds+wbxml"
TNDS_TYPES = (TNDS_XML, TNDS_WBXML)

ALL_PROPERTIES = frozenset((*PROPERTY_NAMES, "Value"))


@attrs.frozen(kw_only=True)
class TndsEntry:
    """One node of an imported TNDS: full path and the node to create."""

    path: Path
    node: Node


def _rt_properties(node: Node, value: Value, fmt_name: str, props: frozenset[str]) -> RTProperties:
    def pick(name: str, text: str | None) -> str | None:
        return text if name in props else None

    ddf_name = node.type if node.is_interior else None
    return RTProperties(
        acl=pick("ACL", str(node.acl) if node.acl is not None else ""),
        format=pick("Format", fmt_name),
        name=pick("Name", node.name),
        size=None if node.is_interior else pick("Size", str(value_size(value))),
        title=pick("Title", node.title),
        tstamp=pick("TStamp", node.tstamp),
        # OMA-TS-DM_TNDS-V1_2 §9.2: RTProperties Type is mandatory: MIME for leaves, DDFName for
        # interior.
        mime=None if node.is_interior else (node.type or "text/plain"),
        ddf_name=ddf_name if ddf_name is not None or not node.is_interior else "",
        verno=pick("VerNo", str(node.verno)),
    )


def export_tnds(
    nodes: Callable[[Path], Node],
    children: Callable[[Path], tuple[Path, ...]],
    read: Callable[[Path], Value],
    start: Path,
    *,
    properties: frozenset[str] = ALL_PROPERTIES,
    binary_as_b64: bool = True,
) -> MgmtTree:
    """Serialize the subtree at ``start`` (as visible through the callables).

    ``children`` returns only the children the requester may read; ``read`` gives
    leaf values. The start node is the document's top node, with ``Path`` set to
    its parent URI (the root's children are exported instead of the root itself).
    """

    def build(path: Path) -> TreeNode:
        node = nodes(path)
        value: Value = None if node.is_interior else read(path)
        fmt_name = node.format.value
        if isinstance(value, bytes):
            fmt_name = "b64" if binary_as_b64 else "bin"
            value = base64.b64encode(value).decode("ascii") if binary_as_b64 else value
        return TreeNode(
            node_name=node.name,
            rt_properties=_rt_properties(node, value, fmt_name, properties),
            children=(build(c) for c in children(path)),
            value=value if "Value" in properties and not node.is_interior else None,
        )

    if not start:
        tops = tuple(attrs.evolve(build(c), path=".") for c in children(start))
    else:
        tops = (attrs.evolve(build(start), path=format_uri(start[:-1])),)
    return MgmtTree(nodes=tops)


def encode_subtree(document: MgmtTree, *, wbxml: bool = False) -> bytes:
    """Encode an exported TNDS (thin wrapper kept for symmetry with decoding)."""
    return encode_tree_document(document, wbxml=wbxml)


def decode_tnds_data(
    data: str | bytes | XmlData | None, *, limits: Limits = DEFAULT_LIMITS
) -> MgmtTree:
    """Decode TNDS carried in Item Data; 412 when there is none, 400 when malformed."""
    if isinstance(data, XmlData):
        raw = data.text.encode("utf-8")
    elif isinstance(data, str):
        raw = data.encode("utf-8")
    elif isinstance(data, bytes):
        raw = data
    else:
        raise TreeCommandError(StatusCode.INCOMPLETE_COMMAND, "tnds.missing", "no TNDS data")
    try:
        return decode_tree_document(raw, limits=limits)
    except MalformedMessageError as exc:
        raise TreeCommandError(StatusCode.BAD_REQUEST, "tnds.malformed", exc.reason) from None


def _entry_node(tn: TreeNode) -> Node:
    rt = tn.rt_properties or RTProperties()
    interior = (
        rt.format == "node"
        or (bool(tn.children) and rt.format is None)
        or (rt.format is None and tn.value is None and rt.mime is None)
    )
    if interior:
        fmt, value = NodeFormat.NODE, None
        node_type = rt.ddf_name or rt.mime or None
    else:
        fmt, value = value_from_wire(tn.value, rt.format)
        node_type = rt.mime or rt.ddf_name or None
    try:
        acl = parse_acl(rt.acl) if rt.acl is not None else None
    except ValueError:
        raise TreeCommandError(StatusCode.BAD_REQUEST, "tnds.acl", "bad ACL in TNDS") from None
    return Node(name=tn.node_name, format=fmt, type=node_type, value=value, acl=acl, title=rt.title)


def flatten_tnds(document: MgmtTree, base: Path) -> tuple[TndsEntry, ...]:
    """The nodes of ``document`` as absolute paths below ``base``, parents first.

    ``Path`` elements are relative to ``base`` (OMA-TS-DM_TNDS-V1_2 §9.2); ``.``-prefixed paths
    are accepted; ``..`` is refused (400).
    """
    out: list[TndsEntry] = []

    def visit(tn: TreeNode, parent: Path) -> None:
        lead = tuple(s for s in (tn.path or "").split("/") if s and s != ".")
        if ".." in lead or not tn.node_name or "/" in tn.node_name or tn.node_name in (".", ".."):
            raise TreeCommandError(StatusCode.BAD_REQUEST, "tnds.path", "bad TNDS node path")
        path = (*parent, *lead, tn.node_name)
        out.append(TndsEntry(path=path, node=_entry_node(tn)))
        for child in tn.children:
            visit(child, path)

    for top in document.nodes:
        visit(top, base)
    return tuple(out)


def export_subtree(
    tree: NodeStore,
    uri: str,
    *,
    properties: frozenset[str] = ALL_PROPERTIES,
    wbxml: bool = False,
) -> bytes:
    """The device's own TNDS export of the subtree at ``uri`` (no ACL filtering).

    Binary values are base64 text with Format ``b64`` in XML and raw OPAQUE with
    Format ``bin`` in WBXML (OMA-TS-DM_TND-V1_2 §8.3).
    """
    start = parse_path(uri)
    tree.require(start)

    def kids(path: Path) -> tuple[Path, ...]:
        return tuple((*path, c) for c in tree.require(path).children)

    document = export_tnds(
        tree.require, kids, tree.read_value, start, properties=properties, binary_as_b64=not wbxml
    )
    return encode_subtree(document, wbxml=wbxml)


def tnds_item(target_uri: str, document: bytes) -> Item:
    """An Item carrying a TNDS document for an Add/Replace of ``target_uri``
    (Meta Type ``+xml`` or ``+wbxml`` chosen from the document's first byte)."""
    is_xml = document.lstrip()[:1] == b"<" or document.startswith(b"\xef\xbb\xbf")
    if is_xml:
        text = document.decode("utf-8")
        start = text.find("<MgmtTree")
        return Item(
            target=Location(loc_uri=target_uri),
            meta=Meta(format="xml", type=TNDS_XML),
            data=XmlData(text[start:] if start >= 0 else text),
        )
    return Item(
        target=Location(loc_uri=target_uri),
        meta=Meta(format="bin", type=TNDS_WBXML),
        data=document,
    )


def load_ddf(
    tree: NodeStore, document: bytes, base_uri: str = ".", *, limits: Limits = DEFAULT_LIMITS
) -> None:
    """Load a DDF document (XML or WBXML) describing the subtree below ``base_uri``.

    Its rules hold for later commands; existing matching nodes take its AccessType
    and Scope at once (OMA-TS-DM_TND-V1_2 §8.5).

    Raises:
        MalformedMessageError: the document cannot be decoded.
        InvalidValueError: ``ddf.value`` for unknown AccessType/DFFormat names.
    """
    base = parse_path(base_uri)
    tree.ddf.load(decode_tree_document(document, limits=limits), base)
    for path in tree.paths():
        found = tree.ddf.rule_for(path) if path else None
        if found is not None:
            node = tree.require(path)
            rule = found[1]
            updated = attrs.evolve(
                node, access=rule.access, permanent=rule.permanent or node.permanent
            )
            tree.update_node(path, updated, stamp=False)
