"""The HTTP limits of every adapter's DM server: the head size and the connection cap.

See docs/reliability.md, "Limits": a head over ``MAX_HEAD`` is refused with 431
however it arrives, and connections beyond ``max_connections`` are closed as soon
as accepted, without a response, until one of the open ones ends.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from dmproto.bindings.http import HttpRequest, parse_url
from dmproto.session import ServerConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "conformance"))
from _harness import HARNESSES

dmproto_adapter_base = pytest.importorskip("dmproto_adapter_base")
from dmproto_adapter_base.framing import MAX_HEAD, Reject, ServerFraming  # noqa: E402


def _head(padding: int) -> bytes:
    return b"POST /dm HTTP/1.1\r\nHost: h\r\nX-Pad: " + b"a" * padding + b"\r\n\r\n"


@pytest.mark.parametrize("chunk", [1 << 20, 1000], ids=["whole", "in-pieces"])
def test_a_head_over_the_cap_is_refused_with_431(chunk: int) -> None:
    framing = ServerFraming(max_body=1000)
    data = _head(MAX_HEAD + 100)
    step = None
    for start in range(0, len(data), chunk):
        framing.feed(data[start : start + chunk])
        step = framing.next_request()
        if isinstance(step, Reject):
            break
    assert isinstance(step, Reject)
    assert step.data.startswith(b"HTTP/1.1 431 ")
    assert b"Connection: close" in step.data


def test_a_head_just_under_the_cap_is_read() -> None:
    framing = ServerFraming(max_body=1000)
    framing.feed(_head(MAX_HEAD - 100))
    step = framing.next_request()
    assert isinstance(step, HttpRequest)
    assert len(step.headers[1][1]) == MAX_HEAD - 100


def _never(session: object, event: object) -> None:
    raise AssertionError("no DM event expected")


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_connections_over_the_cap_are_closed_until_one_ends(name: str) -> None:
    pytest.importorskip(f"dmproto_{name}")
    harness = HARNESSES[name]()
    config = ServerConfig(random_bytes=os.urandom, server_uri="http://127.0.0.1/dm")
    with harness.serving(_never, config, timeout=10.0, max_connections=1) as url:
        target = parse_url(url)
        address = (target.host, target.port)
        get = b"GET /dm HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        with socket.create_connection(address, timeout=10) as held:
            held.sendall(b"GET /dm HTTP/1.1\r\n")  # holds the only slot, unfinished
            time.sleep(0.2)  # (the server has accepted it before the next one)
            with socket.create_connection(address, timeout=10) as refused:
                with contextlib.suppress(OSError):
                    refused.sendall(get)
                with contextlib.suppress(ConnectionResetError):
                    assert refused.recv(100) == b""  # closed without a response
        # The held connection ended: the slot is free again (once the server saw it).
        answer = b""
        for _ in range(100):
            with (
                socket.create_connection(address, timeout=10) as sock,
                contextlib.suppress(OSError),
            ):
                sock.sendall(get)
                answer = sock.recv(100)
            if answer:
                break
            time.sleep(0.05)
        assert answer.startswith(b"HTTP/1.1 405 ")
