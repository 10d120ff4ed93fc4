"""WBXML <-> element tree, for DM messages and DDF/TNDS documents (WAP-192-WBXML;
OMA-TS-SyncML_RepPro-V1_2 WBXML).

:func:`parse_wbxml` reads WBXML 1.0–1.3 into an :class:`~dmproto.codec.element.Element`
tree; :func:`serialize_wbxml` writes one. Both use the tag tables of
:mod:`dmproto.codec.tokens` (code pages 0 SyncML, 1 MetInf, 2 DM DDF). Neither knows
what a SyncML element means: :mod:`dmproto.codec.reading` and :mod:`dmproto.codec.mapping`
do. :func:`parse_wbxml_tree`, the decode hot path, reads the regular shape of a DM message
with the lean loop of :mod:`dmproto.codec.wbxml_fast` into an ``xml.etree`` tree, and returns
``None`` for anything else, every error and limit included: :func:`parse_wbxml` reads those
and reports the error.

The parser is iterative (no recursion, whatever the nesting) and treats every input as
hostile: each length is checked against the remaining input before anything is sliced
or allocated, and the :class:`~dmproto.limits.Limits` on depth, element count and data
size are enforced while reading. Any input it cannot read raises
:class:`~dmproto.errors.MalformedMessageError` with a byte offset as ``position`` and
one of these reasons:

* ``wbxml.truncated`` — the input ends inside a header field, token or length; or a
  length (OPAQUE, string table) runs past the end of the input.
* ``wbxml.version`` — version byte not 0x00–0x03.
* ``wbxml.mb-uint32`` — a multi-byte integer longer than 5 bytes or above 2**32-1.
* ``wbxml.charset`` — a charset other than UTF-8 (106), US-ASCII (3), ISO-8859-1 (4)
  or 0 (unknown, read as UTF-8).
* ``wbxml.string-table`` — a string-table reference past the end of the table.
* ``wbxml.unterminated-string`` — STR_I without its NUL terminator.
* ``wbxml.invalid-text`` — bytes that are not valid in the document's charset.
* ``wbxml.entity`` — ENTITY naming no valid character.
* ``wbxml.unknown-page`` — SWITCH_PAGE to a page other than 0, 1, 2.
* ``wbxml.unknown-tag`` — a tag token not defined on its page, or a LITERAL name
  defined on none of the three pages (the current page is tried first).
* ``wbxml.unsupported-token`` — EXT_* extension tokens.
* ``wbxml.unexpected-token`` — a token where the grammar forbids it (text outside the
  root element, LITERAL/PI tokens inside an attribute list).
* ``wbxml.unbalanced-end`` — END with no open element.
* ``wbxml.trailing-data`` — anything but PIs after the root element's END (white
  space alone is tolerated there: libwbxml leaves it after embedded documents).
* ``wbxml.empty`` — no root element.
* ``limit.message-size``, ``limit.depth``, ``limit.elements``, ``limit.data-size``.

The serializer raises :class:`~dmproto.errors.EncodeError` (``wbxml.unknown-tag``,
``wbxml.nul-in-text``, ``wbxml.invalid-text``) for trees WBXML
cannot carry.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element as TreeElement

import attrs

from ..errors import EncodeError, InvalidValueError, MalformedMessageError
from ..limits import DEFAULT_LIMITS, Limits
from .element import CodePage, Element, make_element
from .guard import check_message_size
from .reading import Irregular
from .tokens import (
    DDF_FPI,
    TAG_ATTRIBUTES,
    TAG_CONTENT,
    TAG_ID_MASK,
    TAG_NAMES,
    TAG_TOKENS,
    GlobalToken,
    PublicId,
)
from .wbxml_fast import read_tree

__all__ = [
    "DDF_OPTIONS",
    "WbxmlDocument",
    "WbxmlOptions",
    "parse_wbxml",
    "parse_wbxml_tree",
    "serialize_wbxml",
]

#: Largest value of a WBXML mb_u_int32 (WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1: an unsigned
#: 32-bit integer).
_MB_MAX = 0xFFFFFFFF
#: At most 5 bytes of 7 bits carry 32 bits.
_MB_MAX_BYTES = 5

#: Charsets accepted (IANA MIBenum -> Python codec). WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1:
#: DM uses 0x6A (UTF-8); the single-byte ASCII-compatible sets are harmless to accept; 0 means
#: "unknown", read as the DM default UTF-8 (OMA-TS-DM_RepPro-V1_2_1 §4.1).
_CHARSETS: dict[int, str] = {0: "utf-8", 3: "ascii", 4: "latin-1", 0x6A: "utf-8"}
_UTF8 = 0x6A
_WHITESPACE = b" \t\r\n"
_PAGES = tuple(CodePage)

# Plain ints for the token loop (enum attribute lookups cost more than the work).
_SWITCH_PAGE = int(GlobalToken.SWITCH_PAGE)
_END = int(GlobalToken.END)
_ENTITY = int(GlobalToken.ENTITY)
_STR_I = int(GlobalToken.STR_I)
_PI = int(GlobalToken.PI)
_STR_T = int(GlobalToken.STR_T)
_OPAQUE = int(GlobalToken.OPAQUE)
_EXT_TOKENS = frozenset(
    int(t)
    for t in (
        GlobalToken.EXT_I_0,
        GlobalToken.EXT_I_1,
        GlobalToken.EXT_I_2,
        GlobalToken.EXT_T_0,
        GlobalToken.EXT_T_1,
        GlobalToken.EXT_T_2,
        GlobalToken.EXT_0,
        GlobalToken.EXT_1,
        GlobalToken.EXT_2,
    )
)
_TEXT_TOKENS = frozenset((_STR_I, _STR_T, _OPAQUE, _ENTITY))
_LITERAL_TAGS = frozenset(
    int(t)
    for t in (
        GlobalToken.LITERAL,
        GlobalToken.LITERAL_A,
        GlobalToken.LITERAL_C,
        GlobalToken.LITERAL_AC,
    )
)
#: (page << 6 | tag identity) -> (name, page), for every tag of the three pages.
_TAGS: dict[int, tuple[str, CodePage]] = {
    (int(page) << 6) | identity: (name, page)
    for page, names in TAG_NAMES.items()
    for identity, name in names.items()
}


def _check_options(instance: WbxmlOptions, attribute: attrs.Attribute[int], value: int) -> None:
    del instance
    top = 0x03 if attribute.name == "version" else _MB_MAX
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
        raise InvalidValueError("wbxml.options", f"{attribute.name} must be an int in 0..{top}")


def _check_fpi(
    instance: WbxmlOptions, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    del instance, attribute
    if value is not None and (not isinstance(value, str) or "\x00" in value or not value):
        raise InvalidValueError("wbxml.options", "fpi must be a non-empty string without NUL")


@attrs.frozen(kw_only=True)
class WbxmlOptions:
    """How to write WBXML (WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2
    WBXML).

    Attributes:
        version: the version byte, 0x00–0x03 (default 0x02 = WBXML 1.2).
        public_id: the numeric public id (default 0x1201, SyncML 1.2); ignored when
            ``fpi`` is set.
        fpi: a textual formal public identifier, written NUL-terminated at index 0 of
            the string table with public id 0 (as libwbxml does; needed for DDF/TNDS,
            which have no numeric id).
        string_table: also put strings that occur more than once in the string table
            and reference them with STR_T (smaller output; every decoder must read it).
    """

    version: int = attrs.field(default=0x02, validator=_check_options)
    public_id: int = attrs.field(default=int(PublicId.SYNCML_1_2), validator=_check_options)
    fpi: str | None = attrs.field(default=None, validator=_check_fpi)
    string_table: bool = False


#: Options for a stand-alone DDF or TNDS document (WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML:
#: no numeric public id).
DDF_OPTIONS = WbxmlOptions(fpi=DDF_FPI)


@attrs.frozen(kw_only=True)
class WbxmlDocument:
    """A decoded WBXML document: its header fields and its root element.

    Attributes:
        version: the version byte (0x00–0x03).
        public_id: the numeric public id; 0 when the document names itself by ``fpi``.
        fpi: the textual public identifier from the string table, or ``None``.
        charset: the IANA MIBenum of the document's charset (106 = UTF-8).
        root: the root element.
    """

    version: int
    public_id: int
    fpi: str | None
    charset: int
    root: Element


# --------------------------------------------------------------------------- parse


def _malformed(reason: str, detail: str, position: int) -> MalformedMessageError:
    # OMA-TS-SyncML_RepPro-V1_2 status codes: 413 (request entity too large) answers a limit, 400
    # the rest.
    hint = 413 if reason.startswith("limit.") else 400
    return MalformedMessageError(reason, detail, position=position, status_hint=hint)


class _Parser:
    """One parse of one document; holds the cursor and the budgets."""

    __slots__ = (
        "charset",
        "codec",
        "data",
        "end",
        "limits",
        "pos",
        "strtbl",
        "strtbl_at",
        "strtbl_cache",
        "text_budget",
    )

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data = data
        self.end = len(data)
        self.pos = 0
        self.limits = limits
        self.charset = _UTF8
        self.codec = "utf-8"
        self.strtbl = b""
        self.strtbl_at = 0
        self.strtbl_cache: dict[int, tuple[str, int]] = {}
        # STR_T references can repeat one long string-table entry many times; the
        # decoded text of the whole document is bounded like the message itself
        # (WAP-192-WBXML; OMA-TS-DM_TND-V1_2 §8.3.7.2;
        # CONTRIBUTING.md#limits-before-work: memory grows linearly with input).
        self.text_budget = limits.max_message_size

    # -- primitive reads ------------------------------------------------------

    def byte(self, what: str) -> int:
        if self.pos >= self.end:
            raise _malformed("wbxml.truncated", f"input ends before {what}", self.pos)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def mb_u_int32(self, what: str) -> int:
        # WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1: big-endian base-128, continuation bit 0x80;
        # at most 32 bits.
        start = self.pos
        value = 0
        for _ in range(_MB_MAX_BYTES):
            octet = self.byte(what)
            value = (value << 7) | (octet & 0x7F)
            if not octet & 0x80:
                if value > _MB_MAX:
                    raise _malformed("wbxml.mb-uint32", f"{what} overflows 32 bits", start)
                return value
        raise _malformed("wbxml.mb-uint32", f"{what} is longer than 5 bytes", start)

    def length(self, what: str) -> int:
        """A length field, checked against the remaining input before any slicing."""
        start = self.pos
        size = self.mb_u_int32(what)
        if size > self.end - self.pos:
            raise _malformed(
                "wbxml.truncated",
                f"{what} of {size} bytes runs past the end of the input",
                start,
            )
        return size

    def decode(self, raw: bytes, position: int) -> str:
        try:
            return raw.decode(self.codec)
        except UnicodeDecodeError as exc:
            raise _malformed(
                "wbxml.invalid-text", f"text is not valid {self.codec}", position + exc.start
            ) from None

    def inline_string(self) -> tuple[bytes, int]:
        """Bytes of an STR_I (cursor after the token) and their offset."""
        start = self.pos
        nul = self.data.find(b"\x00", start)
        if nul < 0:
            raise _malformed("wbxml.unterminated-string", "inline string has no NUL", start - 1)
        self.pos = nul + 1
        return self.data[start:nul], start

    def table_string(self, position: int) -> tuple[str, int]:
        """The string-table entry at the offset read next: (text, size in bytes)."""
        offset = self.mb_u_int32("string-table offset")
        cached = self.strtbl_cache.get(offset)
        if cached is not None:
            return cached
        raw = self.table_entry(offset, "string-table offset", position)
        entry = (self.decode(raw, self.strtbl_at + offset), len(raw))
        self.strtbl_cache[offset] = entry
        return entry

    def table_entry(self, offset: int, what: str, position: int) -> bytes:
        """The raw string-table entry starting at ``offset``."""
        if offset >= len(self.strtbl):
            raise _malformed(
                "wbxml.string-table",
                f"{what} {offset} outside a string table of {len(self.strtbl)} bytes",
                position,
            )
        # WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML: entries are NUL-terminated, but the AOSP
        # vectors end the table (the FPI) without one, so an entry may also end at the end of the
        # table.
        nul = self.strtbl.find(b"\x00", offset)
        return self.strtbl[offset:] if nul < 0 else self.strtbl[offset:nul]

    # -- header ---------------------------------------------------------------

    def header(self) -> tuple[int, int, str | None]:
        """Read version, public id, charset, string table (WAP-192-WBXML;
        OMA-TS-DM_RepPro-V1_2_1 §4.1)."""
        version = self.byte("the version byte")
        if version > 0x03:
            raise _malformed("wbxml.version", f"unknown WBXML version byte 0x{version:02x}", 0)
        public_id = self.mb_u_int32("the public id")
        fpi_index = self.mb_u_int32("the public id index") if public_id == 0 else None
        # WBXML 1.0 had no charset field, but libwbxml writes one for every version
        # (and DM requires WBXML >= 1.1, WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1), so it is
        # always read.
        charset_at = self.pos
        charset = self.mb_u_int32("the charset")
        codec = _CHARSETS.get(charset)
        if codec is None:
            raise _malformed("wbxml.charset", f"unsupported charset MIBenum {charset}", charset_at)
        self.charset, self.codec = charset, codec
        size = self.length("string table")
        self.strtbl_at = self.pos
        self.strtbl = self.data[self.pos : self.pos + size]
        self.pos += size
        fpi = None
        if fpi_index is not None:
            # WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML: public id 0 + index of a textual FPI
            # in the string table.
            raw = self.table_entry(fpi_index, "public id index", 1)
            fpi = self.decode(raw, self.strtbl_at + fpi_index)
        return version, public_id, fpi

    # -- body -----------------------------------------------------------------

    def body_tree(self) -> TreeElement:
        """Read the body into an ``xml.etree`` tree for :mod:`.reading` (tags are local
        names, text is one ``str``) with the lean loop of :mod:`.wbxml_fast`.

        Raises:
            Irregular: for anything but plain tags with at most one STR_I run each (STR_T,
                OPAQUE, ENTITY, several runs, attributes, LITERAL tags, PIs), and for any
                error or limit: :meth:`body` reads those and reports the error.
        """
        return read_tree(self.data, self.pos, self.codec, self.limits, self.text_budget)

    def body(self) -> Element:
        """Read the body: *PI element *PI, iteratively, into an :class:`Element` tree.

        The most frequent tokens (END, tags, STR_I) are tested first and kept on local
        variables; every length is still checked before it is used and every limit before
        the work it bounds.
        """
        limits = self.limits
        max_elements, max_depth = limits.max_elements, limits.max_depth
        data, end, tags, codec = self.data, self.end, _TAGS, self.codec
        # OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6: every document starts on page 0
        page = 0
        stack: list[Element] = []  # open elements
        sizes: list[int] = []  # character-data bytes of each open element
        root: Element | None = None
        count = 0
        pos = self.pos
        while pos < end:
            start = pos
            token = data[pos]
            pos += 1
            if token == _END:
                if not stack:
                    raise _malformed("wbxml.unbalanced-end", "END with no open element", start)
                stack.pop()
                sizes.pop()
                if not stack:
                    break
                continue
            # Tags first: no global token shares an identity with a tag (all are below
            # FIRST_TAG_ID), so a hit here is always a tag of the current page.
            tag = tags.get((page << 6) | (token & TAG_ID_MASK))
            if tag is None:
                if token == _STR_I and stack:
                    # Inline fast path of text() for the common STR_I run.
                    nul = data.find(b"\x00", pos)
                    if nul < 0:
                        raise _malformed(
                            "wbxml.unterminated-string", "inline string has no NUL", start
                        )
                    run = nul - pos
                    size = sizes[-1] + run
                    self.charge(size, run, start)
                    try:
                        text = data[pos:nul].decode(codec)
                    except UnicodeDecodeError:
                        text = self.decode(data[pos:nul], pos)  # raises wbxml.invalid-text
                    stack[-1].parts.append(text)
                    sizes[-1] = size
                    pos = nul + 1
                    continue
                if token == _SWITCH_PAGE:
                    self.pos = pos
                    page = self.switch_page(start)
                    pos = self.pos
                    continue
                if token in _TEXT_TOKENS:
                    if not stack:
                        raise _malformed(
                            "wbxml.unexpected-token",
                            "character data outside the root element",
                            start,
                        )
                    self.pos = pos
                    sizes[-1] = self.text(token, start, stack[-1], sizes[-1])
                    pos = self.pos
                    continue
                if token == _PI:
                    self.pos = pos
                    self.skip_attributes(start)
                    pos = self.pos
                    continue
                if token in _EXT_TOKENS:
                    raise _malformed(
                        "wbxml.unsupported-token", f"extension token 0x{token:02x}", start
                    )
                self.pos = pos
                tag = self.unusual_tag(token, page, start)
                pos = self.pos
            if token & TAG_ATTRIBUTES:
                # SyncML uses no attributes (WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1); some
                # Nokia encoders write a LITERAL xmlns attribute: skip attribute lists.
                self.pos = pos
                self.skip_attributes(start)
                pos = self.pos
            count += 1
            if count > max_elements:
                raise _malformed("limit.elements", f"more than {max_elements} elements", start)
            if len(stack) >= max_depth:
                raise _malformed("limit.depth", f"elements nested deeper than {max_depth}", start)
            element = make_element(tag[0], tag[1], None, start)
            if stack:
                stack[-1].children.append(element)
            if not stack:  # the loop ends when the root closes: this is the first element
                root = element
            if token & TAG_CONTENT:
                stack.append(element)
                sizes.append(0)
            elif root is element:
                break
        self.pos = pos
        if stack:
            raise _malformed("wbxml.truncated", f"input ends inside <{stack[-1].tag}>", end)
        if root is None:
            raise _malformed("wbxml.empty", "no root element", end)
        self.trailer()
        return root

    def trailer(self) -> None:
        """After the root: only PIs, or the white space libwbxml leaves (WAP-192-WBXML;
        OMA-TS-DM_TND-V1_2 §8.3.7.2)."""
        data, end = self.data, self.end
        while self.pos < end:
            start = self.pos
            if data[start] == _PI:
                self.pos += 1
                self.skip_attributes(start)
            elif not data[start:].strip(_WHITESPACE):
                # libwbxml quirk (WAP-192-WBXML; OMA-TS-DM_TND-V1_2 §8.3.7.2): after an embedded
                # document it writes the XML white space that followed it as a second OPAQUE run, so
                # the joined Data bytes end in white space.
                self.pos = end
            else:
                raise _malformed(
                    "wbxml.trailing-data", "data after the end of the root element", start
                )

    def switch_page(self, start: int) -> int:
        number = self.byte("the code page")
        # OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6: pages 0 SyncML, 1 MetInf, 2 DM
        # DDF.
        if number >= len(_PAGES):
            raise _malformed("wbxml.unknown-page", f"unknown code page {number}", start)
        return number

    def unusual_tag(self, token: int, page_number: int, start: int) -> tuple[str, CodePage]:
        """A LITERAL tag's name and page, or the error for a tag not on its page."""
        page = _PAGES[page_number]
        if token in _LITERAL_TAGS:
            # LITERAL, LITERAL_C, LITERAL_A, LITERAL_AC: the name is in the string table.
            name, _ = self.table_string(start)
            if name in TAG_TOKENS[page]:
                return name, page
            # A LITERAL carries no page: libwbxml writes SyncML 1.2 tags its 1.1
            # table lacks (Correlator) as literals while page 1 is still current.
            # Accept a name known on another DM page (OMA-TS-SyncML_RepPro-V1_2 WBXML;
            # OMA-TS-DM_TND-V1_2 §8.6), page 0 first.
            for other in _PAGES:
                if name in TAG_TOKENS[other]:
                    return name, other
            raise _malformed(
                "wbxml.unknown-tag", f"literal tag {name!r} unknown on the DM code pages", start
            )
        identity = token & TAG_ID_MASK
        raise _malformed(
            "wbxml.unknown-tag", f"tag 0x{identity:02x} unknown on page {page.name}", start
        )

    def text(self, token: int, start: int, element: Element, size: int) -> int:
        """Append one STR_T, OPAQUE or ENTITY run to ``element``; return its new size.

        The limits are checked on the run's byte length before it is decoded.
        """
        part: str | bytes
        if token == _STR_T:  # STR_I takes the inline path in body()
            part, run = self.table_string(start)
            self.charge(size + run, run, start)
        elif token == _OPAQUE:
            # WAP-192-WBXML; OMA-TS-DM_TND-V1_2 §8.3.7.2: raw bytes; length checked against the
            # input before slicing.
            run = self.length("OPAQUE data")
            self.charge(size + run, run, start)
            part = self.data[self.pos : self.pos + run]
            self.pos += run
        else:
            code = self.mb_u_int32("the entity code")
            if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _malformed("wbxml.entity", f"entity {code} is not a character", start)
            run = 1
            self.charge(size + run, run, start)
            part = chr(code)
        element.parts.append(part)
        return size + run

    def charge(self, element_size: int, run: int, start: int) -> None:
        """Check an element's data size and the document's text budget."""
        limit = self.limits.max_data_size
        if element_size > limit:
            raise _malformed(
                "limit.data-size", f"character data exceeds max_data_size {limit}", start
            )
        self.text_budget -= run
        if self.text_budget < 0:
            raise _malformed("limit.data-size", "decoded text exceeds max_message_size", start)

    def skip_attributes(self, start: int) -> None:
        """Skip an attribute list or PI body up to its END (values are not kept)."""
        while True:
            at = self.pos
            token = self.byte("END of an attribute list")
            if token == GlobalToken.END:
                return
            if token == GlobalToken.SWITCH_PAGE:
                self.byte("the attribute code page")  # attribute pages are not tag pages
            elif token == GlobalToken.LITERAL:
                self.table_string(at)
            elif token == GlobalToken.STR_I:
                self.inline_string()
            elif token == GlobalToken.STR_T:
                self.table_string(at)
            elif token == GlobalToken.ENTITY:
                self.mb_u_int32("the entity code")
            elif token == GlobalToken.OPAQUE:
                self.pos += self.length("OPAQUE attribute value")
            elif token in _EXT_TOKENS:
                raise _malformed("wbxml.unsupported-token", f"extension token 0x{token:02x}", at)
            elif token in (
                GlobalToken.PI,
                GlobalToken.LITERAL_C,
                GlobalToken.LITERAL_A,
                GlobalToken.LITERAL_AC,
            ):
                raise _malformed(
                    "wbxml.unexpected-token",
                    f"token 0x{token:02x} inside an attribute list (opened at {start})",
                    at,
                )
            # any other byte is an attribute start or value token: one byte, skipped


