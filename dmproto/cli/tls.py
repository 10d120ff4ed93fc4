"""The TLS options of ``serve`` and ``device``: HTTPS, device certificates.

Devices that authenticate with a TLS client certificate (Windows devices send no
SyncHdr Cred at all; OMA-TS-DM_Security-V1_2_1 §5.1 lets the transport layer
authenticate the device) need a server that asks for one and knows which account
it belongs to: ``serve --tls-cert --tls-key --client-ca`` and ``--client-certificate``
(see docs/cli.md, "TLS and device certificates"). ``device --tls-ca --tls-cert
--tls-key`` is such a device.

The adapter packages are imported only when a server context is built: a copy of
dmproto without them still runs the CLI's other commands.
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key

from .common import UsageError

__all__ = [
    "add_device_tls_options",
    "add_tls_options",
    "certificate_fingerprint",
    "check_tls_options",
    "device_context",
    "server_context",
]


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    """``serve``'s ``--tls-cert``, ``--tls-key``, ``--client-ca``,
    ``--require-client-certificate`` and ``--client-certificate``."""
    group = parser.add_argument_group("TLS (docs/cli.md, 'TLS and device certificates')")
    group.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="serve HTTPS with this certificate chain (PEM, the server's first; with --tls-key)",
    )
    group.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM)")
    group.add_argument(
        "--client-ca",
        metavar="FILE",
        help="ask devices for a TLS client certificate that chains to this CA (PEM); "
        "one that does not verify, or is expired, fails the handshake",
    )
    group.add_argument(
        "--require-client-certificate",
        action="store_true",
        help="refuse a TLS handshake without a client certificate (needs --client-ca)",
    )
    group.add_argument(
        "--client-certificate",
        metavar="FILE",
        help="register this device certificate (PEM) for the --client-user account: a "
        "device presenting it is authenticated without Cred",
    )


def add_device_tls_options(parser: argparse.ArgumentParser) -> None:
    """``device``'s ``--tls-ca``, ``--tls-cert`` and ``--tls-key``."""
    group = parser.add_argument_group("TLS (an https:// --server)")
    group.add_argument(
        "--tls-ca",
        metavar="FILE",
        help="trust this CA (PEM) for the server's certificate (default: the system's)",
    )
    group.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="present this TLS client certificate (PEM; with --tls-key)",
    )
    group.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (PEM)")


def _check_pair(args: argparse.Namespace) -> None:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")


def check_tls_options(args: argparse.Namespace) -> None:
    """Refuse the combinations of ``serve``'s TLS options that cannot work
    (a :class:`UsageError`: one line, exit status 2)."""
    _check_pair(args)
    if args.client_ca and not args.tls_cert:
        raise UsageError("--client-ca needs --tls-cert and --tls-key (it is asked in TLS)")
    if args.require_client_certificate and not args.client_ca:
        raise UsageError("--require-client-certificate needs --client-ca")
    if args.client_certificate and not args.client_user:
        raise UsageError("--client-certificate needs --client-user (the account it logs in to)")


def _read(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror or exc}") from None


def _certificates(path: str, option: str) -> list[x509.Certificate]:
    """The certificates of a PEM file; a :class:`UsageError` naming *option* when it
    cannot be read or holds none."""
    try:
        found = x509.load_pem_x509_certificates(_read(path, option))
    except ValueError:
        found = []
    if not found:
        raise UsageError(f"{option} {path}: not a PEM certificate")
    return found


def _key(path: str, option: str) -> None:
    """Refuse a key file that is not an unencrypted PEM private key (OpenSSL would
    otherwise ask for a passphrase on the terminal)."""
    try:
        load_pem_private_key(_read(path, option), password=None)
    except TypeError:
        raise UsageError(f"{option} {path}: the key is encrypted (give it unencrypted)") from None
    except ValueError:
        raise UsageError(f"{option} {path}: not a PEM private key") from None


def _chain_error(args: argparse.Namespace, exc: Exception) -> UsageError:
    reason = getattr(exc, "reason", None) or str(exc)
    return UsageError(
        f"--tls-key {args.tls_key} is not the key of --tls-cert {args.tls_cert} ({reason})"
    )


def server_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The server TLS context of ``serve`` (``None`` without ``--tls-cert``), made by
    the adapters' ``server_ssl_context``: it asks for a client certificate with
    ``--client-ca``, and insists on one with ``--require-client-certificate``."""
    if not args.tls_cert:
        return None
    # The adapters ship beside dmproto, not inside it: imported when TLS is wanted.
    from dmproto_adapter_base.tls import ClientCertificates, server_ssl_context

    _certificates(args.tls_cert, "--tls-cert")
    _key(args.tls_key, "--tls-key")
    if args.client_ca:
        _certificates(args.client_ca, "--client-ca")
    mode = (
        ClientCertificates.REQUIRED
        if args.require_client_certificate
        else ClientCertificates.OPTIONAL
    )
    try:
        return server_ssl_context(
            args.tls_cert, args.tls_key, client_ca=args.client_ca, client_certificates=mode
        )
    except (ssl.SSLError, OSError) as exc:  # the files exist and hold PEM: the key does not fit
        raise _chain_error(args, exc) from None


def certificate_fingerprint(pem_path: str) -> str:
    """The SHA-256 fingerprint of the (first) certificate in a PEM file, as
    ``PeerCertificate.fingerprint`` gives it for a request that presents it (64
    lowercase hex digits): the adapters' own ``peer_certificate`` computes it."""
    from dmproto_adapter_base.tls import peer_certificate

    cert = _certificates(pem_path, "--client-certificate")[0]
    described = peer_certificate(cert.public_bytes(Encoding.DER))
    assert described is not None  # (DER bytes were given)
    return described.fingerprint


def device_context(args: argparse.Namespace, url: str) -> ssl.SSLContext | None:
    """The client TLS context of ``device`` for the server at *url*: trusting
    ``--tls-ca`` (else the system's CAs), presenting ``--tls-cert``/``--tls-key``;
    ``None`` without those options (an https URL then uses the system's trust)."""
    _check_pair(args)
    if not (args.tls_ca or args.tls_cert):
        return None
    if not url.lower().startswith("https://"):
        raise UsageError(f"--tls-ca and --tls-cert need an https:// server URL, not {url}")
    if args.tls_ca:
        _certificates(args.tls_ca, "--tls-ca")
    context = ssl.create_default_context(cafile=args.tls_ca)
    if args.tls_cert:
        _certificates(args.tls_cert, "--tls-cert")
        _key(args.tls_key, "--tls-key")
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (ssl.SSLError, OSError) as exc:
            raise _chain_error(args, exc) from None
    return context
