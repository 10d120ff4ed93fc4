"""How a received command was answered: the contract between sessions and executors.

A client session hands each server command to the application as an event; the
application (or :mod:`dmproto.tree`, which executes commands against a management
tree) answers it with a :class:`CommandOutcome`. The session turns the outcome into
the Status (and Results) the protocol requires (SPEC.md §1.5, §3.6). The server
session reports what the device answered to each queued command with the same type.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from .codec.model import Item

__all__ = ["CommandOutcome", "OutcomeNote"]


class OutcomeNote(enum.Enum):
    """What the session noticed about the peer's answer beyond its code (server
    side: ``CommandCompleted.outcome.note``)."""

    #: A non-final chunk of a large object we sent was answered with something
    #: other than 213 (Chunked item accepted): no further chunk was sent and the
    #: object was not delivered. ``code`` is a failure (the peer's code when it is
    #: one, else 500); ``peer_code`` is what the peer answered
    #: (OMA-TS-DM_Protocol-V1_2_1 "Large Object Handling").
    LARGE_OBJECT_NOT_DELIVERED = "large-object-not-delivered"
    #: The peer answered every command inside an Atomic but sent no Status for the
    #: Atomic itself (a common omission, tolerated: ``ServerConfig.
    #: tolerate_missing_atomic_status``); ``code`` is the worst inner code.
    STATUS_MISSING = "status-missing"


def _items(values: Iterable[Item]) -> tuple[Item, ...]:
    return tuple(values)


def _outcomes(values: Iterable[CommandOutcome]) -> tuple[CommandOutcome, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class CommandOutcome:
    """The answer to one command.

    Attributes:
        code: the status code for the command (``int``; see :class:`dmproto.StatusCode`).
        results: Items of the Results that follow the Status (Get); each Item
            carries Source/LocURI and, when not the defaults, Meta Format/Type.
        status_items: Items carried inside the Status itself (UI alert input,
            the failed ancestor of an implicit Add).
        children: for Atomic and Sequence, one outcome per child command, in the
            children's order (nested groups nest again).
    """

    code: int
    results: tuple[Item, ...] = attrs.field(default=(), converter=_items)
    status_items: tuple[Item, ...] = attrs.field(default=(), converter=_items)
    children: tuple[CommandOutcome, ...] = attrs.field(default=(), converter=_outcomes)
    note: OutcomeNote | None = None
    peer_code: int | None = None
