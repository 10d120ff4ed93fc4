"""The verified TLS client certificate of a request, as a plain value.

Some devices (Windows among them) authenticate with a TLS client certificate and
send no SyncHdr Cred at all: the DM security framework lets the transport layer
authenticate the device (OMA-TS-DM_Security-V1_2_1 §5.1, "transport layer"
authentication). The core never sees TLS: an adapter that verified the client's
certificate during the handshake describes it with a :class:`PeerCertificate`
(parsing the DER bytes is the adapter's job) and hands it over with each request.

Reasons raised: ``tls.fingerprint`` (a fingerprint that is not 32 octets of hex).
"""

from __future__ import annotations

import re

import attrs

from ..errors import InvalidValueError

__all__ = ["PeerCertificate", "normalize_fingerprint"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


def normalize_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as 64 lowercase hex digits.

    Accepts the forms operators copy around: upper or lower case, with or without
    colons (``openssl x509 -fingerprint -sha256`` writes ``AB:CD:...``).

    Raises:
        InvalidValueError: ``tls.fingerprint``: not 32 octets of hex.
    """
    value = text.replace(":", "").strip().lower()
    if not _HEX64.fullmatch(value):
        raise InvalidValueError("tls.fingerprint", "a SHA-256 fingerprint is 64 hex digits")
    return value


@attrs.frozen(kw_only=True)
class PeerCertificate:
    """The client certificate the TLS layer verified for one request.

    Only an adapter creates these, and only for a certificate that chained to a
    trusted CA and was within its validity period at the handshake (an
    unverifiable certificate fails the handshake: no request arrives at all).

    Attributes:
        subject: the subject distinguished name (RFC 4514 string, ``CN=...``).
        issuer: the issuer distinguished name (RFC 4514 string).
        serial_number: the certificate's serial number.
        fingerprint: SHA-256 of the DER certificate, 64 lowercase hex digits —
            what an application looks accounts up by (``Account.certificate``).
        common_name: the subject's first CommonName, if any (often the device id).
        der: the whole certificate (DER), for checks of the application's own.
    """

    subject: str
    issuer: str
    serial_number: int
    fingerprint: str = attrs.field(converter=normalize_fingerprint)
    common_name: str | None = None
    der: bytes = attrs.field(default=b"", repr=False)
