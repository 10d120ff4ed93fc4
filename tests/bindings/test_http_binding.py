"""The pure HTTP binding: URLs, media types, header fields, status and size rules."""

from __future__ import annotations

import functools
import json
import pickle
from typing import Any

import pytest
from bindingkit import first_send, make_device, make_endpoint
from hypothesis import given
from hypothesis import strategies as st

from dmproto.bindings import http
from dmproto.bindings.client import ClientDriver
from dmproto.bindings.steps import Deliver, Done, Send
from dmproto.codec import Encoding
from dmproto.errors import DMError, InvalidValueError, MalformedMessageError
from dmproto.session import events as ev
from dmproto.testing import MinimalServerApp


def test_parse_url_defaults_and_ports() -> None:
    u = http.parse_url("http://Example.org/mgmt")
    assert (u.scheme, u.host, u.port, u.target) == ("http", "example.org", 80, "/mgmt")
    assert u.host_header == "example.org" and not u.tls
    s = http.parse_url("https://127.0.0.1:8443")
    assert (s.port, s.target, s.tls) == (8443, "/", True)
    assert s.host_header == "127.0.0.1:8443"
    q = http.parse_url("http://h:1/dm?s=abc")
    assert q.target == "/dm?s=abc"
    assert http.parse_url("http://h?x=1").target == "/?x=1"
    v6 = http.parse_url("http://[::1]:9000/x")
    assert v6.host == "::1" and v6.host_header == "[::1]:9000"


