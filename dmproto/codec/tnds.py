"""MgmtTree documents: TNDS and DDF (namespace ``syncml:dmddf1.2``, WBXML code page 2).

One small model for both (they share a DTD, SPEC.md §6.4/§6.5): a
:class:`MgmtTree` of :class:`TreeNode` values. TNDS uses RTProperties and Value;
DDF uses DFProperties. :func:`decode_tree_document` reads XML or WBXML (detected
from the bytes) and :func:`encode_tree_document` writes either.
"""

from __future__ import annotations

import attrs

from ..limits import DEFAULT_LIMITS, Limits

__all__ = [
    "DFProperties",
    "MgmtTree",
    "RTProperties",
    "TreeNode",
    "decode_tree_document",
    "encode_tree_document",
]


@attrs.frozen(kw_only=True)
class RTProperties:
    """Run-time properties of a node (TND §8.3). ``format`` is a Format value name
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
    """Description-framework properties of a node (DDF only; TND §8.5).

    ``access_type`` holds the names of the granted commands (``"Add"``, ``"Copy"``,
    ``"Delete"``, ``"Exec"``, ``"Get"``, ``"Replace"``) in document order;
    ``occurrence`` is ``"One"``, ``"ZeroOrOne"``, ``"ZeroOrMore"``, ``"OneOrMore"``,
    ``"ZeroOrN"`` or ``"OneOrN"`` (with ``occurrence_n`` for the N forms);
    ``scope`` is ``"Permanent"`` or ``"Dynamic"``; ``case_sense`` ``"CS"``/``"CIS"``.
    """

    access_type: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    default_value: str | None = None
    description: str | None = None
    df_format: str | None = None
    occurrence: str | None = None
    occurrence_n: str | None = None
    scope: str | None = None
    df_title: str | None = None
    df_type_mime: tuple[str, ...] = attrs.field(default=(), converter=tuple)
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
    children: tuple[TreeNode, ...] = attrs.field(default=(), converter=tuple)
    value: str | bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class MgmtTree:
    """``MgmtTree (VerDTD, Man?, Mod?, Node+)``."""

    ver_dtd: str = "1.2"
    man: str | None = None
    mod: str | None = None
    nodes: tuple[TreeNode, ...] = attrs.field(default=(), converter=tuple)


def decode_tree_document(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> MgmtTree:
    """Decode a TNDS/DDF document (XML or WBXML, detected from the bytes)."""
    raise NotImplementedError  # implemented with the codec


def encode_tree_document(tree: MgmtTree, *, wbxml: bool = False) -> bytes:
    """Encode a TNDS/DDF document as XML (default) or WBXML."""
    raise NotImplementedError  # implemented with the codec
