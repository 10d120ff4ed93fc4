"""Calling application handlers that may be plain functions or coroutine functions."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["Handler", "call_handler", "call_logged"]

S = TypeVar("S")
E = TypeVar("E")

#: ``handler(session, event)``: a function or a coroutine function.
Handler = Callable[[S, E], "Awaitable[None] | None"]


async def call_handler(handler: Handler[S, E], session: S, event: E) -> None:
    """Call ``handler(session, event)`` and await the result when it is awaitable."""
    result = handler(session, event)
    if inspect.isawaitable(result):
        await result


async def call_logged(callback: Callable[..., Any], *args: Any, logger: logging.Logger) -> None:
    """Call ``callback(*args)`` (awaiting it when needed); an ``Exception`` it raises
    is logged instead of propagating, so a listener survives the application's bugs."""
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("%s failed", getattr(callback, "__name__", "callback"))
