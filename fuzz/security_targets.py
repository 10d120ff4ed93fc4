"""Fuzz targets for the security and notification decoders.

Each target takes arbitrary bytes. The invariant (CONTRIBUTING.md#the-fuzzing-invariant,
h11's afl harness): only :class:`dmproto.errors.MalformedMessageError` may escape;
anything else is a bug. Targets that succeed in parsing also check a differential
property (re-encoding reproduces the input, or a round trip holds).

Run one under atheris with ``fuzz/atheris_main.py`` (or any harness taking
``TARGETS[name]``); seeds live in ``fuzz/corpus/<name>/``.
"""

from __future__ import annotations

from collections.abc import Callable

from dmproto.errors import InvalidValueError, MalformedMessageError
from dmproto.notification import (
    encode_notification,
    parse_notification,
    parse_wsp_push,
    verify_notification,
)
from dmproto.security import (
    decode_nonce,
    encode_nonce,
    format_hmac_header,
    parse_bootstrap_content_type,
    parse_hmac_header,
)

__all__ = ["TARGETS"]

_ALL_VERSIONS = frozenset(range(1024))


def package0(data: bytes) -> None:
    """Parse and verify Package 0; a parsed message re-encodes to the same bytes."""
    try:
        notification = parse_notification(data, accepted_versions=_ALL_VERSIONS)
    except MalformedMessageError:
        return
    if encode_notification(notification) != data:
        raise AssertionError("Package 0 did not re-encode to its input")
    verify_notification(notification, password="fuzz", nonce=b"\x00" * 16, try_b64_text=True)


def wsp_push(data: bytes) -> None:
    """Parse a WSP Push PDU; the first byte chooses whether an SMS UDH precedes it."""
    if not data:
        return
    try:
        push = parse_wsp_push(data[1:], sms_udh=bool(data[0] & 1))
    except MalformedMessageError:
        return
    if not data[1:].endswith(push.body):
        raise AssertionError("WSP body is not the PDU's tail")


def hmac_header(data: bytes) -> None:
    """Parse an x-syncml-hmac value (latin-1, as HTTP delivers it); format it back
    when representable and check the round trip."""
    try:
        header = parse_hmac_header(data.decode("latin-1"))
    except MalformedMessageError:
        return
    try:
        text = format_hmac_header(header)
    except InvalidValueError:
        return  # e.g. a quoted algorithm with spaces: readable, not writable
    if parse_hmac_header(text) != header:
        raise AssertionError("x-syncml-hmac format/parse round trip failed")


def nonce(data: bytes) -> None:
    """Decode NextNonce text; decoding then encoding is stable."""
    try:
        octets = decode_nonce(data.decode("latin-1"))
    except MalformedMessageError:
        return
    if decode_nonce(encode_nonce(octets)) != octets:
        raise AssertionError("nonce round trip failed")


def bootstrap_content_type(data: bytes) -> None:
    """Parse a bootstrap Content-Type with SEC/MAC parameters."""
    try:
        parse_bootstrap_content_type(data.decode("latin-1"))
    except MalformedMessageError:
        return


TARGETS: dict[str, Callable[[bytes], None]] = {
    "package0": package0,
    "wsp_push": wsp_push,
    "hmac_header": hmac_header,
    "nonce": nonce,
    "bootstrap_content_type": bootstrap_content_type,
}
