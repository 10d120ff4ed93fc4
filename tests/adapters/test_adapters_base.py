"""The loops shared by every adapter (dmproto_adapter_base), driven without sockets."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable

import pytest

from dmproto.bindings.claims import StoreUnavailable
from dmproto.bindings.http import HttpRequest, HttpResponse, parse_url
from dmproto.bindings.server import ServerEndpoint
from dmproto.codec.model import Get, Item, Location
from dmproto.errors import RemoteProtocolError
from dmproto.security import AuthScheme
from dmproto.session import Account, ServerConfig, ServerSession
from dmproto.session import events as ev
from dmproto.testing import CLIENT_CREDS

pytest.importorskip("dmproto_adapter_base")

from dmproto_adapter_base import (
    ClientFraming,
    KeepAlive,
    NeedData,
    ReadBudget,
    ServerFraming,
    StaleConnection,
    answer_request,
    awaitable,
    expire_due,
    run_blocking,
    serve_connection,
)

URL = parse_url("http://dm.example/dm")
REQUEST = HttpRequest(
    method="POST",
    target="/dm",
    headers=[("Host", "dm.example"), ("Content-Length", "2")],
    body=b"hi",
)
OK = HttpResponse(status=200, headers=[("Content-Length", "2")], body=b"ok")


def test_run_blocking_returns_raises_and_refuses_to_suspend() -> None:
    assert run_blocking(awaitable(lambda x: x + 1)(41)) == 42
    with pytest.raises(KeyError):
        run_blocking(awaitable({}.__getitem__)("missing"))
    with pytest.raises(RuntimeError, match="suspend"):
        run_blocking(asyncio.sleep(0))  # a real event-loop wait is never run blocking


def _served(framing_max: int = 100) -> tuple[ServerFraming, ClientFraming]:
    return ServerFraming(max_body=framing_max), ClientFraming(max_body=framing_max)


def test_client_framing_tells_a_stale_keepalive_connection_from_a_fresh_one() -> None:
    server, client = _served()
    server.feed(client.request(REQUEST))
    assert isinstance(server.next_request(), HttpRequest)
    client.feed(server.respond(OK))
    assert client.next_response() == OK and client.reusable
    # A fresh connection closed before any byte is a protocol error, not a retry ...
    fresh = ClientFraming(max_body=100)
    fresh.request(REQUEST)
    assert not fresh.may_retry
    fresh.feed(b"")
    with pytest.raises(RemoteProtocolError):
        fresh.next_response()
    # ... while the reused one may be retried: the request was never processed.
    client.request(REQUEST)
    assert client.may_retry
    with pytest.raises(StaleConnection):
        client.feed(b"")
    # Once a byte of the response arrived, a close is a real failure again.
    client.feed(b"HTTP/1.1 200")
    assert not client.may_retry and client.next_response() is NeedData.MORE


class _Conns:
    """Fake connections for KeepAlive: scripted outcomes of each exchange."""

    def __init__(self, outcomes: list[object]) -> None:
        self.outcomes = outcomes
        self.opened = 0
        self.closed: list[int] = []
        self.used: list[int] = []

    async def connect(self, url: object) -> int:
        self.opened += 1
        return self.opened

    async def exchange(self, conn: int, framing: ClientFraming, request: HttpRequest) -> object:
        self.used.append(conn)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        # Complete a real h11 cycle so that `reusable` reflects keep-alive.
        server = ServerFraming(max_body=100)
        server.feed(framing.request(request))
        server.next_request()
        framing.feed(server.respond(OK))
        return framing.next_response()

    async def close(self, conn: int) -> None:
        self.closed.append(conn)


def _pool(conns: _Conns) -> KeepAlive[int]:
    return KeepAlive(
        max_body=100, connect=conns.connect, exchange=conns.exchange, close=conns.close
    )


def test_keepalive_reuses_retries_stale_once_and_closes_on_failure() -> None:
    conns = _Conns([None, None, StaleConnection(), None, OSError("reset"), None])
    pool = _pool(conns)
    assert run_blocking(pool.post(URL, REQUEST)) == OK
    assert run_blocking(pool.post(URL, REQUEST)) == OK
    assert conns.used == [1, 1] and conns.opened == 1  # kept alive
    assert run_blocking(pool.post(URL, REQUEST)) == OK  # stale: resent on a new one
    assert conns.used[2:] == [1, 2] and conns.closed == [1]
    with pytest.raises(OSError):
        run_blocking(pool.post(URL, REQUEST))
    assert conns.closed == [1, 2]  # a failed connection is never reused
    assert run_blocking(pool.post(URL, REQUEST)) == OK and conns.used[-1] == 3
    run_blocking(pool.aclose())
    assert conns.closed == [1, 2, 3]


def test_serve_connection_keeps_alive_then_ends_at_eof() -> None:
    client = ClientFraming(max_body=100)
    wire = [client.request(REQUEST), b"", b""]
    written: list[bytes] = []
    answered: list[HttpRequest] = []

    def answer(request: HttpRequest) -> HttpResponse:
        answered.append(request)
        return OK

    run_blocking(
        serve_connection(
            ServerFraming(max_body=100),
            ReadBudget(timeout=5, request_timeout=20),
            receive=awaitable(lambda wait: wire.pop(0)),
            send=awaitable(written.append),
            answer=awaitable(answer),
            clock=lambda: 0.0,
        )
    )
    assert [r.body for r in answered] == [b"hi"] and written[0].startswith(b"HTTP/1.1 200")
    assert wire == [b""]  # stopped at the first end of stream


def test_serve_connection_answers_500_when_the_answer_has_a_bug() -> None:
    client = ClientFraming(max_body=100)
    wire = [client.request(REQUEST), b""]
    written: list[bytes] = []

    def broken(request: HttpRequest) -> HttpResponse:
        raise ValueError("bug")

    run_blocking(
        serve_connection(
            ServerFraming(max_body=100),
            ReadBudget(timeout=5, request_timeout=20),
            receive=awaitable(lambda wait: wire.pop(0)),
            send=awaitable(written.append),
            answer=awaitable(broken),
            clock=lambda: 0.0,
        )
    )
    assert written[0].startswith(b"HTTP/1.1 500")


# -- answer_request / expire_due with a real endpoint ----------------------------------

CREDS = CLIENT_CREDS  # what tree_device presents
_LOG = logging.getLogger("test_adapters_base")


def _package1(endpoint: ServerEndpoint) -> HttpRequest:
    from dmproto.bindings.client import ClientDriver
    from dmproto.bindings.steps import Send
    from dmproto.testing import tree_device

    session = tree_device("http://127.0.0.1:9/dm", dev_id="IMEI:b", mod="Base").session
    step = ClientDriver(session).poll(0.0)
    assert isinstance(step, Send)
    return step.request


def _endpoint() -> ServerEndpoint:
    return ServerEndpoint(
        ServerConfig(random_bytes=os.urandom, server_uri="s", inactivity_timeout=5.0)
    )


def test_answer_request_abandons_the_session_when_the_handler_fails_or_is_interrupted() -> None:
    for failure, expected in (
        (ValueError("bug"), 500),
        (StoreUnavailable("database restarting"), 503),  # the device may send it again
        (KeyboardInterrupt(), None),
    ):
        endpoint = _endpoint()

        def handler(
            session: ServerSession,
            event: ev.Event,
            failure: BaseException = failure,
        ) -> None:
            if isinstance(event, ev.AccountRequested):
                session.supply_account(Account(credentials=CREDS, auth_scheme=AuthScheme.MD5))
            elif isinstance(event, ev.PackageCompleted):
                raise failure

        coro = answer_request(endpoint, _package1(endpoint), awaitable(handler), lambda: 0.0)
        if expected is None:
            with pytest.raises(KeyboardInterrupt):
                run_blocking(coro)
        else:
            response = run_blocking(coro)
            assert response.status == expected
            assert (("Retry-After", "1") in response.headers) == (expected == 503)
        assert len(endpoint) == 0  # aborted and forgotten, never left half-applied


def _idling(
    seen: list[ev.Event], failure: Exception | None = None
) -> Callable[[ServerSession, ev.Event], None]:
    """A server application that asks the device one Get it never answers (the session
    idles until its timer), recording every event; ``failure`` raised on SessionEnded."""

    def handler(session: ServerSession, event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.AccountRequested):
            session.supply_account(Account(credentials=CREDS, auth_scheme=AuthScheme.MD5))
        elif isinstance(event, ev.PackageCompleted):
            session.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo")),)))
            session.close_package()
        elif isinstance(event, ev.SessionEnded) and failure is not None:
            raise failure

    return handler


def test_expire_due_delivers_timeouts_and_survives_handler_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = _endpoint()
    seen: list[ev.Event] = []
    handler = _idling(seen, ValueError("application bug in housekeeping"))

    response = run_blocking(
        answer_request(endpoint, _package1(endpoint), awaitable(handler), lambda: 0.0)
    )
    assert response.status == 200 and len(endpoint) == 1
    run_blocking(expire_due(endpoint, awaitable(handler), lambda: 1.0, logger=_LOG))
    assert len(endpoint) == 1  # not due yet
    run_blocking(expire_due(endpoint, awaitable(handler), lambda: 1e6, logger=_LOG))
    assert len(endpoint) == 0
    assert any(isinstance(e, ev.SessionEnded) for e in seen)
    assert "handler failed on SessionEnded" in caplog.text


def test_sync_server_sweeps_timers_when_due_not_on_every_accept() -> None:
    dmproto_sync = pytest.importorskip("dmproto_sync")
    from dmproto.bindings.client import ClientDriver
    from dmproto.bindings.steps import Send
    from dmproto.testing import tree_device

    now = [0.0]
    seen: list[ev.Event] = []
    handler = _idling(seen)

    config = ServerConfig(random_bytes=os.urandom, server_uri="s", inactivity_timeout=5.0)
    with dmproto_sync.DMServer(handler, config=config, clock=lambda: now[0]) as server:
        sweeps = [0]
        expire = server.endpoint.expire

        def counted(at: float) -> list[ServerSession]:
            sweeps[0] += 1
            return expire(at)

        server.endpoint.expire = counted  # type: ignore[method-assign]
        step = ClientDriver(tree_device(server.url, dev_id="IMEI:t", mod="T").session).poll(0.0)
        assert isinstance(step, Send)
        with dmproto_sync.HttpClient(timeout=5, max_body=1 << 20) as http:
            for _ in range(5):  # five connections, the clock standing still
                assert http.exchange(step.url, step.request).status in (200, 401)
                http.close()
        assert len(server.endpoint) >= 1 and sweeps[0] <= 1  # no sweep per connection
        now[0] = 1e6  # every session timer is due: the accept loop's next tick sweeps
        for _ in range(300):
            if len(server.endpoint) == 0:
                break
            threading.Event().wait(0.01)
        assert len(server.endpoint) == 0 and sweeps[0] >= 1
        ended = [e for e in seen if isinstance(e, ev.SessionEnded)]
        assert ended and all(e.reason is ev.EndReason.TIMED_OUT for e in ended)
