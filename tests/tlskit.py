"""Throwaway certificates made in-process: a CA, a server certificate for
127.0.0.1/localhost, device (client) certificates (an expired one too), and the SSL
contexts using them."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_HOUR = datetime.timedelta(hours=1)


@attrs.frozen
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate, lowercase hex."""
        return self.cert.fingerprint(hashes.SHA256()).hex()

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """Write ``<name>.pem`` and ``<name>.key`` into *directory*; returns both paths."""
        cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
        cert_file.write_bytes(self.cert_pem)
        key_file.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_file, key_file


@attrs.frozen
class TlsPair:
    """Server and client contexts that trust each other through a test CA."""

    server: ssl.SSLContext
    client: ssl.SSLContext
    ca_pem: bytes


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def make_ca(name: str = "dmproto test CA") -> Issued:
    """A self-signed CA, valid for the next hour."""
    now = _now()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _HOUR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert=cert, key=key)


def issue(
    ca: Issued,
    common_name: str,
    *,
    server: bool = False,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> Issued:
    """A certificate signed by *ca*: a server one for 127.0.0.1/localhost, or a
    client (device) one; valid from five minutes ago for an hour unless told."""
    now = _now()
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after or now + _HOUR)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        # Key identifiers (RFC 5280 §4.2.1.1, §4.2.1.2): Python 3.13's default contexts
        # verify with VERIFY_X509_STRICT, which refuses certificates without them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return Issued(cert=builder.sign(ca.key, hashes.SHA256()), key=key)


def expired(ca: Issued, common_name: str) -> Issued:
    """A client (device) certificate signed by *ca* that expired yesterday."""
    now = _now()
    return issue(
        ca,
        common_name,
        not_before=now - datetime.timedelta(days=2),
        not_after=now - datetime.timedelta(days=1),
    )


def client_context(ca: Issued, device: Issued | None = None) -> ssl.SSLContext:
    """A client context trusting *ca*, presenting *device*'s certificate if given."""
    context = ssl.create_default_context(cadata=ca.cert_pem.decode("ascii"))
    if device is not None:
        with tempfile.TemporaryDirectory() as tmp:
            context.load_cert_chain(*device.write(Path(tmp), "device"))
    return context


def make_tls() -> TlsPair:
    """Generate a CA, a server certificate signed by it, and the two SSL contexts."""
    ca = make_ca()
    with tempfile.TemporaryDirectory() as tmp:
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.load_cert_chain(*issue(ca, "localhost", server=True).write(Path(tmp), "server"))
    return TlsPair(server=server, client=client_context(ca), ca_pem=ca.cert_pem)
