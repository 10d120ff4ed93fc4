"""Shared by the dmproto adapters: HTTP/1.1 framing of whole DM messages with h11.

Pure (no I/O): each adapter feeds bytes in and writes the bytes it is given; the
DM side (routing, sessions, push) is in :mod:`dmproto.bindings`.
"""

from __future__ import annotations

from .framing import ClientFraming, NeedData, ReadBudget, Reject, ServerFraming
from .handlers import Handler, call_handler, call_logged

__all__ = [
    "ClientFraming",
    "Handler",
    "NeedData",
    "ReadBudget",
    "Reject",
    "ServerFraming",
    "call_handler",
    "call_logged",
]
