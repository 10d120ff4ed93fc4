"""XML <-> :class:`~dmproto.codec.element.Element` tree.

:func:`parse_xml` reads a SyncML DM (or TNDS/DDF) XML document through defusedxml's
expat parser with entity declarations and external references forbidden (a plain
DOCTYPE with only a public/system id is accepted: OMA-TS-DM_RepPro-V1_2_1 §4.1 says the prolog and
DOCTYPE are optional, and libwbxml's samples carry one). :func:`serialize_xml`
writes a canonical, deterministic UTF-8 document.

Reading rules:

* Namespace URIs map to code pages through
  :data:`~dmproto.codec.element.NAMESPACE_PAGES`, case-insensitively. An element in
  no namespace, or in a namespace we do not know, inherits its parent's page (the
  root defaults to SYNCML, or DDF for ``MgmtTree``). So MetInf may be declared per
  element, on ``<Meta>``, through a prefix, or not at all (docs/conformance.md#tolerances "Codec").
  ``Element.namespace`` keeps the exact URI read.
* Character content (text and CDATA) is kept as received; stripping is the
  reader's business (:mod:`.reading`).
* A SyncML ``<Data>`` element containing element markup (a TNDS document, a Windows
  profile) gets ``raw_xml``: the exact XML text between ``<Data>`` and ``</Data>``,
  sliced from the input bytes with expat's byte indexes (OMA-TS-DM_RepPro-V1_2_1 §4.1;
  OMA-TS-SyncML_RepPro-V1_2 DTD, Data ``(#PCDATA)`` "may contain nested XML"). The one change:
  namespace prefixes bound outside ``<Data>`` that the markup uses are re-declared on its top-level
  elements, so the text is well-formed on its own and survives re-encoding.
* Work is linear in the input size (no backtracking regex, no rescans).

Recovery from an unescaped ``&`` (decision): field devices and test suites send
``<Data>MAXDT=15&DR=1</Data>`` (AOSP's ``testalertconfirm.xml``), which is not
well-formed. Only after expat reports a well-formedness error, and only when the
input contains an ``&`` that does not start a character reference or a
``name;`` entity reference, the document is parsed once more with each such ``&``
(outside CDATA sections and comments) rewritten to ``&amp;``. Named entities other
than the five predefined ones stay errors, and when the second parse fails too the
error of the *first* parse is reported. Rejecting the message would end a session
for a harmless quirk; the rewrite cannot turn a message into a different well-formed
one, because a bare ``&`` has no other meaning in XML.

Reasons raised (all :class:`~dmproto.errors.MalformedMessageError`, with a byte
offset as ``position``): ``limit.message-size``, ``limit.depth``,
``limit.elements``, ``limit.data-size``, ``xml.entity`` (entity declaration),
``xml.external`` (external reference), ``xml.dtd``, ``xml.syntax`` (not well-formed,
including undefined entities and truncation), ``xml.encoding`` (a declared encoding
expat cannot read, invalid or self-contradicting UTF-16 (see :mod:`.utf16`), or
Data markup in a document whose encoding is not ASCII-compatible: raw slicing
needs ASCII markup bytes). UTF-16 documents are transcoded to UTF-8 first (after
the size check on the bytes received); their error positions are UTF-8 offsets.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import Any, TypeAlias
from xml.etree.ElementTree import ParseError

from defusedxml import (  # type: ignore[import-untyped]
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]

from ..errors import EncodeError, MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from .element import NAMESPACE_PAGES, PAGE_NAMESPACES, CodePage, Element, make_element
from .guard import check_message_size
from .utf16 import utf16_to_utf8

__all__ = ["parse_xml", "serialize_xml"]

# The end of a start tag, matched at the byte offset expat reports for it (attribute
# values may contain '>', so a plain search for '>' is not enough).
_START_TAG = re.compile(rb"(<[^\s/>]+)(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>")
# Namespace prefixes used by element or attribute names (over-approximated: any
# ``name:`` after '<' or white space), and prefixes a start tag declares itself.
_USED_PREFIX = re.compile(rb"[<\s]([^\s<>/=:\"'&;]+):")
_DECLARED_PREFIX = re.compile(rb"\sxmlns:([^\s=/>]+)\s*=")

# Bare '&' not starting a reference; CDATA sections and comments are matched first
# so that their content is left alone.
_AMP_OR_SECTION = re.compile(rb"&|<!\[CDATA\[|<!--")
_REFERENCE = re.compile(rb"#[0-9]+;|#x[0-9A-Fa-f]+;|[^\s&;<>\"']+;")

# Characters XML 1.0 cannot carry at all (§2.2 Char production).
_INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
#: Every character :func:`_text` refuses or escapes: most text has none, and then one
#: regex search (C) replaces a search and a ``translate`` (issue 12: the writer's hot path).
_SPECIAL_CHARS = re.compile("[\x00-\x08\x0b-\x1f&<>\ud800-\udfff\ufffe\uffff]")
_ATTR_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\r": "&#13;",
        "\n": "&#10;",
        "\t": "&#9;",
    }
)

_UTF8_NAMES = frozenset({"utf-8", "utf8"})


StartHandler: TypeAlias = Callable[[str, object], None]
EndHandler: TypeAlias = Callable[[str], None]
DataHandler: TypeAlias = Callable[[str], None]


def _resolve(tag: str) -> tuple[str, CodePage | None, str | None]:
    """expat's ``uri}local`` name -> (local name, page or None to inherit, namespace)."""
    uri, sep, local = tag.rpartition("}")
    if not sep:
        return local, None, None
    # OMA-TS-DM_RepPro-V1_2_1 §4.1; docs/conformance.md#tolerances: namespace URIs compare
    # case-insensitively; unknown ones inherit.
    return local, NAMESPACE_PAGES.get(uri.lower()), uri


