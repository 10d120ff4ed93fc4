"""Mutual TLS with every adapter: devices authenticated by a client certificate.

Certificates are made in the test (``tests/tlskit.py``): a device CA that also
signs the server's certificate, a device certificate, one from another CA and an
expired one. The server context comes from ``server_ssl_context(client_ca=...)``;
the application finds the account by the certificate's SHA-256 fingerprint, which
``AccountRequested.certificate`` carries (see ``docs/adapters.md``,
"Certificate-authenticated devices").
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import attrs
import pytest
from tlskit import Issued, client_context, expired, issue, make_ca

from dmproto.security import AuthScheme
from dmproto.session import Account, ClientSession, ServerConfig, ServerSession
from dmproto.session import events as ev
from dmproto.testing import CLIENT_CREDS, DEVICE_ID, client_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "conformance"))
from _harness import HARNESSES, ClientRun, Harness

dmproto_adapter_base = pytest.importorskip("dmproto_adapter_base")
from dmproto_adapter_base.tls import ClientCertificates, server_ssl_context  # noqa: E402


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    name: str = request.param
    pytest.importorskip(f"dmproto_{name}")
    return HARNESSES[name]()


@attrs.frozen
class Pki:
    ca: Issued
    device: Issued
    other_ca_device: Issued
    expired: Issued
    server_files: tuple[Path, Path]
    ca_file: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    tmp = tmp_path_factory.mktemp("pki")
    ca = make_ca("Device CA")
    ca_file = tmp / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    return Pki(
        ca=ca,
        device=issue(ca, DEVICE_ID),
        other_ca_device=issue(make_ca("Another CA"), DEVICE_ID),
        expired=expired(ca, DEVICE_ID),
        server_files=issue(ca, "localhost", server=True).write(tmp, "server"),
        ca_file=ca_file,
    )


class App:
    """Accounts by certificate fingerprint; devices without a certificate by name."""

    def __init__(self, by_fingerprint: dict[str, Account]):
        self.by_fingerprint = by_fingerprint
        self.events: list[ev.Event] = []
        self._lock = threading.Lock()

    def __call__(self, session: ServerSession, event: ev.ServerSessionEvent) -> None:
        with self._lock:
            self.events.append(event)
        if isinstance(event, ev.AccountRequested):
            if event.certificate is not None:
                account = self.by_fingerprint.get(event.certificate.fingerprint)
            else:
                account = Account(credentials=CLIENT_CREDS, auth_scheme=AuthScheme.MD5)
            if account is None:
                session.reject_device()
            else:
                session.supply_account(account)
        elif isinstance(event, ev.PackageCompleted):
            session.end_session()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def _device(url: str, **changes: Any) -> ClientSession:
    base: dict[str, Any] = {
        "server_uri": url,
        "credentials": None,
        "auth_scheme": None,
        "server_credentials": None,
        "random_bytes": os.urandom,
    }
    base.update(changes)
    return ClientSession(client_config(**base))


def _serve(harness: Harness, app: App, pki: Pki, mode: ClientCertificates) -> Any:
    context = server_ssl_context(*pki.server_files, client_ca=pki.ca_file, client_certificates=mode)
    config = ServerConfig(random_bytes=os.urandom, server_uri="https://dm.example/dm")
    return harness.serving(app, config, ssl_context=context, timeout=5.0)


def _run(
    harness: Harness, session: ClientSession, url: str, ca: Issued, cert: Issued | None
) -> Any:
    (result,) = harness.run_clients(
        [ClientRun(session=session, handler=lambda s, e: None, url=url)],
        ssl_context=client_context(ca, cert),
        timeout=5.0,
    )
    return result


@pytest.mark.parametrize("mode", list(ClientCertificates))
def test_the_device_certificate_identifies_the_account(
    harness: Harness, pki: Pki, mode: ClientCertificates
) -> None:
    app = App({pki.device.fingerprint: Account(certificate=pki.device.fingerprint)})
    with _serve(harness, app, pki, mode) as url:
        ended = _run(harness, _device(url), url, pki.ca, pki.device)
    assert isinstance(ended, ev.SessionEnded) and ended.reason is ev.EndReason.COMPLETED
    (asked,) = app.of(ev.AccountRequested)
    cert = asked.certificate
    assert cert.fingerprint == pki.device.fingerprint
    assert cert.common_name == DEVICE_ID and cert.subject == f"CN={DEVICE_ID}"
    assert cert.issuer == "CN=Device CA"
    assert cert.serial_number == pki.device.cert.serial_number
    assert app.of(ev.PeerAuthenticated) == [ev.PeerAuthenticated(scheme=None, certificate=cert)]
    assert [e.reason for e in app.of(ev.SessionEnded)] == [ev.EndReason.COMPLETED]


@pytest.mark.parametrize("mode", list(ClientCertificates))
@pytest.mark.parametrize("which", ["another CA", "expired"])
def test_an_unverifiable_certificate_fails_the_handshake(
    harness: Harness, pki: Pki, mode: ClientCertificates, which: str
) -> None:
    bad = pki.other_ca_device if which == "another CA" else pki.expired
    app = App({bad.fingerprint: Account(certificate=bad.fingerprint)})
    with _serve(harness, app, pki, mode) as url:
        failed = _run(harness, _device(url), url, pki.ca, bad)
        assert isinstance(failed, Exception), failed
        assert app.events == []  # no request reached the application
        # The server survives it: the real device gets in afterwards.
        app.by_fingerprint[pki.device.fingerprint] = Account(certificate=pki.device.fingerprint)
        ended = _run(harness, _device(url), url, pki.ca, pki.device)
    assert isinstance(ended, ev.SessionEnded) and ended.reason is ev.EndReason.COMPLETED


def test_without_a_certificate_an_optional_server_challenges(harness: Harness, pki: Pki) -> None:
    app = App({})
    with _serve(harness, app, pki, ClientCertificates.OPTIONAL) as url:
        # No Cred in Package 1 and no certificate: the normal 407 challenge follows.
        device = _device(url, credentials=CLIENT_CREDS, auth_scheme=None)
        ended = _run(harness, device, url, pki.ca, None)
    assert isinstance(ended, ev.SessionEnded) and ended.reason is ev.EndReason.COMPLETED
    (asked,) = app.of(ev.AccountRequested)
    assert asked.certificate is None and asked.scheme is None
    assert app.of(ev.PeerAuthenticated) == [ev.PeerAuthenticated(scheme=AuthScheme.MD5.value)]


def test_without_a_certificate_a_requiring_server_refuses(harness: Harness, pki: Pki) -> None:
    app = App({})
    with _serve(harness, app, pki, ClientCertificates.REQUIRED) as url:
        failed = _run(harness, _device(url, credentials=CLIENT_CREDS), url, pki.ca, None)
    assert isinstance(failed, Exception), failed
    assert app.events == []
