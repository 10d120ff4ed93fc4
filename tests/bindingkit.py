"""Helpers of the HTTP binding tests: a device, an endpoint and the first request,
for driving ``ClientDriver`` and ``ServerEndpoint`` in memory."""

from __future__ import annotations

import os
from typing import Any

from dmproto.bindings.client import ClientDriver
from dmproto.bindings.http import HttpRequest
from dmproto.bindings.server import ServerEndpoint
from dmproto.bindings.steps import Send
from dmproto.testing import TreeDevice, server_config, tree_device


def make_device(dev_id: str = "IMEI:1", server_uri: str = "http://127.0.0.1:9/dm") -> TreeDevice:
    """A device with a standard tree (model ``Unit``) and real randomness."""
    return tree_device(server_uri, dev_id=dev_id, mod="Unit", random_bytes=os.urandom)


def make_endpoint(**kw: Any) -> ServerEndpoint:
    """A server endpoint whose sessions time out after 5 s of inactivity."""
    config = server_config(random_bytes=os.urandom, server_uri="srv", inactivity_timeout=5.0)
    return ServerEndpoint(config, **kw)


def first_send(driver: ClientDriver) -> Send:
    """The driver's first step: sending Package 1."""
    step = driver.poll(0.0)
    assert isinstance(step, Send)
    return step


def first_request(dev_id: str = "IMEI:1") -> HttpRequest:
    """The Package 1 request of a fresh device."""
    return first_send(ClientDriver(make_device(dev_id).session)).request


__all__ = ["first_request", "first_send", "make_device", "make_endpoint"]
