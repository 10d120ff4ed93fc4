"""The DM server session. Skeleton: being implemented."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..codec.model import Command
from ._types import OutgoingMessage, SessionState
from .config import Account, ServerConfig
from .events import Event

__all__ = ["ServerSession"]


class ServerSession:
    """Server role state machine (see docs/session-api.md)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, config: ServerConfig) -> ServerSession:
        raise NotImplementedError

    @property
    def state(self) -> SessionState:
        raise NotImplementedError

    def receive_message(
        self, body: bytes, *, media_type: str, headers: Sequence[tuple[str, str]] = (),
        now: float,
    ) -> None:
        raise NotImplementedError

    def next_event(self) -> Event | None:
        raise NotImplementedError

    def supply_account(self, account: Account) -> None:
        raise NotImplementedError

    def reject_device(self) -> None:
        raise NotImplementedError

    def queue(self, command: Command) -> int:
        raise NotImplementedError

    def send_package(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def messages_to_send(self, now: float) -> list[OutgoingMessage]:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def get_timer(self) -> float | None:
        raise NotImplementedError

    def handle_timer(self, now: float) -> None:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError
