"""The shared h11 framing (pure) and the blocking HTTP transport built on it."""

from __future__ import annotations

import socket

import pytest

from dmproto.bindings.http import HttpRequest, HttpResponse, parse_url
from dmproto.errors import MalformedMessageError, RemoteProtocolError

pytest.importorskip("dmproto_adapter_base")

from dmproto_adapter_base import ClientFraming, NeedData, Reject, ServerFraming

POST = (
    b"POST /dm HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.syncml.dm+xml\r\n"
    b"Content-Length: 5\r\n\r\nhello"
)


def _request(body: bytes = b"hello") -> HttpRequest:
    return HttpRequest(
        method="POST",
        target="/dm",
        headers=[("Host", "x"), ("Content-Length", str(len(body)))],
        body=body,
    )


def test_server_framing_keep_alive_two_requests_byte_by_byte() -> None:
    framing = ServerFraming(max_body=100)
    got = []
    for byte in POST + POST:
        framing.feed(bytes([byte]))
        while isinstance(step := framing.next_request(), HttpRequest):
            got.append(step)
            out = framing.respond(
                HttpResponse(status=200, headers=[("Content-Length", "2")], body=b"ok")
            )
            assert out.startswith(b"HTTP/1.1 200") and out.endswith(b"ok")
            assert not framing.must_close
        assert step is NeedData.MORE
    assert [r.body for r in got] == [b"hello", b"hello"]
    assert got[0].target == "/dm" and ("Host", "x") in got[0].headers
    framing.feed(b"")
    assert framing.next_request() is NeedData.CLOSED


def test_server_framing_rejects_declared_oversize_before_body() -> None:
    framing = ServerFraming(max_body=4)
    framing.feed(POST[: POST.index(b"\r\n\r\n") + 4])  # head only: body never needed
    step = framing.next_request()
    assert isinstance(step, Reject)
    assert step.data.startswith(b"HTTP/1.1 413") and b"connection: close" in step.data.lower()


def test_server_framing_counts_chunked_bodies() -> None:
    framing = ServerFraming(max_body=6)
    framing.feed(
        b"POST /dm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"
    )
    step = framing.next_request()
    assert isinstance(step, Reject) and step.data.startswith(b"HTTP/1.1 413")
    ok = ServerFraming(max_body=8)
    ok.feed(
        b"POST /dm HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n"
    )
    req = ok.next_request()
    assert isinstance(req, HttpRequest) and req.body == b"abcdefgh"


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x00\xa5garbage\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST /dm HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_server_framing_answers_garbage_with_400(garbage: bytes) -> None:
    framing = ServerFraming(max_body=100)
    framing.feed(garbage)
    step = framing.next_request()
    assert isinstance(step, Reject) and step.data.startswith(b"HTTP/1.1 400")


def test_client_framing_round_trip_and_limits() -> None:
    client = ClientFraming(max_body=10)
    data = client.request(_request())
    server = ServerFraming(max_body=10)
    server.feed(data)
    req = server.next_request()
    assert isinstance(req, HttpRequest) and req.body == b"hello"
    client.feed(
        server.respond(HttpResponse(status=200, headers=[("Content-Length", "3")], body=b"abc"))
    )
    resp = client.next_response()
    assert isinstance(resp, HttpResponse) and resp.body == b"abc" and client.reusable
    client.request(_request())  # keep-alive: a second cycle is allowed
    client.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
    with pytest.raises(MalformedMessageError) as info:
        client.next_response()
    assert info.value.reason == "http.body-too-large"


def test_client_framing_broken_response() -> None:
    client = ClientFraming(max_body=10)
    client.request(_request())
    client.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
    assert client.next_response() is NeedData.MORE
    client.feed(b"")
    with pytest.raises(RemoteProtocolError) as info:
        client.next_response()
    assert info.value.reason == "http.framing"


def test_sync_http_server_and_client_keep_alive() -> None:
    dmproto_sync = pytest.importorskip("dmproto_sync")
    seen: list[HttpRequest] = []

    def answer(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        body = request.body.upper()
        return HttpResponse(status=200, headers=[("Content-Length", str(len(body)))], body=body)

    server = dmproto_sync.HttpServer(answer, max_body=1000, timeout=5)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = parse_url(f"http://127.0.0.1:{server.port}/dm")
        with dmproto_sync.HttpClient(max_body=1000, timeout=5) as client:
            for word in (b"one", b"two", b"three"):
                assert client.exchange(url, _request(word)).body == word.upper()
            # an oversized body is refused with 413 and the server keeps serving
            big = client.exchange(url, _request(b"x" * 2000))
            assert big.status == 413
            assert client.exchange(url, _request(b"four")).body == b"FOUR"
        # a client that disconnects mid-body leaves no request behind
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.sendall(POST[:-3])
        with dmproto_sync.HttpClient(max_body=1000, timeout=5) as client:
            assert client.exchange(url, _request(b"five")).body == b"FIVE"
    finally:
        server.close()
        thread.join(timeout=5)
    assert [r.body for r in seen] == [b"one", b"two", b"three", b"four", b"five"]
