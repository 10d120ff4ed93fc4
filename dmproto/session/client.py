"""The DM client session (device side). Skeleton: being implemented."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..codec.model import Alert
from ..outcome import CommandOutcome
from ._types import OutgoingMessage, SessionState
from .config import ClientConfig
from .events import Event

__all__ = ["ClientSession"]


class ClientSession:
    """Client role state machine (see docs/session-api.md)."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    @classmethod
    def from_notification(
        cls, notification: Any, nonce_used: Any, *, config: ClientConfig
    ) -> ClientSession:
        raise NotImplementedError

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, config: ClientConfig) -> ClientSession:
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

    def respond(self, handle: int, outcome: CommandOutcome) -> None:
        raise NotImplementedError

    def queue_alert(self, alert: Alert) -> int:
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
