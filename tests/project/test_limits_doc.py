"""The limits documented in ``docs/reliability.md`` are the code's defaults.

The "Limits" table and the lockout policy table of "Password guessing" are parsed;
each row's default must equal the default in the code, every row must name a
setting this test knows how to look up, and every field of ``Limits`` must have its
row. Changing a default without the document (or the reverse) fails here.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from dmproto.bindings.lockout import LockoutPolicy
from dmproto.bindings.server import ServerEndpoint
from dmproto.limits import Limits
from dmproto.session import ServerConfig

dmproto_adapter_base = pytest.importorskip("dmproto_adapter_base")
from dmproto_adapter_base.framing import MAX_HEAD  # noqa: E402
from dmproto_adapter_base.servers import DMServerBase, HttpServerSettings  # noqa: E402

dmproto_sync = pytest.importorskip("dmproto_sync")

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
#: ``| `setting` | 10 000 s ...``: the setting and its number (digits grouped by
#: spaces or not), then an optional unit.
ROW = re.compile(
    r"^\| `([^`]+)` \| ([0-9]{1,3}(?: [0-9]{3})+|[0-9]+(?:\.[0-9]+)?)(?: (?:bytes|s))? "
)


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _table(title: str) -> dict[str, float]:
    """``setting -> default`` for the rows of the section's tables that name one."""
    rows = {}
    for line in _section(title).splitlines():
        match = ROW.match(line)
        if match:
            assert match[1] not in rows, f"{match[1]} documented twice"
            rows[match[1]] = float(match[2].replace(" ", ""))
    return rows


def _default(function: Any, name: str) -> Any:
    return inspect.signature(function).parameters[name].default


def _code_limits() -> dict[str, Any]:
    config = ServerConfig(random_bytes=os.urandom, server_uri="http://dm.test/dm")
    effective_request_timeout = HttpServerSettings(None, max_body=1)._request_timeout
    values: dict[str, Any] = {
        f"Limits.{field.name}": getattr(Limits(), field.name) for field in attrs.fields(Limits)
    }
    values |= {
        "MAX_HEAD": MAX_HEAD,
        "DMServer(max_connections=)": _default(DMServerBase.__init__, "max_connections"),
        "DMServer(timeout=)": _default(DMServerBase.__init__, "timeout"),
        "DMServer(request_timeout=)": effective_request_timeout,
        "DMServer(max_sessions=)": _default(DMServerBase.__init__, "max_sessions"),
        "dmproto_sync.DMServer(threads=)": _default(dmproto_sync.DMServer.__init__, "threads"),
        "ServerConfig.inactivity_timeout": config.inactivity_timeout,
        "ServerConfig.max_obj_size": config.max_obj_size,
        "ServerConfig.max_auth_attempts": config.max_auth_attempts,
    }
    return values


def test_the_limits_table_gives_the_code_defaults() -> None:
    documented = _table("Limits")
    assert documented == pytest.approx(_code_limits())


def test_the_http_server_and_the_endpoint_share_the_documented_defaults() -> None:
    # DMServer passes its values on: the HTTP server's and the endpoint's own
    # defaults must not say otherwise.
    assert _default(HttpServerSettings.__init__, "max_connections") == _default(
        DMServerBase.__init__, "max_connections"
    )
    assert _default(HttpServerSettings.__init__, "timeout") == _default(
        DMServerBase.__init__, "timeout"
    )
    assert _default(ServerEndpoint.__init__, "max_sessions") == _default(
        DMServerBase.__init__, "max_sessions"
    )
    assert _default(dmproto_sync.HttpServer.__init__, "threads") == _default(
        dmproto_sync.DMServer.__init__, "threads"
    )


def test_the_lockout_table_gives_the_policy_defaults() -> None:
    documented = _table("Password guessing")
    policy = LockoutPolicy()
    assert documented == pytest.approx(
        {field.name: getattr(policy, field.name) for field in attrs.fields(LockoutPolicy)}
    )
