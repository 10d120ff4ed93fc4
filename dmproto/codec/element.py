"""A small generic element tree shared by the XML and WBXML codecs.

WBXML documents, and XML documents read with byte positions, are decoded into
:class:`Element` trees; :mod:`dmproto.codec.reading` (SyncML messages, also from the
``xml.etree`` trees of :mod:`dmproto.codec.fastxml`) and :mod:`dmproto.codec.tnds`
(MgmtTree documents) turn trees into models, and :mod:`dmproto.codec.mapping` walks a
model back out in DTD order. So the knowledge of "which element means what" exists once,
and XML and WBXML cannot drift apart.

This module knows nothing about SyncML semantics; it only names the three code
pages (WBXML) / namespaces (XML) DM uses (OMA-TS-SyncML_RepPro-V1_2 WBXML; OMA-TS-DM_TND-V1_2 §8.6).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

__all__ = ["NAMESPACE_PAGES", "PAGE_NAMESPACES", "CodePage", "Element", "make_element"]


class CodePage(enum.IntEnum):
    """WBXML code page, equivalently the XML namespace, of an element."""

    SYNCML = 0  #: ``SYNCML:SYNCML1.2`` (also 1.1)
    METINF = 1  #: ``syncml:metinf``
    DDF = 2  #: ``syncml:dmddf1.2`` (DDF and TNDS documents)


#: The namespace URI written for each page (XML encoder default).
PAGE_NAMESPACES: dict[CodePage, str] = {
    CodePage.SYNCML: "SYNCML:SYNCML1.2",
    CodePage.METINF: "syncml:metinf",
    CodePage.DDF: "syncml:dmddf1.2",
}

#: Namespace URIs accepted when reading, compared case-insensitively (lowercased here).
NAMESPACE_PAGES: dict[str, CodePage] = {
    "syncml:syncml1.2": CodePage.SYNCML,
    "syncml:syncml1.1": CodePage.SYNCML,
    "syncml:syncml1.0": CodePage.SYNCML,
    "syncml:metinf": CodePage.METINF,
    "syncml:dmddf1.2": CodePage.DDF,
}


class Element:
    """One element: local name, code page, children, and text.

    ``parts`` holds the element's character content in document order: ``str`` runs
    (XML text, CDATA, WBXML STR_I/STR_T) and ``bytes`` runs (WBXML OPAQUE). An
    element has either children or parts in SyncML, except ``Data`` carrying
    markup, for which the XML decoder sets ``raw_xml`` to the exact inner XML text
    (and may also keep the parsed children).

    ``namespace`` is the exact namespace URI when one was read (XML) or must be
    written (e.g. ``SYNCML:SYNCML1.1`` on a 1.1 root); ``None`` means the page's
    default from :data:`PAGE_NAMESPACES`. ``position`` is where the element started
    in the input (byte offset), for error messages; ``-1`` for built elements.
    ``tag`` repeats ``name`` for :mod:`.reading`, which reads ``xml.etree`` elements too.
    """

    __slots__ = ("children", "name", "namespace", "page", "parts", "position", "raw_xml", "tag")

    def __init__(
        self,
        name: str,
        page: CodePage = CodePage.SYNCML,
        *,
        children: list[Element] | None = None,
        parts: list[str | bytes] | None = None,
        namespace: str | None = None,
        raw_xml: str | None = None,
        position: int = -1,
    ) -> None:
        self.name = self.tag = name
        self.page = page
        self.children: list[Element] = [] if children is None else children
        self.parts: list[str | bytes] = [] if parts is None else parts
        self.namespace = namespace
        self.raw_xml = raw_xml
        self.position = position

    # -- the reading surface shared with xml.etree elements (codec.reading.Node) --

    @property
    def text(self) -> str | list[str | bytes] | None:
        """The character content for :mod:`.reading`: ``None`` when there is none, a
        ``str`` when every run is text, else the runs themselves."""
        parts = self.parts
        if not parts:
            return None
        if len(parts) == 1 and isinstance(parts[0], str):
            return parts[0]
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)  # type: ignore[arg-type]  # all str
        return parts

    def __iter__(self) -> Iterator[Element]:
        return iter(self.children)

    def __len__(self) -> int:
        return len(self.children)

    def __bool__(self) -> bool:
        """Always true, whatever the number of children (``__len__`` would decide)."""
        return True

    def text_content(self) -> str:
        """The character content as text (bytes runs decoded as UTF-8, errors replaced)."""
        return "".join(
            p if isinstance(p, str) else p.decode("utf-8", "replace") for p in self.parts
        )

    def __repr__(self) -> str:
        return (
            f"Element({self.name!r}, {self.page.name}, children={len(self.children)},"
            f" parts={len(self.parts)})"
        )

    def __eq__(self, other: object) -> bool:
        """Structural equality (name, page, parts joined, children, raw_xml); for tests."""
        if not isinstance(other, Element):
            return NotImplemented
        return (
            self.name == other.name
            and self.page == other.page
            and _joined(self.parts) == _joined(other.parts)
            and self.raw_xml == other.raw_xml
            and self.children == other.children
        )

    __hash__ = None  # type: ignore[assignment]  # mutable builder object


def _joined(parts: list[str | bytes]) -> bytes:
    return b"".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts)


def make_element(name: str, page: CodePage, namespace: str | None, position: int) -> Element:
    """A new childless, textless :class:`Element`, built for the decoders' hot path.

    Same result as ``Element(name, page, namespace=namespace, position=position)``, but
    the slots are filled directly: the keyword handling of ``__init__`` was a large
    share of the per-element parse cost in both codecs.
    """
    element = _new(Element)
    element.name = element.tag = name
    element.page = page
    element.children = []
    element.parts = []
    element.namespace = namespace
    element.raw_xml = None
    element.position = position
    return element


_new = Element.__new__
