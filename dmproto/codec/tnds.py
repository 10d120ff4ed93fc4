"""MgmtTree documents: TNDS and DDF (namespace ``syncml:dmddf1.2``, WBXML code page 2).

One small model for both (they share a DTD, OMA-TS-DM_TND-V1_2 §8.5; OMA-TS-DM_TNDS-V1_2 §9.2): a
:class:`MgmtTree` of :class:`TreeNode` values. TNDS uses RTProperties and Value;
DDF uses DFProperties. :func:`decode_tree_document` reads XML or WBXML (detected
from the bytes) and :func:`encode_tree_document` writes either.

Decoding is lenient like the message mapping: children in any order, white space
around values stripped (except in ``<Value>``), unknown elements ignored, a missing
NodeName read as ``""`` (OMA-TS-DM_TNDS-V1_2 §9.2 lets the client name the node). Encoding follows
the DTD order of OMA-TS-DM_TND-V1_2 §8.5. A ``<Value>`` with WBXML OPAQUE content is ``bytes``
when the node's Format is ``bin``, else UTF-8 text if it decodes, else ``bytes``.

Reasons raised (:class:`~dmproto.errors.MalformedMessageError`): those of the XML
and WBXML parsers, ``detect.unknown``, ``tnds.root`` (the root is not MgmtTree),
``limit.depth`` (nodes nested beyond the interpreter's recursion limit),
``tnds.encoding`` (OPAQUE text that is not UTF-8 outside ``<Value>``); the
position is the element path (e.g. ``MgmtTree/Node[1]/Node[2]/NodeName``).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..errors import MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from . import Encoding, detect_encoding
from .element import CodePage, Element
from .wbxml import DDF_OPTIONS, parse_wbxml, serialize_wbxml
from .xml import parse_xml, serialize_xml

__all__ = [
    "DFProperties",
    "MgmtTree",
    "RTProperties",
    "TreeNode",
    "decode_tree_document",
    "encode_tree_document",
    "tree_from_element",
    "tree_to_element",
]


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _node_tuple(values: Iterable[TreeNode]) -> tuple[TreeNode, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class RTProperties:
    """Run-time properties of a node (OMA-TS-DM_TND-V1_2 §8.3). ``format`` is a Format value name
    (``chr``, ``node``, ``b64``, ...); the type is either a MIME type or a DDFName."""

    acl: str | None = None
    format: str | None = None
    name: str | None = None
    size: str | None = None
    title: str | None = None
    tstamp: str | None = None
    mime: str | None = None
    ddf_name: str | None = None
    verno: str | None = None


@attrs.frozen(kw_only=True)
class DFProperties:
    """Description-framework properties of a node (DDF only; OMA-TS-DM_TND-V1_2 §8.5).

    ``access_type`` holds the names of the granted commands (``"Add"``, ``"Copy"``,
    ``"Delete"``, ``"Exec"``, ``"Get"``, ``"Replace"``) in document order;
    ``occurrence`` is ``"One"``, ``"ZeroOrOne"``, ``"ZeroOrMore"``, ``"OneOrMore"``,
    ``"ZeroOrN"`` or ``"OneOrN"`` (with ``occurrence_n`` for the N forms);
    ``scope`` is ``"Permanent"`` or ``"Dynamic"``; ``case_sense`` ``"CS"``/``"CIS"``.
    """

    access_type: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    default_value: str | None = None
    description: str | None = None
    df_format: str | None = None
    occurrence: str | None = None
    occurrence_n: str | None = None
    scope: str | None = None
    df_title: str | None = None
    df_type_mime: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    df_type_ddf_name: str | None = None
    case_sense: str | None = None


@attrs.frozen(kw_only=True)
class TreeNode:
    """``Node (NodeName, Path?, RTProperties?, DFProperties?, (Node* | Value?))``.

    ``value`` is ``None`` when the document has no ``<Value>``; ``bytes`` when WBXML
    carried it as OPAQUE with Format ``bin``.
    """

    node_name: str
    path: str | None = None
    rt_properties: RTProperties | None = None
    df_properties: DFProperties | None = None
    children: tuple[TreeNode, ...] = attrs.field(default=(), converter=_node_tuple)
    value: str | bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class MgmtTree:
    """``MgmtTree (VerDTD, Man?, Mod?, Node+)``."""

    ver_dtd: str = "1.2"
    man: str | None = None
    mod: str | None = None
    nodes: tuple[TreeNode, ...] = attrs.field(default=(), converter=_node_tuple)


# ---------------------------------------------------------------------- decoding


def _index(element: Element) -> dict[str, list[Element]]:
    found: dict[str, list[Element]] = {}
    for child in element.children:
        found.setdefault(child.name, []).append(child)
    return found


def _text(element: Element, path: str) -> str:
    """Stripped PCDATA; OPAQUE runs must be UTF-8."""
    chunks: list[str] = []
    for part in element.parts:
        if isinstance(part, bytes):
            try:
                part = part.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedMessageError(
                    "tnds.encoding",
                    f"{element.name} is not valid UTF-8",
                    position=f"{path}/{element.name}",
                ) from None
        chunks.append(part)
    return "".join(chunks).strip()


def _opt(index: dict[str, list[Element]], name: str, path: str) -> str | None:
    found = index.get(name)
    return None if found is None else _text(found[0], path)


def _choice(index: dict[str, list[Element]], name: str) -> str | None:
    """The name of the first child of ``<name>`` (``<Format><chr/></Format>`` -> chr)."""
    found = index.get(name)
    if found is None or not found[0].children:
        return None
    return found[0].children[0].name


def _rt_properties(element: Element, path: str) -> RTProperties:
    """``RTProperties (ACL?, Format?, Name?, Size?, Title?, TStamp?, Type, VerNo?)``."""
    path = f"{path}/RTProperties"
    index = _index(element)
    type_index = _index(index["Type"][0]) if "Type" in index else {}
    return RTProperties(
        acl=_opt(index, "ACL", path),
        format=_choice(index, "Format"),
        name=_opt(index, "Name", path),
        size=_opt(index, "Size", path),
        title=_opt(index, "Title", path),
        tstamp=_opt(index, "TStamp", path),
        mime=_opt(type_index, "MIME", f"{path}/Type"),
        ddf_name=_opt(type_index, "DDFName", f"{path}/Type"),
        verno=_opt(index, "VerNo", path),
    )


_OCCURRENCE_N = frozenset({"ZeroOrN", "OneOrN"})


def _df_properties(element: Element, path: str) -> DFProperties:
    """``DFProperties (AccessType, DefaultValue?, Description?, DFFormat, Occurrence?,
    Scope?, DFTitle?, DFType, CaseSense?)`` (OMA-TS-DM_TND-V1_2 §8.5)."""
    path = f"{path}/DFProperties"
    index = _index(element)
    access = index.get("AccessType")
    occurrence = index.get("Occurrence")
    occurrence_n = None
    if occurrence is not None and occurrence[0].children:
        chosen = occurrence[0].children[0]
        if chosen.name in _OCCURRENCE_N:
            occurrence_n = _text(chosen, f"{path}/Occurrence") or None
    df_type = _index(index["DFType"][0]) if "DFType" in index else {}
    return DFProperties(
        access_type=tuple(c.name for c in access[0].children) if access else (),
        default_value=_opt(index, "DefaultValue", path),
        description=_opt(index, "Description", path),
        df_format=_choice(index, "DFFormat"),
        occurrence=_choice(index, "Occurrence"),
        occurrence_n=occurrence_n,
        scope=_choice(index, "Scope"),
        df_title=_opt(index, "DFTitle", path),
        df_type_mime=(_text(e, f"{path}/DFType") for e in df_type.get("MIME", ())),
        df_type_ddf_name=_opt(df_type, "DDFName", f"{path}/DFType"),
        case_sense=_choice(index, "CaseSense"),
    )


def _value(element: Element, rt: RTProperties | None) -> str | bytes:
    """A node ``<Value>``: text as is; OPAQUE bytes when Format is bin
    (OMA-TS-DM_TND-V1_2 §8.3.7.2)."""
    if all(isinstance(p, str) for p in element.parts):
        return "".join(element.parts)  # type: ignore[arg-type]  # all str
    raw = b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in element.parts)
    if rt is not None and rt.format == "bin":
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _node(element: Element, path: str) -> TreeNode:
    """``Node (NodeName, Path?, RTProperties?, DFProperties?, (Node* | Value?))``."""
    index = _index(element)
    rt_el = index.get("RTProperties")
    df_el = index.get("DFProperties")
    rt = None if rt_el is None else _rt_properties(rt_el[0], path)
    value_el = index.get("Value")
    return TreeNode(
        node_name=_opt(index, "NodeName", path) or "",
        path=_opt(index, "Path", path),
        rt_properties=rt,
        df_properties=None if df_el is None else _df_properties(df_el[0], path),
        children=_nodes(index, path),
        value=None if value_el is None else _value(value_el[0], rt),
    )


def _nodes(index: dict[str, list[Element]], path: str) -> tuple[TreeNode, ...]:
    # Nesting is bounded by Limits.max_depth, enforced by both parsers.
    return tuple(_node(e, f"{path}/Node[{n}]") for n, e in enumerate(index.get("Node", ()), 1))


def tree_from_element(root: Element) -> MgmtTree:
    """Build a :class:`MgmtTree` from a decoded ``<MgmtTree>`` element.

    Raises:
        MalformedMessageError: ``tnds.root``, ``tnds.encoding`` or ``limit.depth``.
    """
    if root.name != "MgmtTree":
        raise MalformedMessageError(
            "tnds.root", f"root element is {root.name!r}, not MgmtTree", position=root.name
        )
    index = _index(root)
    try:
        nodes = _nodes(index, "MgmtTree")
    except RecursionError:
        # Only reachable with a Limits.max_depth far above the default 64.
        raise MalformedMessageError(
            "limit.depth", "nodes nested too deeply", position="MgmtTree"
        ) from None
    return MgmtTree(
        ver_dtd=_opt(index, "VerDTD", "MgmtTree") or "1.2",
        man=_opt(index, "Man", "MgmtTree"),
        mod=_opt(index, "Mod", "MgmtTree"),
        nodes=nodes,
    )


def decode_tree_document(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> MgmtTree:
    """Decode a TNDS/DDF document (XML or WBXML, detected from the bytes).

    Raises:
        MalformedMessageError: the bytes are not a readable MgmtTree document or
            exceed a limit (reasons in the module docstring).
    """
    if detect_encoding(data) is Encoding.XML:
        root = parse_xml(data, limits=limits)
    else:
        root = parse_wbxml(data, limits=limits).root
    return tree_from_element(root)


# ---------------------------------------------------------------------- encoding


def _el(
    name: str, children: list[Element] | None = None, text: str | bytes | None = None
) -> Element:
    parts: list[str | bytes] = [] if not text and not isinstance(text, bytes) else [text]
    return Element(name, CodePage.DDF, children=children, parts=parts)


def _add_text(children: list[Element], name: str, text: str | None) -> None:
    if text is not None:
        children.append(_el(name, text=text))


def _add_choice(children: list[Element], name: str, choice: str | None) -> None:
    if choice is not None:
        children.append(_el(name, [_el(choice)]))


def _rt_element(rt: RTProperties) -> Element:
    children: list[Element] = []
    _add_text(children, "ACL", rt.acl)
    _add_choice(children, "Format", rt.format)
    for name, text in (
        ("Name", rt.name),
        ("Size", rt.size),
        ("Title", rt.title),
        ("TStamp", rt.tstamp),
    ):
        _add_text(children, name, text)
    type_children: list[Element] = []
    _add_text(type_children, "MIME", rt.mime)
    _add_text(type_children, "DDFName", rt.ddf_name)
    if type_children:
        children.append(_el("Type", type_children))
    _add_text(children, "VerNo", rt.verno)
    return _el("RTProperties", children)


def _df_element(df: DFProperties) -> Element:
    children = [_el("AccessType", [_el(name) for name in df.access_type])]
    _add_text(children, "DefaultValue", df.default_value)
    _add_text(children, "Description", df.description)
    _add_choice(children, "DFFormat", df.df_format)
    if df.occurrence is not None:
        text = df.occurrence_n if df.occurrence in _OCCURRENCE_N else None
        children.append(_el("Occurrence", [_el(df.occurrence, text=text)]))
    _add_choice(children, "Scope", df.scope)
    _add_text(children, "DFTitle", df.df_title)
    type_children = [_el("MIME", text=mime) for mime in df.df_type_mime]
    _add_text(type_children, "DDFName", df.df_type_ddf_name)
    if type_children:
        children.append(_el("DFType", type_children))
    _add_choice(children, "CaseSense", df.case_sense)
    return _el("DFProperties", children)


def _node_element(node: TreeNode) -> Element:
    children = [_el("NodeName", text=node.node_name)]
    _add_text(children, "Path", node.path)
    if node.rt_properties is not None:
        children.append(_rt_element(node.rt_properties))
    if node.df_properties is not None:
        children.append(_df_element(node.df_properties))
    children.extend(_node_element(child) for child in node.children)
    if node.value is not None:
        children.append(_el("Value", text=node.value))
    return _el("Node", children)


def tree_to_element(tree: MgmtTree) -> Element:
    """The ``<MgmtTree>`` element tree (page DDF) of ``tree``, in DTD order
    (OMA-TS-DM_TND-V1_2 §8.5)."""
    children = [_el("VerDTD", text=tree.ver_dtd)]
    _add_text(children, "Man", tree.man)
    _add_text(children, "Mod", tree.mod)
    children.extend(_node_element(node) for node in tree.nodes)
    return _el("MgmtTree", children)


def encode_tree_document(tree: MgmtTree, *, wbxml: bool = False) -> bytes:
    """Encode a TNDS/DDF document as XML (default) or WBXML.

    WBXML uses public id 0 with the FPI ``-//OMA//DTD-DM-DDF 1.2//EN`` in the string
    table (WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6). ``bytes``
    values are OPAQUE in WBXML; XML refuses them.

    Raises:
        EncodeError: the tree cannot be written in that encoding.
    """
    root = tree_to_element(tree)
    if wbxml:
        return serialize_wbxml(root, options=DDF_OPTIONS)
    return serialize_xml(root)
