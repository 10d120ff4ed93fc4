"""Devices authenticated by their TLS client certificate (no SyncHdr Cred).

The adapter hands each request the certificate its TLS layer verified
(``HttpRequest.peer_certificate``); the server session shows it in
``AccountRequested`` and, for an account with a certificate fingerprint
(``Account.certificate``), lets it authenticate the device instead of a Cred
(OMA-TS-DM_Security-V1_2_1 §5.1: transport-layer authentication). These tests run
real client and server sessions through ``ServerEndpoint`` in memory; the TLS
handshakes themselves are in ``tests/adapters/test_client_certificates.py``.
"""

from __future__ import annotations

import json

import pytest
from sessionkit import run_over_endpoint

from dmproto.bindings.server import ServerEndpoint
from dmproto.codec import decode_message
from dmproto.codec.model import Get, Item, Location, Status
from dmproto.errors import InvalidValueError
from dmproto.security import AuthScheme, PeerCertificate, normalize_fingerprint
from dmproto.session import Account, ClientSession, ServerSession
from dmproto.session import events as ev
from dmproto.testing import CLIENT_CREDS, DEVICE_ID, SERVER_URI, client_config, server_config

XML = "application/vnd.syncml.dm+xml"

DEVICE_CERT = PeerCertificate(
    subject=f"CN={DEVICE_ID}",
    issuer="CN=Device CA",
    serial_number=7,
    fingerprint="ab" * 32,
    common_name=DEVICE_ID,
    der=b"\x30\x82",
)
OTHER_CERT = PeerCertificate(
    subject="CN=someone else", issuer="CN=Device CA", serial_number=8, fingerprint="cd" * 32
)


class App:
    """A server application that finds accounts by certificate fingerprint, and by
    name for devices without one; it queues one Get, then ends the session."""

    def __init__(self, accounts: dict[str, Account]):
        self.accounts = accounts
        self.events: list[ev.Event] = []

    def __call__(self, session: ServerSession, event: ev.ServerSessionEvent) -> None:
        self.events.append(event)
        if isinstance(event, ev.AccountRequested):
            key = event.certificate.fingerprint if event.certificate else event.username
            account = self.accounts.get(key)
            if account is None:
                session.reject_device()
            else:
                session.supply_account(account)
        elif isinstance(event, ev.PackageCompleted):
            if event.package == 1:
                target = Location(loc_uri="./DevInfo/Mod")
                session.queue(Get(cmd_id=None, items=(Item(target=target),)))
                session.close_package()
            else:
                session.end_session()

    def of(self, kind: type[ev.Event]) -> list[ev.Event]:
        return [e for e in self.events if isinstance(e, kind)]

    def ended(self) -> ev.SessionEnded:
        (ended,) = self.of(ev.SessionEnded)
        assert isinstance(ended, ev.SessionEnded)
        return ended


def _endpoint(responses: list[bytes] | None = None) -> ServerEndpoint:
    def observe(request: object, response: object, session: object) -> None:
        body = getattr(response, "body", None)
        if responses is not None and body:
            responses.append(body)

    return ServerEndpoint(server_config(), path="/mgmt-server", on_message=observe)


def _device(**changes: object) -> ClientSession:
    """A device that sends no Cred and does not authenticate the server."""
    base: dict[str, object] = {
        "server_uri": f"{SERVER_URI}",
        "credentials": None,
        "auth_scheme": None,
        "server_credentials": None,
    }
    base.update(changes)
    return ClientSession(client_config(**base))


def _hdr_codes(responses: list[bytes]) -> list[int]:
    """The server's SyncHdr Status code in each response."""
    return [
        c.code
        for body in responses
        for c in decode_message(body).commands
        if isinstance(c, Status) and c.cmd_ref == "0"
    ]


def test_a_device_without_cred_is_authenticated_by_its_certificate() -> None:
    # The operator pasted the fingerprint as openssl prints it: colons, upper case.
    pasted = ":".join(["AB"] * 32)
    app = App({DEVICE_CERT.fingerprint: Account(credentials=None, certificate=pasted)})
    responses: list[bytes] = []
    ended = run_over_endpoint(_endpoint(responses), _device(), app, certificates=[DEVICE_CERT])
    assert ended is not None and ended.reason is ev.EndReason.COMPLETED
    (asked,) = app.of(ev.AccountRequested)
    assert isinstance(asked, ev.AccountRequested)
    assert asked.certificate == DEVICE_CERT and asked.scheme is None
    assert app.of(ev.PeerAuthenticated) == [
        ev.PeerAuthenticated(scheme=None, certificate=DEVICE_CERT)
    ]
    assert app.ended().reason is ev.EndReason.COMPLETED
    assert app.of(ev.CommandCompleted)  # the Get went through
    # No challenge: the SyncHdr is answered 200 in every response.
    assert _hdr_codes(responses) and set(_hdr_codes(responses)) == {200}
    # The DER is not in the certificate's repr (nor in logs built from it).
    assert "der" not in repr(DEVICE_CERT) and DEVICE_ID in repr(DEVICE_CERT)


