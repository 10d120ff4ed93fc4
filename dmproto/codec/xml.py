"""XML <-> element tree (stub: being implemented)."""

from __future__ import annotations

from ..limits import DEFAULT_LIMITS, Limits
from .element import Element


def parse_xml(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Element:
    raise NotImplementedError


def serialize_xml(root: Element, *, xml_declaration: bool = False) -> bytes:
    raise NotImplementedError
