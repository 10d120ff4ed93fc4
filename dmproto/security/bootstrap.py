"""Bootstrap security: the MAC on a DM-profile bootstrap document (OMA-TS-DM_Bootstrap-V1_2_1 §3.1).

A DM bootstrap is a WBXML DM message pushed with
``Content-Type: application/vnd.syncml.dm+wbxml; SEC=<method>; MAC=<hex>`` where
``MAC = HMAC-SHA1(K, document)`` (RFC 2104) written as lowercase hex, and K depends on
the security method:

* ``NETWORKID`` — the shared network secret (e.g. IMSI/ESN). Its octets depend on the
  bearer (OMA-WAP-TS-ProvBoot-V1_1 defines them per bearer, e.g. a GSM IMSI in its
  semi-octet form), so a ``str`` is taken as its UTF-8 octets and a caller whose
  bearer needs another form passes the exact key octets as ``bytes``;
* ``USERPIN`` — the PIN given to the user out of band;
* ``USERPIN_NETWORKID`` — ``PIN ":" secret``.

Read leniently (a documented tolerance, TOL-14 in docs/conformance.md): devices
built for WAP provisioning bootstraps also take the names and numbers of
OMA-WAP-TS-ProvBoot-V1_1 §5.2 for the same three keys, and servers send them —
``NETWPIN`` or ``0`` for NETWORKID, ``1`` for USERPIN, ``USERNETWPIN`` or ``2`` for
USERPIN_NETWORKID. ``USERPINMAC`` (``3``) derives its MAC differently and stays
unknown. The DM names are what we write.

Reasons raised: ``bootstrap.content-type``, ``bootstrap.unknown-sec``,
``bootstrap.mac``, ``bootstrap.duplicate-param``.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

from ..errors import InvalidValueError, MalformedMessageError
from .hashing import constant_time_equal, hmac_sha1

__all__ = [
    "BootstrapContentType",
    "SecurityMethod",
    "bootstrap_mac",
    "format_bootstrap_content_type",
    "parse_bootstrap_content_type",
    "verify_bootstrap",
]

#: Longest Content-Type value accepted.
_MAX_CONTENT_TYPE_LENGTH = 1024
_HEX_MAC = re.compile(r"[0-9A-Fa-f]{40}")
# RFC 2045 token characters (media types and parameter names/values).
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
#: SEC values of OMA-WAP-TS-ProvBoot-V1_1 §5.2 read as the DM method with the same key.
_PROVBOOT_SEC_ALIASES = {
    "0": "NETWORKID",
    "NETWPIN": "NETWORKID",
    "1": "USERPIN",
    "2": "USERPIN_NETWORKID",
    "USERNETWPIN": "USERPIN_NETWORKID",
}
_MEDIA_TYPE = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+/[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")


class SecurityMethod(enum.Enum):
    """The ``SEC`` content-type parameter (OMA-TS-DM_Bootstrap-V1_2_1 §3.1)."""

    NETWORKID = "NETWORKID"
    USERPIN = "USERPIN"
    USERPIN_NETWORKID = "USERPIN_NETWORKID"


class BootstrapContentType(NamedTuple):
    """A parsed bootstrap Content-Type: media type, SEC method and MAC (lowercase hex)."""

    media_type: str
    method: SecurityMethod | None
    mac: str | None


def _octets(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _key(method: SecurityMethod, network_id: str | bytes | None, pin: str | None) -> bytes:
    # OMA-TS-DM_Bootstrap-V1_2_1 §3.1: K per SEC method.
    if method is SecurityMethod.NETWORKID:
        if network_id is None:
            raise InvalidValueError("bootstrap.key", "NETWORKID needs network_id")
        return _octets(network_id)
    if pin is None:
        raise InvalidValueError("bootstrap.key", f"{method.value} needs pin")
    if method is SecurityMethod.USERPIN:
        return _octets(pin)
    if network_id is None:
        raise InvalidValueError("bootstrap.key", "USERPIN_NETWORKID needs network_id")
    return _octets(pin) + b":" + _octets(network_id)


def bootstrap_mac(
    document: bytes,
    *,
    method: SecurityMethod,
    network_id: str | bytes | None = None,
    pin: str | None = None,
) -> str:
    """HMAC-SHA1(K, document) as lowercase hex (OMA-TS-DM_Bootstrap-V1_2_1 §3.1).

    Raises:
        InvalidValueError: the key material *method* needs was not given.
    """
    return hmac_sha1(_key(method, network_id, pin), document).hex()


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse_bootstrap_content_type(value: str) -> BootstrapContentType:
    """Split ``media/type; SEC=...; MAC=...`` (parameter names case-insensitive,
    values possibly quoted; other parameters ignored).

    Raises:
        MalformedMessageError: ``bootstrap.*`` for a malformed value.
    """
    if len(value) > _MAX_CONTENT_TYPE_LENGTH:
        raise MalformedMessageError("bootstrap.content-type", "Content-Type too long")
    media, *params = (part.strip() for part in value.split(";"))
    if not _MEDIA_TYPE.fullmatch(media):
        raise MalformedMessageError("bootstrap.content-type", "malformed media type")
    found: dict[str, str] = {}
    for param in params:
        if not param:
            continue
        name, sep, raw = param.partition("=")
        name = name.strip().upper()
        if not sep or not _TOKEN.fullmatch(name):
            raise MalformedMessageError("bootstrap.content-type", "malformed parameter")
        if name in found:
            raise MalformedMessageError("bootstrap.duplicate-param", f"{name} given twice")
        found[name] = _unquote(raw.strip())
    method = None
    if "SEC" in found:
        sec = found["SEC"].upper()
        try:
            method = SecurityMethod(_PROVBOOT_SEC_ALIASES.get(sec, sec))
        except ValueError:
            raise MalformedMessageError("bootstrap.unknown-sec", "unknown SEC method") from None
    mac = None
    if "MAC" in found:
        # OMA-TS-DM_Bootstrap-V1_2_1 §3.1: two hex digits per octet of the 20-octet HMAC-SHA1.
        if not _HEX_MAC.fullmatch(found["MAC"]):
            raise MalformedMessageError("bootstrap.mac", "MAC is not 40 hex digits")
        mac = found["MAC"].lower()
    return BootstrapContentType(media.lower(), method, mac)


def format_bootstrap_content_type(
    mac: str,
    method: SecurityMethod,
    media_type: str = "application/vnd.syncml.dm+wbxml",
) -> str:
    """``application/vnd.syncml.dm+wbxml; SEC=<method>; MAC=<mac>``
    (OMA-TS-DM_Bootstrap-V1_2_1 §3.1)."""
    return f"{media_type}; SEC={method.value}; MAC={mac}"


def verify_bootstrap(
    document: bytes,
    content_type: str,
    *,
    network_id: str | bytes | None = None,
    pin: str | None = None,
) -> bool:
    """Whether *document* carries a valid MAC for its Content-Type (constant-time).

    False when SEC or MAC is absent or the key material the method needs is missing.

    Raises:
        MalformedMessageError: the Content-Type itself is malformed.
    """
    parsed = parse_bootstrap_content_type(content_type)
    if parsed.method is None or parsed.mac is None:
        return False
    try:
        expected = bootstrap_mac(document, method=parsed.method, network_id=network_id, pin=pin)
    except InvalidValueError:
        return False
    return constant_time_equal(expected.encode("ascii"), parsed.mac.encode("ascii"))