class _Builder:
    """expat event handlers building an :class:`Element` tree within :class:`Limits`."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self._data = data
        self._limits = limits
        self.expat: Any = None  # the pyexpat parser, set once created
        self._stack: list[Element] = []
        # Text size of elements whose content came in several runs, by id(parts).
        self._run_sizes: dict[int, int] = {}
        self._tags: dict[str, tuple[str, CodePage | None, str | None]] = {}
        # Prefixed namespace declarations in scope: prefix -> URIs, innermost last.
        self._bindings: dict[str, list[str]] = {}
        self._text_handler: DataHandler = lambda text: None
        self._encoding = "utf-8"
        self.root: Element | None = None

    # -- XMLParser target protocol (only close() is used; events come straight
    # from expat through the handlers installed by parse_xml) --------------------
    def close(self) -> None:
        """Called by XMLParser.close(); the tree is in :attr:`root`."""

    def xml_decl(self, version: str | None, encoding: str | None, standalone: int) -> None:
        """Remember the declared encoding (for slicing raw Data)."""
        if encoding:
            self._encoding = encoding.lower()

    def ns_start(self, prefix: str | None, uri: str | None) -> None:
        """A namespace declaration comes into scope (before its element's start)."""
        if prefix:
            self._bindings.setdefault(prefix, []).append(uri or "")

    def ns_end(self, prefix: str | None) -> None:
        """A namespace declaration goes out of scope (after its element's end)."""
        uris = self._bindings.get(prefix or "")
        if uris:
            uris.pop()
            if not uris:
                del self._bindings[prefix or ""]

    def handlers(self) -> tuple[StartHandler, EndHandler, DataHandler]:
        """The expat element and text handlers.

        Closures over local variables rather than methods: attribute lookups on
        ``self`` were a large share of the per-element cost.
        """
        stack = self._stack
        tags_get = self._tags.get
        tags = self._tags
        run_sizes = self._run_sizes
        expat = self.expat
        limits = self._limits
        max_elements, max_depth, max_data = (
            limits.max_elements,
            limits.max_depth,
            limits.max_data_size,
        )
        syncml = CodePage.SYNCML
        count = 0
        open_data = 0  # SyncML <Data> elements currently open

        def start(tag: str, attrs: object) -> None:
            """Open an element: check limits, resolve its page, link it to its parent."""
            nonlocal count, open_data
            count += 1
            # Limits are checked before the element is built (CONTRIBUTING.md#limits-before-work).
            if count > max_elements or len(stack) >= max_depth:
                self._limit_exceeded(count > max_elements)
            resolved = tags_get(tag)
            if resolved is None:
                resolved = tags[tag] = _resolve(tag)
            local, page, namespace = resolved
            if stack:
                parent = stack[-1]
                if page is None:
                    page = parent.page
                element = make_element(local, page, namespace, expat.CurrentByteIndex)
                parent.children.append(element)
            else:
                if page is None:
                    page = CodePage.DDF if local == "MgmtTree" else syncml
                element = self.root = make_element(local, page, namespace, expat.CurrentByteIndex)
            if local == "Data" and page is syncml:
                open_data += 1
            stack.append(element)

        def data(text: str) -> None:
            """Character data (text or CDATA) of the innermost open element (expat
            reports none outside the root element)."""
            parts = stack[-1].parts
            parts.append(text)
            size = len(text)
            if len(parts) > 1:  # text came in several runs (long, CDATA, comments)
                key = id(parts)
                size = run_sizes[key] = run_sizes.get(key, len(parts[0])) + size
            if size > max_data:
                raise MalformedMessageError(
                    "limit.data-size",
                    f"element content longer than {max_data}",
                    position=expat.CurrentByteIndex,
                    status_hint=413,
                )

        def end(tag: str) -> None:
            """Close an element; slice raw Data markup; drop ignorable white space."""
            nonlocal open_data
            element = stack.pop()
            children = element.children
            if element.name == "Data" and element.page is syncml:
                open_data -= 1
                if children and open_data == 0:
                    element.raw_xml = self._inner_xml(element, expat.CurrentByteIndex)
            parts = element.parts
            if children and parts and all(isinstance(p, str) and not p.strip() for p in parts):
                parts.clear()

        self._text_handler = data
        return start, end, data

    def data(self, text: str) -> None:
        """Text from XMLParser itself (its entity table, empty here).

        This method must exist: XMLParser turns an undefined entity reference
        (possible after an external DTD, which is never fetched) into an error only
        when its target has ``data``; otherwise it silently drops the reference.
        """
        self._text_handler(text)  # pragma: no cover - XMLParser only checks it exists

    def _limit_exceeded(self, elements: bool) -> None:
        position = self.expat.CurrentByteIndex
        if elements:
            raise MalformedMessageError(
                "limit.elements",
                f"more than {self._limits.max_elements} elements",
                position=position,
                status_hint=413,
            )
        raise MalformedMessageError(
            "limit.depth",
            f"element nesting deeper than {self._limits.max_depth}",
            position=position,
            status_hint=413,
        )

    def _inner_xml(self, element: Element, end: int) -> str:
        """The input text between the start tag at element.position and ``end``.

        Prefixes bound outside ``<Data>`` (on an ancestor or on Data itself) that
        the markup uses are re-declared on each top-level child, so the text stays
        well-formed on its own; otherwise it is exactly the input.
        """
        match = _START_TAG.match(self._data, element.position)
        if match is None:  # pragma: no cover - expat accepted this start tag
            raise MalformedMessageError(
                "xml.syntax", "unreadable Data start tag", position=element.position
            )
        begin = match.end()
        cuts: list[tuple[int, str]] = []
        if self._bindings:
            children = element.children
            for n, child in enumerate(children):
                tag = _START_TAG.match(self._data, child.position)
                if tag is None:  # pragma: no cover - expat accepted this start tag
                    continue
                stop = children[n + 1].position if n + 1 < len(children) else end
                # Linear: each child's text is scanned once for the prefixes it uses.
                used = set(_USED_PREFIX.findall(self._data, child.position, stop))
                own = set(_DECLARED_PREFIX.findall(tag.group()))
                decls = "".join(
                    f' xmlns:{p}="{self._bindings[p][-1].translate(_ATTR_ESCAPES)}"'
                    for p in sorted(p.decode("utf-8", "replace") for p in used - own)
                    if self._bindings.get(p)
                )
                if decls:
                    name_end = child.position + len(tag.group(1))
                    cuts.append((name_end, decls))
        encoding = "utf-8" if self._encoding in _UTF8_NAMES else self._encoding
        try:
            pieces: list[str] = []
            last = begin
            for at, decls in cuts:
                pieces.append(codecs.decode(self._data[last:at], encoding))
                pieces.append(decls)
                last = at
            pieces.append(codecs.decode(self._data[last:end], encoding))
        except (LookupError, UnicodeError, ValueError, TypeError) as exc:
            raise MalformedMessageError(
                "xml.encoding",
                f"Data markup not decodable as {encoding}",
                position=begin,
            ) from exc
        return "".join(pieces)


def _parse_once(data: bytes, limits: Limits) -> Element:
    """One expat pass over ``data``; a syntax error is raised as :class:`_SyntaxError`."""
    builder = _Builder(data, limits)
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    expat = builder.expat = parser.parser
    # Events go straight from expat to the builder (faster than XMLParser's
    # per-event wrappers); defusedxml's entity/DTD handlers stay installed.
    expat.StartElementHandler, expat.EndElementHandler, expat.CharacterDataHandler = (
        builder.handlers()
    )
    expat.XmlDeclHandler = builder.xml_decl
    if b"xmlns:" in data:  # prefixed declarations only matter for raw Data markup
        expat.StartNamespaceDeclHandler = builder.ns_start
        expat.EndNamespaceDeclHandler = builder.ns_end
    try:
        parser.feed(data)
        parser.close()
    except ParseError as exc:
        position = expat.ErrorByteIndex
        if position < 0:
            position = expat.CurrentByteIndex
        raise _SyntaxError(str(exc), max(position, 0)) from None
    except EntitiesForbidden as exc:
        # No XML entities, ever (CONTRIBUTING.md#limits-before-work): billion laughs, XXE.
        raise MalformedMessageError(
            "xml.entity",
            f"entity declaration {exc.name!r} refused",
            position=max(expat.CurrentByteIndex, 0),
        ) from None
    except ExternalReferenceForbidden:  # pragma: no cover - needs a declared entity
        # Backstop: an external reference needs a declaration, refused above.
        raise MalformedMessageError(
            "xml.external",
            "external reference refused",
            position=max(expat.CurrentByteIndex, 0),
        ) from None
    except (LookupError, ValueError, UnicodeError) as exc:
        # pyexpat refuses the declared encoding (unknown, multi-byte, not text).
        raise MalformedMessageError(
            "xml.encoding",
            f"unsupported document encoding: {exc}",
            position=max(expat.CurrentByteIndex, 0),
        ) from None
    except RecursionError:  # pragma: no cover - the builder does not recurse
        raise MalformedMessageError(
            "limit.depth", "document nesting too deep", position=0
        ) from None
    if builder.root is None:  # pragma: no cover - expat requires a root element
        raise _SyntaxError("no root element", 0)
    return builder.root


class _SyntaxError(Exception):
    """Internal: expat reported a well-formedness error (may be retried)."""

    def __init__(self, detail: str, position: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.position = position


def _escape_bare_ampersands(data: bytes) -> bytes | None:
    """``data`` with every bare ``&`` rewritten to ``&amp;``; None if there is none.

    CDATA sections and comments are skipped. Linear: every search starts where
    the previous one stopped (a lazy regex over unterminated sections was not).
    """
    out: list[bytes] = []
    found = False
    last = pos = 0
    while True:
        match = _AMP_OR_SECTION.search(data, pos)
        if match is None:
            break
        token = match.group()
        if token != b"&":
            close = data.find(b"]]>" if token == b"<![CDATA[" else b"-->", match.end())
            if close < 0:
                break  # unterminated: nothing after it is rewritten
            pos = close + 3
            continue
        pos = match.end()
        if _REFERENCE.match(data, pos) is None:
            out.append(data[last : match.start()])
            out.append(b"&amp;")
            last = pos
            found = True
    if not found:
        return None
    out.append(data[last:])
    return b"".join(out)


def parse_xml(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Element:
    """Parse one XML document into an :class:`Element` tree.

    Raises:
        MalformedMessageError: ``limit.*`` or ``xml.*`` (see the module docstring),
            with the byte offset of the problem as ``position``.
    """
    check_message_size(len(data), limits, "document")  # the bytes as received
    # UTF-16 (with a byte-order mark, or declared): read as UTF-8, see utf16.py.
    data = utf16_to_utf8(data) or data
    try:
        try:
            return _parse_once(data, limits)
        except _SyntaxError as first:
            rewritten = _escape_bare_ampersands(data) if b"&" in data else None
            if rewritten is None:
                raise
            try:
                return _parse_once(rewritten, limits)
            except (_SyntaxError, MalformedMessageError):
                raise first from None
    except _SyntaxError as exc:
        raise MalformedMessageError(
            "xml.syntax", f"not well-formed XML: {exc.detail}", position=exc.position
        ) from None


def _start_tag(name: str, namespace: str | None) -> str:
    if namespace is None:
        return f"<{name}"
    return f'<{name} xmlns="{namespace.translate(_ATTR_ESCAPES)}"'


def _text(part: str | bytes) -> str:
    if isinstance(part, bytes):
        raise EncodeError(
            "xml.binary",
            "binary (OPAQUE) content cannot be written as XML; use Meta Format b64",
        )
    if _SPECIAL_CHARS.search(part) is None:
        return part
    bad = _INVALID_CHARS.search(part)
    if bad is not None:
        raise EncodeError(
            "xml.invalid-char",
            f"character U+{ord(bad.group()):04X} cannot be written in XML",
        )
    return part.translate(_ESCAPES)


def serialize_xml(
    root: Element, *, xml_declaration: bool = False, indent: str | None = None
) -> bytes:
    """Write an :class:`Element` tree as canonical UTF-8 XML.

    No prolog unless ``xml_declaration``; ``xmlns`` on the root and wherever an
    element's namespace differs from its parent's (docs/conformance.md#tolerances "Codec": so every
    MetInf child of ``<Meta>`` carries ``xmlns="syncml:metinf"``); empty elements as
    ``<Final/>``; ``raw_xml`` written verbatim. Iterative, so any depth is fine.

    ``indent`` (for people, e.g. ``"  "``) puts each child of an element that has
    only element children on its own indented line; text content is never changed.

    Raises:
        EncodeError: a ``bytes`` part (``xml.binary``) or a character XML cannot
            carry (``xml.invalid-char``).
    """
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>'] if xml_declaration else []
    # (element, parent's effective namespace, parent's page, depth) or closing text.
    stack: list[tuple[Element, str | None, CodePage | None, int] | str] = [(root, None, None, 0)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        element, parent_ns, parent_page, depth = item
        if element.namespace is not None:
            namespace = element.namespace
        elif element.page is parent_page and parent_ns is not None:
            namespace = parent_ns
        else:
            namespace = PAGE_NAMESPACES[element.page]
        out.append(_start_tag(element.name, None if namespace == parent_ns else namespace))
        if element.raw_xml is not None:
            out.append(f">{element.raw_xml}</{element.name}>")
        elif element.children or element.parts:
            out.append(">")
            out.extend(_text(p) for p in element.parts)
            # Indent only between element children: text content stays exact.
            pad = None if indent is None or element.parts else "\n" + indent * depth
            stack.append(f"</{element.name}>" if pad is None else f"{pad}</{element.name}>")
            for child in reversed(element.children):
                stack.append((child, namespace, element.page, depth + 1))
                if pad is not None:
                    stack.append(pad + str(indent))
        else:
            out.append("/>")
    if indent is not None:
        out.append("\n")
    return "".join(out).encode("utf-8")
