"""What the subcommands share: the usage error, adapter loading and common options.

Nothing here knows a subcommand; ``serve``, ``device``, ``notify`` and ``demo``
import it (one-line summaries of messages: :mod:`.summary`).
"""

from __future__ import annotations

import argparse
import binascii
from collections.abc import Sequence
from typing import Any

from ..errors import DMError
from ..security import AuthScheme, decode_nonce

__all__ = [
    "ADAPTERS",
    "IO_TIMEOUT",
    "SCHEMES",
    "UsageError",
    "add_auth_options",
    "load_adapter",
    "nonce_option",
    "unwrap",
]

#: ``--auth`` names of the client authentication schemes.
SCHEMES = {"md5": AuthScheme.MD5, "basic": AuthScheme.BASIC, "hmac": AuthScheme.HMAC}
#: ``--adapter`` names: the packages ``dmproto_<name>`` beside dmproto.
ADAPTERS = ("sync", "asyncio", "trio")
#: Every network wait of the tools is bounded (seconds).
IO_TIMEOUT = 10.0

#: What each adapter needs beyond dmproto's own dependencies (the ``dmproto[NAME]``
#: extras of pyproject.toml say the same).
_ADAPTER_REQUIREMENTS = {
    "sync": "h11>=0.14",
    "asyncio": "h11>=0.14",
    "trio": "h11>=0.14 trio>=0.25",
}


class UsageError(Exception):
    """A subcommand's arguments or environment are unusable (exit status 2)."""


def load_adapter(name: str) -> Any:
    """The adapter package ``dmproto_<name>``; a :class:`UsageError` saying what to
    install when it, or a library it needs, is missing."""
    package = f"dmproto_{name}"
    try:
        # Chosen at run time (--adapter); its optional dependencies may be absent.
        return __import__(package)
    except ImportError as exc:
        if exc.name == package:  # a copy of dmproto/ without the adapters beside it
            hint = f"install dmproto from its checkout: pip install '.[{name}]'"
        else:  # the adapter is there, a library it needs (h11, trio) is not
            wanted = " ".join(f"'{r}'" for r in _ADAPTER_REQUIREMENTS[name].split())
            hint = f"pip install {wanted}"
        raise UsageError(
            f"adapter {name!r} is not usable, {exc.name} is missing ({hint})"
        ) from None


def unwrap(exc: BaseException) -> BaseException:
    """The one error inside (nested) exception groups; Ctrl-C wins."""
    inner: Sequence[BaseException] = getattr(exc, "exceptions", ())
    if isinstance(exc, KeyboardInterrupt) or not inner:
        return exc
    found = [unwrap(e) for e in inner]
    interrupt = [e for e in found if isinstance(e, KeyboardInterrupt)]
    return interrupt[0] if interrupt else found[0]


def nonce_option(text: str | None) -> bytes:
    """The octets of a ``--nonce`` (base64) option; empty when not given."""
    if not text:
        return b""
    try:
        return decode_nonce(text)
    except (DMError, binascii.Error, ValueError):
        raise UsageError("--nonce must be base64") from None


def add_auth_options(parser: argparse.ArgumentParser) -> None:
    """``--server-id``, ``--server-password`` and ``--auth`` (serve and device)."""
    parser.add_argument("--server-id", default="dmproto-server", help="the server's ServerID")
    parser.add_argument(
        "--server-password",
        default="",
        help="SRVCRED secret (server authentication and Package 0 digest)",
    )
    parser.add_argument(
        "--auth",
        choices=[*SCHEMES, "none"],
        default="md5",
        help="client authentication scheme (default md5)",
    )
