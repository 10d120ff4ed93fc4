"""``dmproto.testing`` does what docs/testing.md says: its examples run, its
randomness and clock are deterministic, and its two applications complete a session
through the pure HTTP binding."""

from __future__ import annotations

import re

import pytest
from datapaths import DOCS

from dmproto import events as ev
from dmproto.bindings.client import ClientDriver
from dmproto.bindings.server import ServerEndpoint
from dmproto.bindings.steps import Deliver, Done, Send
from dmproto.session import OutgoingMessage, SessionState
from dmproto.testing import (
    Clock,
    MinimalServerApp,
    Pair,
    account,
    seeded_random,
    server_config,
    tree_device,
)

DOC = DOCS / "testing.md"


@pytest.mark.parametrize(
    "code", re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
)
def test_docs_examples_run(code: str) -> None:
    exec(compile(code, str(DOC), "exec"), {})  # noqa: S102 - our own documentation


def test_seeded_random_repeats_per_seed_and_differs_between_seeds() -> None:
    first, again, other = seeded_random(3), seeded_random(3), seeded_random(4)
    a = [first(n) for n in (16, 16, 40)]
    assert a == [again(n) for n in (16, 16, 40)]
    assert [len(x) for x in a] == [16, 16, 40]
    assert a[0] != a[1]  # the counter moves on: no two calls alike
    assert other(16) != seeded_random(3)(16)


def test_clock_moves_only_when_advanced() -> None:
    clock = Clock()
    assert clock() == 0.0 and clock() == 0.0
    assert clock.advance(2.5) == 2.5 and clock() == 2.5


def test_pair_transcripts_are_reproducible() -> None:
    def transcript() -> list[tuple[str, bytes]]:
        pair = Pair.make(client={"client_nonce": b"stale"}, account=account())
        return pair.run().transcript

    first = transcript()
    assert first == transcript()
    assert [d for d, _ in first][:2] == ["c2s", "s2c"] and len(first) >= 4  # one challenge


def test_minimal_app_and_tree_device_complete_a_session_over_the_binding() -> None:
    app = MinimalServerApp(uris=("./DevInfo/Man", "./DevInfo/Mod"))
    endpoint = ServerEndpoint(server_config(server_uri="srv", inactivity_timeout=5.0))
    device = tree_device("http://127.0.0.1/dm", man="Maker", mod="M2")
    driver = ClientDriver(device.session)
    clock = Clock()
    for _ in range(20):
        step = driver.poll(clock())
        if isinstance(step, Deliver):
            device(device.session, step.event)
        elif isinstance(step, Send):
            driver.handle_response(endpoint.handle(step.request, app, clock), clock.advance())
        else:
            assert isinstance(step, Done)
            break
    assert driver.ended is not None and driver.ended.reason is ev.EndReason.COMPLETED
    assert app.results == ["Maker", "M2"] and len(endpoint) == 0


def test_every_public_name_exists_and_is_documented() -> None:
    import dmproto.testing

    doc = DOC.read_text(encoding="utf-8")
    for name in dmproto.testing.__all__:
        assert hasattr(dmproto.testing, name), name
        assert f"`{name}" in doc, f"{name} is not in docs/testing.md"


def test_pair_tamper_can_drop_the_servers_answer() -> None:
    # A tamper that drops a server message: the client never sees it and stays
    # waiting, so the pair stops moving instead of inventing an answer.
    dropped: list[bytes] = []

    def drop_answers(direction: str, msg: OutgoingMessage) -> OutgoingMessage | None:
        if direction == "s2c":
            dropped.append(msg.body)
            return None
        return msg

    pair = Pair.make(tamper=drop_answers).run(max_rounds=3)
    assert dropped and [d for d, _ in pair.transcript][:2] == ["c2s", "s2c"]
    assert pair.client.state is not SessionState.FINISHED
    assert not pair.received() and pair.ended("client") is None


def test_pair_run_stops_after_max_rounds() -> None:
    # A session with a stale nonce needs several rounds; one round leaves it open.
    pair = Pair.make(client={"client_nonce": b"stale"}, account=account()).run(max_rounds=1)
    assert [d for d, _ in pair.transcript] == ["c2s", "s2c"]
    assert pair.client.state is not SessionState.FINISHED


def test_pair_tamper_can_drop_the_devices_message() -> None:
    # A dropped client message never reaches the server, which answers nothing; the
    # client waits for that answer, so the pair stops.
    pair = Pair.make(tamper=lambda direction, msg: None if direction == "c2s" else msg)
    pair.run(max_rounds=3)
    assert [d for d, _ in pair.transcript] == ["c2s"]
    assert not pair.server_events
    assert pair.client.state is not SessionState.FINISHED
