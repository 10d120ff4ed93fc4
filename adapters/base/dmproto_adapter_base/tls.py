"""TLS client certificates on the server side: the context, and what it verified.

Devices that authenticate with a TLS client certificate (Windows devices send no
SyncHdr Cred at all) need a server context that asks for one and verifies it
against the device CA: :func:`server_ssl_context`. After the handshake each
adapter reads the verified certificate (``getpeercert(binary_form=True)``) and
describes it with :func:`peer_certificate`; every request of that connection then
carries it (``HttpRequest.peer_certificate``) to the sans-IO core, which never
sees TLS itself. See ``docs/adapters.md``, "Certificate-authenticated devices".
"""

from __future__ import annotations

import enum
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from dmproto.security import PeerCertificate

__all__ = ["ClientCertificates", "peer_certificate", "server_ssl_context"]

StrPath = str | os.PathLike[str]


class ClientCertificates(enum.Enum):
    """Whether a TLS server asks devices for a client certificate."""

    #: Asked for; a device may send none (it then authenticates with its Cred),
    #: but one it sends must verify or the handshake fails (``ssl.CERT_OPTIONAL``).
    OPTIONAL = "optional"
    #: Every device must present a certificate that verifies (``ssl.CERT_REQUIRED``).
    REQUIRED = "required"


_VERIFY_MODE = {
    ClientCertificates.OPTIONAL: ssl.CERT_OPTIONAL,
    ClientCertificates.REQUIRED: ssl.CERT_REQUIRED,
}


def server_ssl_context(
    certfile: StrPath,
    keyfile: StrPath | None = None,
    *,
    client_ca: StrPath | None = None,
    client_certificates: ClientCertificates = ClientCertificates.OPTIONAL,
) -> ssl.SSLContext:
    """A server TLS context for a ``DMServer`` (``ssl_context=``).

    Args:
        certfile, keyfile: the server's certificate chain and key (PEM).
        client_ca: PEM file of the CA(s) device certificates must chain to;
            ``None``: no client certificate is asked for.
        client_certificates: with ``client_ca``, whether a certificate is
            optional or required. A certificate that does not chain to
            ``client_ca``, or is expired or not yet valid, fails the handshake in
            both modes: no request of that connection reaches the application.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = _VERIFY_MODE[client_certificates]
    return context


def peer_certificate(der: bytes | None) -> PeerCertificate | None:
    """The :class:`PeerCertificate` of a verified client certificate (DER bytes, as
    ``getpeercert(binary_form=True)`` gives them), or ``None`` without one.

    Only call it with what a context that verifies clients (``CERT_OPTIONAL`` /
    ``CERT_REQUIRED``) returned: with ``CERT_NONE`` nothing is asked or verified.
    """
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = names[0].value if names else None
    return PeerCertificate(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial_number=cert.serial_number,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        common_name=common_name if isinstance(common_name, str) else None,
        der=der,
    )
