"""The hot path for XML messages: expat feeds the C tree builder of ``xml.etree`` directly.

No Python code runs per element or per text run while parsing: expat's element and text
callbacks are the tree builder's own (C) methods, and :mod:`.reading` then builds the model
in one pass over the tree. The hardening is the same as :func:`.xml.parse_xml`'s: the same
defusedxml parser, with entity declarations and external references refused (its handlers
stay installed).

What this path cannot reproduce exactly it does not attempt; :func:`parse_tree` returns
``None`` and the caller reads the message with :func:`.xml.parse_xml`, which keeps byte
positions and is the reference for every error:

* input longer than ``max_data_size`` (a text run could exceed it: characters never
  outnumber bytes), or with more ``<`` than ``max_elements`` (every element starts with one,
  so the tree stays within the element limit), or UTF-16 input;
* anything expat or defusedxml refuses (including the bare ``&`` that ``parse_xml``
  recovers from, and the entity declarations it reports as ``xml.entity``);
* nesting deeper than ``max_depth`` (one breadth-first pass over the built tree).

The reader itself refuses (``Irregular``) markup inside ``<Data>`` (sliced from the input
bytes by ``parse_xml``) and text split around child elements, and every
:class:`~dmproto.errors.MalformedMessageError` is re-derived on the positioned path, so the
error a caller sees never depends on which path ran.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element as TreeElement
from xml.etree.ElementTree import ParseError, TreeBuilder

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]

from ..limits import Limits
from .utf16 import is_utf16_xml

__all__ = ["parse_tree"]


def parse_tree(data: bytes, limits: Limits) -> TreeElement | None:
    """The ``xml.etree`` tree of ``data`` (tags are expat's ``namespace}local``), or
    ``None`` when :func:`.xml.parse_xml` must read it (module docstring)."""
    if (
        len(data) > limits.max_data_size
        or data.count(b"<") > limits.max_elements
        or is_utf16_xml(data)
    ):
        return None
    builder = TreeBuilder()
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    expat: Any = parser.parser
    # Straight to the C builder: XMLParser's own per-element handlers are Python code.
    # Attributes are never read (SyncML has none), so they are not ordered.
    expat.ordered_attributes = 0
    expat.StartElementHandler = builder.start
    expat.EndElementHandler = builder.end
    expat.CharacterDataHandler = builder.data
    expat.StartNamespaceDeclHandler = None
    expat.EndNamespaceDeclHandler = None
    try:
        parser.feed(data)
        root: TreeElement = parser.close()
    except (ParseError, DefusedXmlException, LookupError, ValueError):
        return None
    # max_depth, as parse_xml counts it (the root is at depth 1), level by level.
    level = [root]
    depth = 1
    while True:
        level = [child for element in level for child in element]
        if not level:
            return root
        depth += 1
        if depth > limits.max_depth:
            return None