def test_relative_resp_uri_resolves_against_base() -> None:
    base = http.parse_url("http://127.0.0.1:5000/dm")
    nxt = http.parse_url("/dm?s=tok", base=base)
    assert nxt.origin == base.origin and nxt.target == "/dm?s=tok"


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://h/",
        "h/x",
        "http://",
        "http://h:0/",
        "http://h:99999/",
        "http://u@h/",
        "http://h/a b",
        "http://h/#frag",
        "http://[::1/",
        "http://h:x/",
        "/relative",
    ],
)
def test_parse_url_rejects_unusable(bad: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        http.parse_url(bad)
    assert info.value.reason == "http.url"


@given(st.text(max_size=60))
def test_parse_url_raises_only_invalid_value(text: str) -> None:
    try:
        u = http.parse_url(text)
    except InvalidValueError:
        return
    assert u.target.startswith("/") and 0 < u.port < 65536


@pytest.mark.parametrize(
    ("media_type", "body", "expected"),
    [
        ("application/vnd.syncml.dm+xml; charset=UTF-8", b"\x02junk", Encoding.XML),
        ("Application/VND.SyncML.DM+WBXML", b"<x/>", Encoding.WBXML),
        ("application/vnd.syncml+xml", b"\x02\xa4\x01", Encoding.WBXML),
        ("application/vnd.syncml+wbxml", b"<SyncML/>", Encoding.XML),
        ("application/octet-stream", b"  <SyncML/>", Encoding.XML),
        (None, b"\x03\x00", Encoding.WBXML),
    ],
)
def test_encoding_of(media_type: str | None, body: bytes, expected: Encoding) -> None:
    assert http.encoding_of(media_type, body) is expected


def test_encoding_of_rejects_other_types_with_415() -> None:
    with pytest.raises(MalformedMessageError) as info:
        http.encoding_of("text/html", b"<SyncML/>")
    assert info.value.reason == "http.media-type" and info.value.status_hint == 415
    with pytest.raises(MalformedMessageError):
        http.encoding_of("application/octet-stream", b"GIF89a")


def test_request_headers_carry_types_length_and_hmac_only() -> None:
    url = http.parse_url("http://127.0.0.1:8080/dm")
    body = b"<SyncML/>"
    hmac_value = 'algorithm=MD5, username="dev", mac=abc=='
    headers = http.request_headers(
        url,
        body,
        http.content_type(Encoding.XML),
        [("x-syncml-hmac", hmac_value), ("X-Secret", "no")],
    )
    d = {k.lower(): v for k, v in headers}
    assert d["host"] == "127.0.0.1:8080"
    assert d["content-type"] == "application/vnd.syncml.dm+xml; charset=UTF-8"
    assert d["content-length"] == "9"
    assert "application/vnd.syncml.dm+wbxml" in d["accept"]
    assert d["x-syncml-hmac"] == hmac_value
    assert "x-secret" not in d


def test_response_and_message_headers() -> None:
    r = dict(http.response_headers(b"\x02", http.content_type(Encoding.WBXML)))
    assert r["Content-Type"] == http.DM_WBXML and r["Content-Length"] == "1"
    got = http.message_headers([("X-SyncML-HMAC", "mac=x"), ("Server", "y")])
    assert got == (("x-syncml-hmac", "mac=x"),)
    assert http.header_value([("A", "1"), ("a", "2")], "A") == "1"
    assert http.header_value([], "a") is None


def test_check_status_only_200() -> None:
    http.check_status(200)
    for code in (201, 302, 401, 500):
        with pytest.raises(http.HttpStatusError) as info:
            http.check_status(code)
        assert isinstance(info.value, DMError) and info.value.http_status == code
        assert str(code) in str(info.value)
    again = pickle.loads(pickle.dumps(http.HttpStatusError(503)))
    assert again.http_status == 503


def test_content_length_checked_before_reading() -> None:
    assert http.check_content_length([("Content-Length", "10")], 10) == 10
    assert http.check_content_length([], 10) is None
    with pytest.raises(MalformedMessageError) as info:
        http.check_content_length([("content-length", "11")], 10)
    assert info.value.reason == "http.body-too-large" and info.value.status_hint == 413
    for bad in ("-1", "1e3", "", "9" * 40, "١٢"):
        with pytest.raises(MalformedMessageError) as info:
            http.check_content_length([("content-length", bad)], 10)
        assert info.value.reason == "http.content-length"


def test_body_limiter_counts_chunks() -> None:
    lim = http.BodyLimiter(5)
    lim.feed(b"ab")
    lim.feed(b"cde")
    assert lim.body() == b"abcde" and lim.size == 5
    with pytest.raises(MalformedMessageError) as info:
        lim.feed(b"f")
    assert info.value.reason == "http.body-too-large"
    assert lim.body() == b"abcde"


# -- the pure client driver and server endpoint, with real sessions --------------------

_server_app = MinimalServerApp()


def test_driver_and_endpoint_run_a_session_following_resp_uri() -> None:
    seen: list[tuple[str, int | None]] = []
    endpoint = make_endpoint(
        on_message=lambda req, resp, s: seen.append(
            (req.target, None if resp is None else resp.status)
        )
    )
    device = make_device()
    session = device.session
    observed: list[tuple[bytes, int | None]] = []
    driver = ClientDriver(
        session,
        on_message=lambda req, resp: observed.append(
            (req.body, None if resp is None else resp.status)
        ),
    )
    targets = []
    now = 0.0
    for _ in range(50):
        step = driver.poll(now)
        if isinstance(step, Deliver):
            device(session, step.event)
        elif isinstance(step, Send):
            targets.append(step.url.target)
            assert dict(step.request.headers)["Content-Type"].startswith(http.DM_XML)
            clock = functools.partial(float, now)
            driver.handle_response(endpoint.handle(step.request, _server_app, clock), now)
        else:
            assert isinstance(step, Done)
            break
        now += 0.01
    assert driver.ended is not None and driver.ended.reason is ev.EndReason.COMPLETED
    # the first POST goes to the server URL, the next ones to the RespURI token
    assert targets[0] == "/dm" and all(t.startswith("/dm?s=") for t in targets[1:])
    assert len(targets) >= 2 and len(endpoint) == 0
    # the observer sees each request once routed (None) and once answered (200)
    assert seen[0] == ("/dm", None) and seen[1] == ("/dm", 200)
    # the client observer sees each request as sent, then its response, in order
    assert [status for _, status in observed] == [None, 200] * len(targets)
    assert observed[0][0] == observed[1][0] and b"<SyncML" in observed[0][0]


def test_endpoint_routing_errors() -> None:
    endpoint = make_endpoint(max_sessions=1)
    first = first_send(ClientDriver(make_device("IMEI:a").session)).request
    exchange = endpoint.open(first, 0.0)
    assert not isinstance(exchange, http.HttpResponse)
    # the same device + SessionID while its exchange is still open: 409
    busy = endpoint.open(first, 0.0)
    assert isinstance(busy, http.HttpResponse) and busy.status == 409
    # a second device beyond max_sessions: 503
    other = first_send(ClientDriver(make_device("IMEI:b").session)).request
    full = endpoint.open(other, 0.0)
    assert isinstance(full, http.HttpResponse) and full.status == 503
    # an unknown token: 404
    stale = http.HttpRequest(
        method="POST", target="/dm?s=nope", headers=first.headers, body=first.body
    )
    assert endpoint.open(stale, 0.0).status == 404  # type: ignore[union-attr]
    # the handler failing abandons (aborts and forgets) the session
    exchange.abandon(0.0)
    assert len(endpoint) == 0
    # a body that is not SyncML gets a DM abort (tests/session/test_protocol_error_answers.py)
    junk = http.HttpRequest(method="POST", target="/dm", headers=first.headers, body=b"<a/>")
    assert endpoint.handle(junk, lambda s, e: None, lambda: 0.0).status == 200
    assert len(endpoint) == 0


def test_endpoint_expires_idle_sessions() -> None:
    endpoint = make_endpoint()
    request = first_send(ClientDriver(make_device().session)).request
    response = endpoint.handle(request, _server_app, lambda: 0.0)
    assert response.status == 200 and len(endpoint) == 1
    deadline = endpoint.next_deadline()
    assert deadline is not None and deadline > 0
    assert endpoint.expire(deadline - 1) == []
    [ended] = endpoint.expire(deadline + 1)
    events = []
    while (event := ended.next_event()) is not None:
        events.append(event)
    assert any(
        isinstance(e, ev.SessionEnded) and e.reason is ev.EndReason.TIMED_OUT for e in events
    )
    assert len(endpoint) == 0


def test_driver_ends_the_session_on_http_errors() -> None:
    driver = ClientDriver(make_device().session)
    first_send(driver)
    with pytest.raises(http.HttpStatusError):
        driver.handle_response(http.error_response(503, "busy"), 0.0)
    assert isinstance(driver.poll(0.0), (Deliver, Done))
    while isinstance(step := driver.poll(0.0), Deliver):
        pass
    assert isinstance(step, Done)


class _DictStore:
    def __init__(self) -> None:
        self.data: dict[str, tuple[tuple[str, str], dict[str, Any]]] = {}

    def save(self, token: str, key: tuple[str, str], snapshot: dict[str, Any]) -> None:
        self.data[token] = (key, json.loads(json.dumps(snapshot)))

    def load(self, token: str) -> tuple[tuple[str, str], dict[str, Any]] | None:
        return self.data.get(token)

    def delete(self, token: str) -> None:
        self.data.pop(token, None)


def test_a_restarted_endpoint_continues_a_session_from_the_store() -> None:
    store = _DictStore()
    device = make_device()
    session = device.session
    driver = ClientDriver(session)
    endpoints = iter([make_endpoint(store=store) for _ in range(20)])
    sends = 0
    for _ in range(50):
        step = driver.poll(0.0)
        if isinstance(step, Deliver):
            device(session, step.event)
        elif isinstance(step, Send):
            # every message is answered by a fresh endpoint ("another worker")
            sends += 1
            response = next(endpoints).handle(step.request, _server_app, lambda: 0.0)
            assert response.status == 200
            driver.handle_response(response, 0.0)
        else:
            break
    assert sends >= 2
    assert driver.ended is not None and driver.ended.reason is ev.EndReason.COMPLETED
    assert store.data == {}  # the finished session was deleted from the store


def test_routing_key() -> None:
    request = first_send(ClientDriver(make_device("IMEI:k").session)).request
    key = http.routing_key(request)
    assert key.token is None and key.device_id == "IMEI:k" and key.session_id
    tokened = http.HttpRequest(method="POST", target="/dm?x=1&s=abc", headers=(), body=b"")
    assert http.routing_key(tokened) == http.RoutingKey(token="abc")
    with pytest.raises(MalformedMessageError):
        http.routing_key(http.HttpRequest(method="POST", target="/dm?s=", headers=(), body=b"x"))
