"""The two examples in docs/session-api.md run as written (against each other)."""

from __future__ import annotations

import re
from typing import Any

from datapaths import DOCS

from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme, Credentials
from dmproto.session import Account, ClientConfig, ClientSession, ServerConfig, ServerSession
from dmproto.session import events as ev
from dmproto.testing import dev_info_items, seeded_random

DOC = DOCS / "session-api.md"
CREDS = Credentials(username="dev", password="secret")


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def example(marker: str) -> str:
    (code,) = [b for b in blocks() if marker in b]
    return code


def test_client_example_runs_against_a_server_session() -> None:
    server = ServerSession(ServerConfig(random_bytes=seeded_random(3), server_uri="s"))
    stored: dict[Any, bytes] = {}

    def http_post(url: str, body: bytes, media_type: str, headers: Any) -> Any:
        server.receive_message(body, media_type=media_type, headers=headers, now=0.0)
        while (event := server.next_event()) is not None:
            if isinstance(event, ev.AccountRequested):
                server.supply_account(Account(credentials=CREDS, client_nonce=b"n"))
            elif isinstance(event, ev.PackageCompleted):
                server.end_session()
        (reply,) = server.messages_to_send(0.0)
        return 200, reply.media_type, reply.headers, reply.body

    class Tree:
        def execute(self, command: Any, **kwargs: Any) -> CommandOutcome:
            return CommandOutcome(code=200)

    namespace = {
        "http_post": http_post,
        "stored_client_nonce": b"n",
        "store_nonce": lambda role, nonce: stored.__setitem__(role, nonce),
        "tree": Tree(),
    }
    exec(example("config = ClientConfig("), namespace)  # noqa: S102 - our own docs
    session = namespace["session"]
    assert isinstance(session, ClientSession) and session.state.value == "finished"
    assert stored[ev.NonceRole.CLIENT]


def test_server_example_runs_against_a_client_session() -> None:
    namespace: dict[str, Any] = {
        "load_nonce": lambda device_id: b"n",
        "store_nonce": lambda role, nonce: None,
    }
    exec(example("session = ServerSession("), namespace)  # noqa: S102 - our own docs
    on_post = namespace["on_post"]
    client = ClientSession(
        ClientConfig(
            random_bytes=seeded_random(4),
            server_uri="https://dm.example.com/dm",
            device_id="dev",
            dev_info=dev_info_items(),
            credentials=CREDS,
            auth_scheme=AuthScheme.MD5,
            client_nonce=b"n",
        )
    )
    for _ in range(10):
        out = client.messages_to_send(0.0)
        if not out:
            break
        reply = on_post(out[0].body, out[0].media_type, out[0].headers, 0.0)
        client.receive_message(
            reply.body, media_type=reply.media_type, headers=reply.headers, now=0.0
        )
        while (event := client.next_event()) is not None:
            if isinstance(event, ev.CommandReceived):
                client.respond(event.handle, CommandOutcome(code=200))
    assert client.state.value == "finished"
    assert namespace["session"].state.value == "finished"
