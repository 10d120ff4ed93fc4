"""Typing shim for attrs fields declared with ``converter=tuple``.

mypy (2.x with attrs 26) cannot solve the generic ``tuple`` converter of the shared
model classes (``Item``/``Alert``/``CommandOutcome`` sequences) and rejects every
argument. :func:`seq` passes a tuple through typed as ``Any`` until the model uses
typed converters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["seq"]


def seq(values: Iterable[object]) -> Any:
    """``tuple(values)``, typed loosely for attrs ``converter=tuple`` fields."""
    return tuple(values)
