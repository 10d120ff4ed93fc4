"""Management tree URIs: parsing, the ``?prop=`` / ``?list=`` suffixes and the
``./DevDetail/URI`` limits (OMA-TS-DM_TND-V1_2 §8.1, §8.2, §8.4).

A URI is turned into a tuple of segments below the root (``()`` is the root ``.``).
Problems raise :class:`~dmproto.tree.errors.TreeCommandError` with the status the
command gets: 400 (malformed), 406 (unsupported suffix/property), 414 (limits).
Reasons: ``uri.empty``, ``uri.syntax``, ``uri.query``, ``uri.prop``, ``uri.list``,
``uri.too_long``.
"""

from __future__ import annotations

import enum

import attrs

from ..codes import StatusCode
from .errors import TreeCommandError

__all__ = [
    "PROPERTY_NAMES",
    "ListKind",
    "Listing",
    "ParsedUri",
    "UriLimits",
    "check_uri_limits",
    "format_uri",
    "parse_path",
    "parse_uri",
]

Path = tuple[str, ...]

#: OMA-TS-DM_TND-V1_2 §8.3: the run-time properties addressable with ``?prop=``.
PROPERTY_NAMES = ("ACL", "Format", "Name", "Size", "Title", "TStamp", "Type", "VerNo")


class ListKind(enum.Enum):
    """The ``?list=`` forms (OMA-TS-DM_TND-V1_2 §8.4)."""

    STRUCT = "Struct"
    STRUCT_DATA = "StructData"
    TNDS = "TNDS"


@attrs.frozen(kw_only=True)
class Listing:
    """A ``?list=`` request. For TNDS, ``properties`` is the selected set of
    property names (plus ``Value``) after applying ``+``/``-`` selection."""

    kind: ListKind
    properties: frozenset[str] = frozenset((*PROPERTY_NAMES, "Value"))


@attrs.frozen(kw_only=True)
class ParsedUri:
    """A parsed command URI: node path, and at most one of ``prop``/``listing``."""

    path: Path
    prop: str | None = None
    listing: Listing | None = None

    @property
    def uri(self) -> str:
        """The node URI without any suffix, in the ``./a/b`` form."""
        return format_uri(self.path)


@attrs.frozen(kw_only=True)
class UriLimits:
    """``./DevDetail/URI/MaxDepth|MaxTotLen|MaxSegLen``; 0 means unlimited."""

    max_depth: int = 0
    max_tot_len: int = 0
    max_seg_len: int = 0


_UNSUPPORTED = StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED


def _bad(reason: str, detail: str, code: StatusCode = StatusCode.BAD_REQUEST) -> TreeCommandError:
    return TreeCommandError(code, reason, detail)


def format_uri(path: Path) -> str:
    """``()`` -> ``"."``, ``("a", "b")`` -> ``"./a/b"``."""
    return "./" + "/".join(path) if path else "."


def parse_path(text: str) -> Path:
    """Parse a node URI without suffix into segments.

    OMA-TS-DM_TND-V1_2 §8.1, §8.2: relative (``./a`` or bare ``a``), root is ``.``, no trailing
    ``/``, no ``..`` segment, no empty segment, ``./`` only at the start.
    """
    if not text:
        raise _bad("uri.empty", "empty URI")
    if text == ".":
        return ()
    body = text[2:] if text.startswith("./") else text
    if not body or body.endswith("/") or body.startswith("/"):
        raise _bad("uri.syntax", "URI must not start or end with '/'")
    segments = tuple(body.split("/"))
    for seg in segments:
        # OMA-TS-DM_TND-V1_2 §8.1, §8.2: no empty segment, no "." / ".." segments inside the URI.
        if seg in ("", ".", ".."):
            raise _bad("uri.syntax", "empty, '.' or '..' segment in URI")
        if any(ord(c) < 0x20 for c in seg):
            raise _bad("uri.syntax", "control character in URI")
    return segments


def _parse_listing(spec: str) -> Listing:
    # OMA-TS-DM_TND-V1_2 §8.4: list=Struct | StructData | TNDS[+p+p | -p-p]; + and - never mixed.
    if spec == ListKind.STRUCT.value:
        return Listing(kind=ListKind.STRUCT)
    if spec == ListKind.STRUCT_DATA.value:
        return Listing(kind=ListKind.STRUCT_DATA)
    if not spec.startswith("TNDS"):
        raise _bad("uri.list", "unsupported ?list= form", _UNSUPPORTED)
    rest = spec[4:]
    every = frozenset((*PROPERTY_NAMES, "Value"))
    if not rest:
        return Listing(kind=ListKind.TNDS)
    sign = rest[0]
    names = rest[1:].split(sign)
    if sign not in "+-" or ("+" in rest and "-" in rest) or not all(n in every for n in names):
        raise _bad("uri.list", "bad TNDS property selection", _UNSUPPORTED)
    chosen = frozenset(names)
    return Listing(kind=ListKind.TNDS, properties=chosen if sign == "+" else every - chosen)


def parse_uri(text: str) -> ParsedUri:
    """Parse a command URI with an optional ``?prop=`` or ``?list=`` suffix."""
    base, sep, query = text.partition("?")
    path = parse_path(base)
    if not sep:
        return ParsedUri(path=path)
    key, eq, value = query.partition("=")
    if not eq:
        raise _bad("uri.query", "malformed URI query")
    if key == "prop":
        # OMA-TS-DM_TND-V1_2 §8.4: unsupported property -> 406.
        if value not in PROPERTY_NAMES:
            raise _bad("uri.prop", "unsupported property", _UNSUPPORTED)
        return ParsedUri(path=path, prop=value)
    if key == "list":
        return ParsedUri(path=path, listing=_parse_listing(value))
    raise _bad("uri.query", "unsupported URI query", _UNSUPPORTED)


def check_uri_limits(path: Path, limits: UriLimits) -> None:
    """Raise 414 when ``path`` exceeds the DevDetail/URI limits (OMA-TS-DM_TND-V1_2 §8.1, §8.2)."""
    if limits.max_depth and len(path) > limits.max_depth:
        raise _bad("uri.too_long", "URI deeper than MaxDepth", StatusCode.URI_TOO_LONG)
    if limits.max_seg_len and any(len(s) > limits.max_seg_len for s in path):
        raise _bad("uri.too_long", "URI segment longer than MaxSegLen", StatusCode.URI_TOO_LONG)
    if limits.max_tot_len and len(format_uri(path)) > limits.max_tot_len:
        raise _bad("uri.too_long", "URI longer than MaxTotLen", StatusCode.URI_TOO_LONG)
