"""Fuzz targets for the session machines: arbitrary bytes as the next message.

Each target restores a client or server session driven into one reachable state
(from a snapshot, so every input starts from the same place), feeds the input as
the peer's next message, then plays the application (answers every command, asks
for the next package) and pulls the output. The only exceptions allowed out of the
session are documented :class:`dmproto.errors.DMError` subclasses raised by
``receive_message``; anything else is a bug.

Run with atheris: ``python fuzz/session_targets.py <target> [corpus...]``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from dmproto.codec.model import Get, Item, Location, Replace
from dmproto.errors import RemoteProtocolError
from dmproto.outcome import CommandOutcome
from dmproto.session import (
    ClientConfig,
    ClientSession,
    ServerConfig,
    ServerSession,
    SessionState,
)
from dmproto.session import events as ev
from dmproto.testing import account, client_config, server_config

__all__ = ["SEEDS", "STATES", "TARGETS", "feed"]

# Small messages, so the states on the way include multi-message packages.
_SMALL = 2048


def _client_config() -> ClientConfig:
    return client_config(max_msg_size=_SMALL)


def _server_config() -> ServerConfig:
    return server_config(max_msg_size=_SMALL)


_ACCOUNT = account()


def _play_client(client: ClientSession) -> None:
    while (event := client.next_event()) is not None:
        if isinstance(event, ev.CommandReceived):
            client.respond(event.handle, _answer(event.command))


def _answer(command: Any) -> CommandOutcome:
    children = tuple(_answer(c) for c in getattr(command, "commands", ()))
    return CommandOutcome(code=200, children=children)


def _play_server(server: ServerSession) -> None:
    while (event := server.next_event()) is not None:
        if isinstance(event, ev.AccountRequested):
            server.supply_account(_ACCOUNT)
        elif isinstance(event, ev.PackageCompleted):
            if event.package < 3:
                server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),)))
                server.queue(
                    Replace(
                        cmd_id=None, items=(Item(target=Location(loc_uri="./b"), data="y" * 3000),)
                    )
                )
                server.close_package()
            else:
                server.end_session()


def _states() -> dict[str, tuple[str, dict[str, Any], list[bytes]]]:
    """Snapshots of sessions in reachable states, plus the messages seen on the way
    (seeds for mutation fuzzing)."""
    client = ClientSession(_client_config())
    server = ServerSession(_server_config())
    states: dict[str, tuple[str, dict[str, Any], list[bytes]]] = {}
    seen: list[bytes] = []
    states["server_initial"] = ("server", server.snapshot(), seen)
    for step in range(4):
        (c_msg,) = client.messages_to_send(float(step))
        seen.append(c_msg.body)
        server.receive_message(
            c_msg.body, media_type=c_msg.media_type, headers=c_msg.headers, now=float(step)
        )
        _play_server(server)
        (s_msg,) = server.messages_to_send(float(step))
        seen.append(s_msg.body)
        states[f"client_step{step}"] = ("client", client.snapshot(), seen)
        client.receive_message(
            s_msg.body, media_type=s_msg.media_type, headers=s_msg.headers, now=float(step)
        )
        _play_client(client)
        states[f"server_step{step}"] = ("server", server.snapshot(), seen)
        if client.state is SessionState.FINISHED:
            break
    return states


#: Each reachable state: (role, snapshot, the messages seen on the way there).
STATES = _states()
SEEDS: list[bytes] = list(next(iter(STATES.values()))[2])


def feed(role: str, snapshot: dict[str, Any], data: bytes) -> None:
    """Restore the session of *role* from *snapshot*, feed *data* as the peer's next
    message, play the application and pull the output."""
    session: ClientSession | ServerSession
    if role == "client":
        session = ClientSession.restore(snapshot, config=_client_config())
    else:
        session = ServerSession.restore(snapshot, config=_server_config())
    media = "application/vnd.syncml.dm+xml"
    try:
        session.receive_message(data, media_type=media, now=100.0)
    except RemoteProtocolError:
        # Documented; the session can still produce an abort message.
        session.abort()
        session.messages_to_send(101.0)
        return
    if isinstance(session, ClientSession):
        _play_client(session)
    else:
        _play_server(session)
    session.messages_to_send(101.0)
    session.snapshot()


def _target(role: str, snapshot: dict[str, Any]) -> Callable[[bytes], None]:
    return lambda data: feed(role, snapshot, data)


TARGETS: dict[str, Callable[[bytes], None]] = {
    name: _target(role, snapshot) for name, (role, snapshot, _) in STATES.items()
}


def main() -> None:  # pragma: no cover - needs atheris
    import atheris  # type: ignore[import-untyped]

    name = sys.argv.pop(1)
    target = TARGETS[name]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    main()