def test_another_certificate_is_refused_outright() -> None:
    app = App(
        {OTHER_CERT.fingerprint: Account(credentials=None, certificate=DEVICE_CERT.fingerprint)}
    )
    responses: list[bytes] = []
    ended = run_over_endpoint(_endpoint(responses), _device(), app, certificates=[OTHER_CERT])
    assert ended is not None and ended.reason is not ev.EndReason.COMPLETED
    assert app.ended().reason is ev.EndReason.AUTHENTICATION_FAILED
    assert not app.of(ev.PeerAuthenticated) and not app.of(ev.DeviceConnected)
    assert app.of(ev.CredentialsRefused) == [
        ev.CredentialsRefused(device_id=DEVICE_ID, username=DEVICE_ID)
    ]
    # 401 without a Chal: no second chance in this session.
    (hdr,) = [
        c
        for c in decode_message(responses[0]).commands
        if isinstance(c, Status) and c.cmd_ref == "0"
    ]
    assert hdr.code == 401 and hdr.chal is None


def test_without_a_certificate_the_account_credentials_decide() -> None:
    # CERT_OPTIONAL: a device that presents no certificate gets the normal challenge.
    account = Account(
        credentials=CLIENT_CREDS, auth_scheme=AuthScheme.MD5, certificate=DEVICE_CERT.fingerprint
    )
    app = App({DEVICE_ID: account})  # no Cred: the device id names it
    responses: list[bytes] = []
    device = _device(credentials=CLIENT_CREDS, auth_scheme=None)  # no Cred in Package 1
    ended = run_over_endpoint(_endpoint(responses), device, app)
    assert ended is not None and ended.reason is ev.EndReason.COMPLETED
    assert _hdr_codes(responses)[0] == 407  # challenged for the missing Cred
    assert app.of(ev.PeerAuthenticated) == [ev.PeerAuthenticated(scheme=AuthScheme.MD5.value)]


def test_no_certificate_and_no_credentials_is_refused() -> None:
    app = App({DEVICE_ID: Account(credentials=None, certificate=DEVICE_CERT.fingerprint)})
    run_over_endpoint(_endpoint(), _device(), app)
    assert app.ended().reason is ev.EndReason.AUTHENTICATION_FAILED
    assert not app.of(ev.DeviceConnected)


def test_a_later_message_with_another_certificate_ends_the_session() -> None:
    # Authenticated by certificate in Package 1; the device's next message comes
    # over a connection with someone else's certificate (a stolen RespURI).
    app = App({DEVICE_CERT.fingerprint: Account(certificate=DEVICE_CERT.fingerprint)})
    run_over_endpoint(_endpoint(), _device(), app, certificates=[DEVICE_CERT, OTHER_CERT])
    assert app.of(ev.DeviceConnected)
    assert app.ended().reason is ev.EndReason.AUTHENTICATION_FAILED
    assert not app.of(ev.CommandCompleted)


def test_a_certificate_on_an_account_without_one_is_ignored() -> None:
    # An account with no fingerprint: the certificate neither helps nor hurts.
    app = App({DEVICE_CERT.fingerprint: Account(credentials=None)})
    run_over_endpoint(_endpoint(), _device(), app, certificates=[DEVICE_CERT])
    assert app.ended().reason is ev.EndReason.COMPLETED
    assert app.of(ev.PeerAuthenticated) == [ev.PeerAuthenticated(scheme=None)]


def test_the_certificate_survives_a_snapshot_while_the_account_is_looked_up() -> None:
    server = ServerSession(server_config())
    device = _device()
    (package1,) = device.messages_to_send(0.0)
    server.receive_message(package1.body, media_type=XML, now=0.0, peer_certificate=DEVICE_CERT)
    snapshot = json.loads(json.dumps(server.snapshot()))
    restored = ServerSession.restore(snapshot, config=server_config())
    asked = restored.next_event()
    assert isinstance(asked, ev.AccountRequested) and asked.certificate == DEVICE_CERT
    assert asked.certificate.der == DEVICE_CERT.der
    restored.supply_account(Account(certificate=DEVICE_CERT.fingerprint))
    assert restored.next_event() == ev.PeerAuthenticated(scheme=None, certificate=DEVICE_CERT)


@pytest.mark.parametrize("bad", ["", "ab" * 31, "zz" * 32, "ab" * 33])
def test_a_fingerprint_is_64_hex_digits(bad: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        Account(certificate=bad)
    assert info.value.reason == "tls.fingerprint"
    assert normalize_fingerprint(" " + ":".join(["Ab"] * 32) + " ") == "ab" * 32
