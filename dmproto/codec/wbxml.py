"""WBXML <-> element tree (stub: being implemented)."""

from __future__ import annotations

import attrs

from ..limits import DEFAULT_LIMITS, Limits
from .element import Element


@attrs.frozen(kw_only=True)
class WbxmlOptions:
    """How to write WBXML: version byte, public id (numeric) or FPI (string table)."""

    version: int = 0x02
    public_id: int = 0x1201
    fpi: str | None = None
    string_table: bool = False


@attrs.frozen(kw_only=True)
class WbxmlDocument:
    version: int
    public_id: int
    fpi: str | None
    charset: int
    root: Element


def parse_wbxml(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> WbxmlDocument:
    raise NotImplementedError


def serialize_wbxml(root: Element, *, options: WbxmlOptions | None = None) -> bytes:
    raise NotImplementedError
