"""``build(cls, **fields)``: construct attrs model values whose tuple fields use
``converter=tuple`` (mypy cannot solve that converter's type variable at call sites)."""

from __future__ import annotations

from typing import Any, TypeVar

import attrs

T = TypeVar("T")


def build(cls: type[T], **fields: Any) -> T:
    """``cls(**fields)``, typed as returning ``cls``."""
    return cls(**fields)


def evolve(instance: T, **changes: Any) -> T:
    """``attrs.evolve`` without the plugin's converter typing trouble."""
    result: T = attrs.evolve(instance, **changes)  # type: ignore[misc]
    return result
