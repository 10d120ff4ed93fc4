"""Transport-level conformance: bounded bodies, slow and vanishing clients, TLS, push.

These run against each adapter's DM server and push listener without needing a
full DM session; full sessions are in test_sessions.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time

import pytest
from _harness import Harness
from dmproto_sync import HttpClient
from tlskit import TlsPair

from dmproto.bindings.http import HttpRequest, HttpResponse, parse_url
from dmproto.bindings.push import PushAccepted, ServerSecret
from dmproto.codec import decode_message
from dmproto.limits import Limits
from dmproto.notification import build_notification
from dmproto.security import NonceUsed
from dmproto.session import ServerConfig
from dmproto.session.events import EndReason, SessionEnded

XML = "application/vnd.syncml.dm+xml"


def _config(max_message_size: int = 4096) -> ServerConfig:
    return ServerConfig(
        random_bytes=os.urandom,
        server_uri="http://127.0.0.1/dm",
        limits=Limits(max_message_size=max_message_size),
    )


def _never(session: object, event: object) -> None:
    raise AssertionError("no DM event expected")


def _refused(session: object, event: object) -> None:
    # a body that is not SyncML reaches a session only to end it
    assert isinstance(event, SessionEnded) and event.reason is EndReason.PROTOCOL_ERROR


def _is_dm_abort(response: HttpResponse) -> bool:
    """HTTP 200 carrying SyncHdr Status + Alert 1223 + Final (not an HTTP error)."""
    message = decode_message(response.body)
    return (
        response.status == 200
        and message.final
        and [c.name for c in message.commands] == ["Status", "Alert"]
    )


def _post(body: bytes, content_type: str = XML) -> HttpRequest:
    return HttpRequest(
        method="POST",
        target="/dm",
        headers=[
            ("Host", "127.0.0.1"),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
        ],
        body=body,
    )


def _exchange(
    url: str, request: HttpRequest, ssl_context: ssl.SSLContext | None = None
) -> HttpResponse:
    with HttpClient(max_body=1 << 20, timeout=5, ssl_context=ssl_context) as client:
        response: HttpResponse = client.exchange(parse_url(url), request)
    return response


def test_oversized_body_rejected_and_server_keeps_serving(harness: Harness) -> None:
    with harness.serving(_refused, _config(4096)) as url:
        assert _exchange(url, _post(b"<" * 5000)).status == 413
        # the next request on a fresh connection is served normally (not SyncML: a
        # DM abort)
        assert _is_dm_abort(_exchange(url, _post(b"<not-syncml/>")))
        assert _exchange(url, _post(b"<x/>", "text/plain")).status == 415


def test_wrong_method_path_and_unknown_token(harness: Harness) -> None:
    with harness.serving(_never, _config()) as url:
        get = HttpRequest(method="GET", target="/dm", headers=[("Host", "h")], body=b"")
        assert _exchange(url, get).status == 405
        other = HttpRequest(method="POST", target="/other", headers=[("Host", "h")], body=b"")
        assert _exchange(url, other).status == 404
        stale = _post(b"<SyncML/>")
        stale = HttpRequest(
            method="POST", target="/dm?s=feedface", headers=stale.headers, body=stale.body
        )
        assert _exchange(url, stale).status == 404


def test_client_disconnecting_mid_body_and_slow_client(harness: Harness) -> None:
    with harness.serving(_refused, _config(), timeout=0.5) as url:
        target = parse_url(url)
        head = (
            f"POST /dm HTTP/1.1\r\nHost: x\r\nContent-Type: {XML}\r\nContent-Length: 100\r\n\r\n"
        ).encode()
        # vanishes mid-body: the server must not process anything and keep serving
        with socket.create_connection((target.host, target.port), timeout=5) as raw:
            raw.sendall(head + b"<SyncML")
        # a slow client that stalls longer than the server timeout is dropped
        with socket.create_connection((target.host, target.port), timeout=5) as raw:
            raw.sendall(head[:10])
            time.sleep(1.0)
            with contextlib.suppress(ConnectionResetError):
                assert raw.recv(100) == b""
        assert _is_dm_abort(_exchange(url, _post(b"<not-syncml/>")))


def test_tls_server_with_test_ca(harness: Harness, tls: TlsPair) -> None:
    with harness.serving(_refused, _config(), ssl_context=tls.server) as url:
        assert url.startswith("https://127.0.0.1:")
        response = _exchange(url, _post(b"<not-syncml/>"), ssl_context=tls.client)
        assert _is_dm_abort(response)
        # a client that does not trust the CA fails the handshake; the server survives
        with pytest.raises(ssl.SSLError):
            _exchange(url, _post(b"<x/>"), ssl_context=ssl.create_default_context())
        assert _is_dm_abort(_exchange(url, _post(b"<y/>"), ssl_context=tls.client))


def _pkg0(password: str = "serverpassword", nonce: bytes = b"\x00" * 4) -> bytes:  # noqa: S107
    return build_notification(
        server_id="com.mgmtsrv.manage", password=password, nonce=nonce, session_id=0x1234
    )


def test_package0_over_udp_and_http(harness: Harness) -> None:
    got: list[PushAccepted] = []
    arrived = threading.Event()
    secrets = {"com.mgmtsrv.manage": ServerSecret(password="serverpassword", nonce=b"stored")}

    def on_push(accepted: PushAccepted) -> None:
        got.append(accepted)
        arrived.set()

    with harness.listening(secrets.get, on_push, http=True) as (udp_port, http_url):
        # garbage, an unknown server and a wrong digest are ignored
        harness.send_push_udp(b"\x00garbage", udp_port)
        harness.send_push_udp(_pkg0(password="wrong"), udp_port)
        # signed with the reset nonce: accepted (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2)
        harness.send_push_udp(_pkg0(), udp_port)
        assert arrived.wait(5)
        arrived.clear()
        assert http_url is not None
        harness.send_push_http(http_url, _pkg0(nonce=b"stored"))
        assert arrived.wait(5)
    assert [a.nonce_used for a in got] == [NonceUsed.RESET, NonceUsed.STORED]
    assert got[0].notification.session_id_text == "1234"
    assert got[0].notification.server_id == "com.mgmtsrv.manage"


def test_listener_survives_a_failing_on_push(harness: Harness) -> None:
    calls: list[int] = []
    second = threading.Event()
    secrets = {"com.mgmtsrv.manage": ServerSecret(password="serverpassword")}

    def on_push(accepted: PushAccepted) -> None:
        calls.append(accepted.notification.session_id)
        if len(calls) == 1:
            raise RuntimeError("application bug")
        second.set()

    with harness.listening(secrets.get, on_push) as (udp_port, _):
        for _ in range(20):  # UDP may drop on a busy machine: resend until seen twice
            harness.send_push_udp(_pkg0(), udp_port)
            if second.wait(0.25):
                break
    assert second.is_set() and len(calls) >= 2


def test_trickling_client_is_dropped(harness: Harness) -> None:
    with harness.serving(_refused, _config(), timeout=0.3) as url:
        target = parse_url(url)
        head = (
            f"POST /dm HTTP/1.1\r\nHost: x\r\nContent-Type: {XML}\r\nContent-Length: 100\r\n\r\n"
        ).encode()
        dropped = False
        with socket.create_connection((target.host, target.port), timeout=5) as raw:
            # one byte every 0.1 s never trips the 0.3 s silence timeout, but the
            # whole request must arrive within 4 x 0.3 s
            for i in range(60):
                try:
                    raw.sendall(head[i % len(head) : i % len(head) + 1])
                except OSError:
                    dropped = True
                    break
                time.sleep(0.1)
                raw.setblocking(False)
                try:
                    if raw.recv(100) == b"":
                        dropped = True
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    dropped = True
                    break
                finally:
                    raw.setblocking(True)
        assert dropped
        assert _is_dm_abort(_exchange(url, _post(b"<not-syncml/>")))
