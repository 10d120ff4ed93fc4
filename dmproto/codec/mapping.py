"""Element tree <-> Message model (stub: being implemented)."""

from __future__ import annotations

from ..limits import DEFAULT_LIMITS, Limits
from .element import Element
from .model import Message


def message_from_element(root: Element, *, limits: Limits = DEFAULT_LIMITS) -> Message:
    raise NotImplementedError


def message_to_element(message: Message) -> Element:
    raise NotImplementedError
