"""DDF descriptions loaded into the tree and the rules they impose (OMA-TS-DM_TND-V1_2 §8.5).

A DDF document (:class:`~dmproto.codec.tnds.MgmtTree` with DFProperties) describes a
subtree. :meth:`DdfRules.load` turns it into path patterns (an empty NodeName, the
``<X>`` placeholder, matches any name) with their AccessType, DFFormat, Occurrence,
Scope, DefaultValue and CaseSense. The tree applies a matching rule to every node it
creates (AccessType and Scope become the node's ``access``/``permanent``), and the
executor checks DFFormat and DFType MIME (415) and the Occurrence maximum (405) on
Add, the Occurrence minimum on Delete (405), and fills DefaultValue (and the first
DFType MIME as the default Type).
CaseSense is recorded but names are always compared case-sensitively.
"""

from __future__ import annotations

import attrs

from ..codec.tnds import DFProperties, MgmtTree, TreeNode
from ..errors import InvalidValueError
from .node import ALL_ACCESS, Access
from .values import NodeFormat

__all__ = ["DdfRule", "DdfRules"]

Pattern = tuple[str | None, ...]

# OMA-TS-DM_TND-V1_2 §8.5: Occurrence -> (min, max); None max = unbounded; N forms take
# occurrence_n.
_OCCURRENCE: dict[str, tuple[int, int | None]] = {
    "One": (1, 1),
    "ZeroOrOne": (0, 1),
    "ZeroOrMore": (0, None),
    "OneOrMore": (1, None),
    "ZeroOrN": (0, None),
    "OneOrN": (1, None),
}


@attrs.frozen(kw_only=True)
class DdfRule:
    """What a DDF says about the nodes matching one pattern."""

    access: frozenset[Access] = ALL_ACCESS
    df_format: NodeFormat | None = None
    min_occurs: int = 0
    max_occurs: int | None = None
    permanent: bool = False
    default_value: str | None = None
    case_sensitive: bool = True
    mime_types: tuple[str, ...] = ()
    ddf_name: str | None = None


def _rule(props: DFProperties) -> DdfRule:
    try:
        access = frozenset(Access(a) for a in props.access_type)
        fmt = NodeFormat(props.df_format) if props.df_format else None
    except ValueError:
        raise InvalidValueError("ddf.value", "unknown AccessType or DFFormat") from None
    min_occurs, max_occurs = _OCCURRENCE.get(props.occurrence or "One", (1, 1))
    if props.occurrence in ("ZeroOrN", "OneOrN"):
        n = props.occurrence_n or ""
        max_occurs = int(n) if n.isdigit() else None
    return DdfRule(
        access=access,
        df_format=fmt,
        min_occurs=min_occurs,
        max_occurs=max_occurs,
        permanent=props.scope == "Permanent",
        default_value=props.default_value,
        case_sensitive=props.case_sense != "CIS",
        mime_types=props.df_type_mime,
        ddf_name=props.df_type_ddf_name,
    )


@attrs.define
class DdfRules:
    """Rules by path pattern; exact segments win over ``<X>`` wildcards."""

    rules: dict[Pattern, DdfRule] = attrs.field(factory=dict)

    def load(self, document: MgmtTree, base: tuple[str, ...] = ()) -> None:
        """Add the rules of a DDF document whose top nodes sit below ``base``.

        Raises:
            InvalidValueError: ``ddf.value`` for unknown AccessType/DFFormat names.
        """
        stack: list[tuple[Pattern, TreeNode]] = [(base, n) for n in document.nodes]
        while stack:
            prefix, node = stack.pop()
            lead: Pattern = tuple(s for s in (node.path or "").split("/") if s and s != ".")
            pattern: Pattern = (*prefix, *lead, node.node_name or None)
            if node.df_properties is not None:
                self.rules[pattern] = _rule(node.df_properties)
            stack.extend((pattern, child) for child in node.children)

    def rule_for(self, path: tuple[str, ...]) -> tuple[Pattern, DdfRule] | None:
        """The most specific rule matching ``path`` and its pattern, or ``None``."""
        best: tuple[int, Pattern, DdfRule] | None = None
        for pattern, rule in self.rules.items():
            if len(pattern) != len(path):
                continue
            if all(p is None or p == s for p, s in zip(pattern, path, strict=True)):
                score = sum(p is not None for p in pattern)
                if best is None or score > best[0]:
                    best = (score, pattern, rule)
        return (best[1], best[2]) if best else None

    @staticmethod
    def siblings_matching(pattern: Pattern, parent: tuple[str, ...], names: tuple[str, ...]) -> int:
        """How many of ``names`` (children of ``parent``) fit ``pattern``."""
        return sum(DdfRules.matches(pattern, (*parent, n)) for n in names)

    @staticmethod
    def matches(pattern: Pattern, path: tuple[str, ...]) -> bool:
        """True when ``path`` fits ``pattern``."""
        return len(pattern) == len(path) and all(
            p is None or p == s for p, s in zip(pattern, path, strict=True)
        )
