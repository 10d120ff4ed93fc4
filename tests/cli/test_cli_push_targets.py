"""``dmproto notify`` to IPv6 literals and ``notification parse`` on a WSP PDU without
``--wsp`` (real commands as subprocesses, real sockets on the IPv6 loopback)."""

from __future__ import annotations

import http.server
import socket
import threading
from typing import ClassVar

import pytest
from clikit import dmproto_bytes

from dmproto.bindings.push import parse_push_target
from dmproto.errors import InvalidValueError
from dmproto.notification import parse_notification, parse_wsp_push

NOTIFY = ("--server-id", "srv", "--password", "pw", "--session-id", "1234")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("::1", ("::1", 2948)),
        ("[::1]", ("::1", 2948)),
        ("[::1]:4000", ("::1", 4000)),
        ("fe80::1:2", ("fe80::1:2", 2948)),
        ("device.example", ("device.example", 2948)),
        ("10.0.0.1:2949", ("10.0.0.1", 2949)),
    ],
)
def test_parse_push_target(text: str, expected: tuple[str, int]) -> None:
    assert parse_push_target(text) == expected


@pytest.mark.parametrize("text", ["", "[::1", "[::1]x", "h:0", "h:65536", "h:x", "[]:1", ":1"])
def test_parse_push_target_refuses(text: str) -> None:
    with pytest.raises(InvalidValueError):
        parse_push_target(text)


@needs_ipv6
def test_notify_udp_to_bracketed_ipv6_literal() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.bind(("::1", 0))
        sock.settimeout(30)
        port = sock.getsockname()[1]
        sent = dmproto_bytes("notify", "--to", f"[::1]:{port}", *NOTIFY)
        assert sent.returncode == 0, sent.stderr
        assert f"udp [::1]:{port}".encode() in sent.stdout
        datagram = sock.recv(65536)
    assert parse_notification(parse_wsp_push(datagram).body).server_id == "srv"


@needs_ipv6
def test_notify_udp_to_bare_ipv6_literal_uses_the_push_port() -> None:
    sent = dmproto_bytes("notify", "--to", "::1", *NOTIFY)
    assert sent.returncode == 0, sent.stderr
    assert b"udp [::1]:2948" in sent.stdout


class _Push(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@needs_ipv6
def test_notify_http_to_ipv6_url() -> None:
    server = _Server6(("::1", 0), _Push)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://[::1]:{server.server_address[1]}/push"
        sent = dmproto_bytes("notify", "--http", url, *NOTIFY)
        assert sent.returncode == 0, sent.stderr
    finally:
        server.shutdown()
        server.server_close()
    (body,) = _Push.bodies
    assert parse_notification(body).server_id == "srv"


def test_parse_without_wsp_on_a_wsp_pdu_says_add_wsp() -> None:
    pdu = dmproto_bytes(
        "notification",
        "build",
        "--wsp",
        "--server-id",
        "srv",
        "--password",
        "pw",
        "--nonce",
        "",
        "--session-id",
        "1",
    )
    assert pdu.returncode == 0, pdu.stderr
    parsed = dmproto_bytes("notification", "parse", "-", stdin=pdu.stdout)
    assert parsed.returncode == 2
    assert parsed.stderr.count(b"\n") == 1 and b"add --wsp" in parsed.stderr
    with_flag = dmproto_bytes("notification", "parse", "--wsp", "-", stdin=pdu.stdout)
    assert with_flag.returncode == 0, with_flag.stderr
    garbage = dmproto_bytes("notification", "parse", "-", stdin=b"\x00" * 10)
    assert garbage.returncode == 2 and b"--wsp" not in garbage.stderr