def parse_wbxml(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> WbxmlDocument:
    """Decode a WBXML document into its header fields and element tree.

    Accepts WBXML 1.0–1.3, numeric or textual public ids (with or without the NUL
    after the FPI), code pages 0–2 with SWITCH_PAGE anywhere, STR_I, STR_T, OPAQUE and
    ENTITY text, LITERAL tags whose name is known on a DM page, and skips attribute
    lists and PIs (WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML; docs/conformance.md#tolerances
    "Codec"). Character data is kept as separate parts: ``str`` for strings, ``bytes`` for OPAQUE
    runs.

    Raises:
        MalformedMessageError: for any input it cannot read or that exceeds
            ``limits`` (reasons in the module docstring); nothing else.
    """
    check_message_size(len(data), limits, "document")
    parser = _Parser(bytes(data), limits)
    version, public_id, fpi = parser.header()
    root = parser.body()
    return WbxmlDocument(
        version=version, public_id=public_id, fpi=fpi, charset=parser.charset, root=root
    )


def parse_wbxml_tree(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> TreeElement | None:
    """The ``xml.etree`` tree of a WBXML message, for :mod:`.reading` (the decode hot
    path), or ``None`` for whatever the lean loop does not read: irregular text,
    attributes, LITERAL tags, PIs (see ``body_tree``), and any error or limit. Never
    raises: :func:`parse_wbxml` reads those inputs and reports every error, with its
    reason and position.
    """
    try:
        check_message_size(len(data), limits, "document")
        parser = _Parser(bytes(data), limits)
        parser.header()
        return parser.body_tree()
    except (Irregular, MalformedMessageError):
        return None


# ----------------------------------------------------------------------- serialize


def _mb_u_int32(value: int) -> bytes:
    """Encode ``value`` as a WBXML multi-byte integer (WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1).

    Callers pass validated public ids and lengths of in-memory values (< 2**32).
    """
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _walk(root: Element) -> Iterator[Element]:
    """Every element of the tree in document order, without recursion."""
    pending = [root]
    while pending:
        element = pending.pop()
        yield element
        pending.extend(reversed(element.children))


def _text_runs(element: Element) -> list[str | bytes]:
    """What an element's content is written as: its parts, or its raw XML text.

    Adjacent runs of the same kind are merged (one STR_I per text run): the same
    content, fewer bytes, and libwbxml's ``wbxml2xml`` garbles vCard Data made of
    several STR_I runs into nested CDATA sections.
    """
    if not element.children and element.raw_xml is not None and not element.parts:
        return [element.raw_xml]
    runs: list[str | bytes] = []
    for part in element.parts:
        if not part:
            continue
        if runs and type(runs[-1]) is type(part):
            runs[-1] += part  # type: ignore[operator]  # same type, checked above
        else:
            runs.append(part)
    return runs


def _encode_text(text: str) -> bytes:
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise EncodeError(
            "wbxml.invalid-text", "text with a lone surrogate cannot be written as UTF-8"
        ) from None
    if b"\x00" in raw:
        raise EncodeError("wbxml.nul-in-text", "text containing NUL cannot be written as WBXML")
    return raw


class _StringTable:
    """The string table being written: the FPI, then strings that repeat."""

    def __init__(self, root: Element, options: WbxmlOptions) -> None:
        self.data = bytearray()
        self.offsets: dict[str, int] = {}
        if options.fpi is not None:
            # WAP-192-WBXML; OMA-TS-SyncML_RepPro-V1_2 WBXML: FPI at index 0, NUL-terminated as
            # libwbxml writes it.
            self.data += _encode_text(options.fpi) + b"\x00"
        if options.string_table:
            seen: set[str] = set()
            for element in _walk(root):
                for part in _text_runs(element):
                    if not isinstance(part, str) or len(part) < 2:
                        continue
                    if part in seen and part not in self.offsets:
                        self.offsets[part] = len(self.data)
                        self.data += _encode_text(part) + b"\x00"
                    seen.add(part)


def serialize_wbxml(root: Element, *, options: WbxmlOptions | None = None) -> bytes:
    """Encode an element tree as WBXML, deterministically.

    Default: WBXML 1.2, public id 0x1201, UTF-8 (0x6A), empty string table (WAP-192-WBXML;
    OMA-TS-DM_RepPro-V1_2_1 §4.1; OMA-TS-SyncML_RepPro-V1_2 WBXML). ``str`` parts become STR_I (or
    STR_T with ``string_table``), ``bytes`` parts OPAQUE; an element with no content is the bare
    tag token; SWITCH_PAGE is written exactly where the page changes (OMA-TS-SyncML_RepPro-V1_2
    WBXML; OMA-TS-DM_TND-V1_2 §8.6). Adjacent parts of one kind are merged into one run; an
    element's parts are written before its children. An element without children but with
    ``raw_xml`` (and no parts) is written as that text; one with children is written as its
    children.

    Raises:
        EncodeError: a tag unknown on its page, text containing NUL or a lone
            surrogate.
    """
    opts = options if options is not None else WbxmlOptions()
    table = _StringTable(root, opts)
    out = bytearray([opts.version])
    out += _mb_u_int32(0 if opts.fpi is not None else opts.public_id)
    if opts.fpi is not None:
        out += _mb_u_int32(0)
    out += _mb_u_int32(_UTF8)
    out += _mb_u_int32(len(table.data))
    out += table.data
    page = CodePage.SYNCML
    pending: list[Element | None] = [root]  # None stands for an END token
    while pending:
        element = pending.pop()
        if element is None:
            out.append(GlobalToken.END)
            continue
        token = TAG_TOKENS[element.page].get(element.name)
        if token is None:
            raise EncodeError(
                "wbxml.unknown-tag",
                f"<{element.name}> has no token on page {element.page.name}",
                position=element.position if element.position >= 0 else None,
            )
        if element.page != page:
            # OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6: SWITCH_PAGE before the
            # first tag of another page.
            out += bytes([GlobalToken.SWITCH_PAGE, element.page])
            page = element.page
        runs = _text_runs(element)
        if not runs and not element.children:
            # WAP-192-WBXML; OMA-TS-DM_RepPro-V1_2_1 §4.1: empty element = bare token, no 0x40
            out.append(token)
            continue
        out.append(token | TAG_CONTENT)
        for run in runs:
            if isinstance(run, bytes):
                out.append(GlobalToken.OPAQUE)
                out += _mb_u_int32(len(run))
                out += run
            elif run in table.offsets:
                out.append(GlobalToken.STR_T)
                out += _mb_u_int32(table.offsets[run])
            else:
                out.append(GlobalToken.STR_I)
                out += _encode_text(run)
                out.append(0)
        pending.append(None)
        pending.extend(reversed(element.children))
    return bytes(out)
