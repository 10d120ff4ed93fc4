"""Calling application handlers that may be plain functions or coroutine functions."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["Handler", "call_handler"]

S = TypeVar("S")
E = TypeVar("E")

#: ``handler(session, event)``: a function or a coroutine function.
Handler = Callable[[S, E], "Awaitable[None] | None"]


async def call_handler(handler: Handler[S, E], session: S, event: E) -> None:
    """Call ``handler(session, event)`` and await the result when it is awaitable."""
    result = handler(session, event)
    if inspect.isawaitable(result):
        await result
