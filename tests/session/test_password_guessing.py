"""Password guessing: failed authentications lock an account name or device id.

``ServerEndpoint`` counts every credential a session refuses (``CredentialsRefused``)
and every device the application rejects, per account name and per device id
(``dmproto.bindings.lockout``). A locked key is refused before any credential is
checked: SyncHdr Status 401 without a Chal, the session ends. Locks end after their
time (doubling per lock up to a cap), a success forgets the key, and the table is
capped. Real client and server sessions run through the endpoint in memory, with
the clock passed in.
"""

from __future__ import annotations

import functools

import attrs
import pytest
from sessionkit import run_over_endpoint

from dmproto.bindings.http import HttpRequest, HttpResponse
from dmproto.bindings.lockout import KeyKind, Lockout, LockoutPolicy
from dmproto.bindings.server import ServerEndpoint
from dmproto.codec import decode_message
from dmproto.codec.model import Status
from dmproto.errors import InvalidValueError
from dmproto.security import AuthScheme, Credentials, PeerCertificate
from dmproto.session import Account, ClientSession, ServerSession
from dmproto.session import events as ev
from dmproto.testing import CLIENT_CREDS, DEVICE_ID, SERVER_URI, client_config, server_config

POLICY = LockoutPolicy(max_failures=3, window=600.0, lockout=60.0, max_lockout=240.0)
OTHER = Credentials(username="Alice", password="Wonderland")
WRONG = Credentials(username=CLIENT_CREDS.username, password="guess")
CERT = PeerCertificate(subject="CN=d", issuer="CN=ca", serial_number=1, fingerprint="ab" * 32)


class App:
    """Two accounts (MD5); unknown names are rejected. Ends after Package 1."""

    def __init__(self) -> None:
        self.accounts = {CLIENT_CREDS.username: CLIENT_CREDS, OTHER.username: OTHER}
        self.events: list[ev.Event] = []

    def __call__(self, session: ServerSession, event: ev.ServerSessionEvent) -> None:
        self.events.append(event)
        if isinstance(event, ev.AccountRequested):
            creds = self.accounts.get(event.username)
            if event.certificate is not None:
                session.supply_account(Account(certificate=CERT.fingerprint))
            elif creds is None:
                session.reject_device()
            else:
                session.supply_account(Account(credentials=creds, auth_scheme=AuthScheme.MD5))
        elif isinstance(event, ev.PackageCompleted):
            session.end_session()

    def take(self) -> list[ev.Event]:
        events, self.events = self.events, []
        return events


class Wire:
    """The endpoint, and the server's responses as they went out."""

    def __init__(self, policy: LockoutPolicy | None = POLICY):
        self.responses: list[bytes] = []
        self.endpoint = ServerEndpoint(
            server_config(), path="/mgmt-server", on_message=self._seen, lockout=policy
        )

    def _seen(self, request: HttpRequest, response: HttpResponse | None, _: object) -> None:
        if response is not None:
            self.responses.append(response.body)

    def attempt(self, app: App, creds: Credentials, now: float, device: str = DEVICE_ID) -> str:
        """One device session with *creds* (MD5 Cred in Package 1, the user named in
        LocName); the server's end reason."""
        client = ClientSession(
            client_config(
                server_uri=SERVER_URI,
                device_id=device,
                credentials=creds,
                server_credentials=None,
                session_id=f"{now:g}",
            )
        )
        run_over_endpoint(self.endpoint, client, app, now=now)
        ended = [e for e in app.take() if isinstance(e, ev.SessionEnded)]
        return ended[-1].reason.value

    def with_certificate(self, app: App, cert: PeerCertificate, now: float) -> str:
        """A device session without Cred over TLS with the client certificate *cert*."""
        client = ClientSession(
            client_config(
                server_uri=SERVER_URI,
                credentials=None,
                auth_scheme=None,
                server_credentials=None,
                session_id=f"c{now:g}",
            )
        )
        run_over_endpoint(self.endpoint, client, app, now=now, certificates=[cert])
        ended = [e for e in app.take() if isinstance(e, ev.SessionEnded)]
        return ended[-1].reason.value

    def last_hdr(self) -> Status:
        (hdr,) = [
            c
            for c in decode_message(self.responses[-1]).commands
            if isinstance(c, Status) and c.cmd_ref == "0"
        ]
        return hdr


def test_wrong_passwords_lock_the_account_for_a_while() -> None:
    wire, app = Wire(), App()
    # The attacker, from its own device id: each session tries until it is cut off.
    assert wire.attempt(app, WRONG, 0.0, device="IMEI:attacker") == "authentication-failed"
    # Now the account is locked: the right password from the real device is refused
    # before it is checked, the application is not even asked for the account.
    assert wire.attempt(app, CLIENT_CREDS, 10.0) == "rejected"
    hdr = wire.last_hdr()
    assert hdr.code == 401 and hdr.chal is None  # no new chance in this session
    asked = [e for e in app.events if isinstance(e, ev.AccountRequested)]
    assert asked == []
    # Another account (another device) is not affected by the attack on this one.
    assert wire.attempt(app, OTHER, 20.0, device="IMEI:alice") == "completed"
    # After the lock time the right password gets in, and the key is forgotten.
    assert wire.attempt(app, CLIENT_CREDS, 61.0) == "completed"
    assert wire.endpoint.lockout is not None
    assert (
        wire.endpoint.lockout.locked_until([(KeyKind.ACCOUNT, CLIENT_CREDS.username)], 61.0) is None
    )


def test_locks_double_up_to_the_cap_and_attempts_while_locked_do_not_count() -> None:
    wire, app = Wire(), App()
    attacker = "IMEI:attacker"
    now = 0.0
    for duration in (60.0, 120.0, 240.0, 240.0):  # backoff, capped at max_lockout
        assert wire.attempt(app, WRONG, now, device=attacker) == "authentication-failed"
        # Hammering during the lock is refused and does not lengthen it.
        for tick in range(5):
            assert wire.attempt(app, WRONG, now + tick, device=attacker) == "rejected"
        assert wire.attempt(app, CLIENT_CREDS, now + duration - 1) == "rejected"
        now += duration
    assert wire.attempt(app, CLIENT_CREDS, now) == "completed"


def test_one_device_guessing_many_account_names_is_locked() -> None:
    wire, app = Wire(), App()
    for n, name in enumerate(["root", "admin", "test"]):
        guess = Credentials(username=name, password="x")
        assert wire.attempt(app, guess, float(n), device="IMEI:scanner") == "rejected"
    # The device id is locked, whatever account it names next.
    assert wire.attempt(app, OTHER, 5.0, device="IMEI:scanner") == "rejected"
    assert not [e for e in app.events if isinstance(e, ev.AccountRequested)]
    assert wire.attempt(app, OTHER, 5.0, device="IMEI:alice") == "completed"


def test_guessing_does_not_lock_out_a_certificate_authenticated_device() -> None:
    wire, app = Wire(), App()
    # The guesser locks the device id and account name of the real device...
    assert wire.attempt(app, WRONG, 0.0) == "authentication-failed"
    assert wire.attempt(app, CLIENT_CREDS, 5.0) == "rejected"
    # ...but the device proving itself with its certificate is throttled by that
    # certificate only, which the guesser does not hold.
    assert wire.with_certificate(app, CERT, 6.0) == "completed"
    # A certificate that keeps failing is locked like a name would be.
    stranger = attrs.evolve(CERT, fingerprint="cd" * 32)
    for n in range(3):
        assert wire.with_certificate(app, stranger, 10.0 + n) == "authentication-failed"
    assert wire.with_certificate(app, stranger, 20.0) == "rejected"


def test_the_failure_table_is_capped() -> None:
    policy = LockoutPolicy(max_failures=3, max_entries=8)
    wire, app = Wire(policy), App()
    for n in range(40):  # a spray of account names from a spray of device ids
        guess = Credentials(username=f"user{n}", password="x")
        wire.attempt(app, guess, float(n), device=f"IMEI:{n}")
        assert wire.endpoint.lockout is not None
        assert len(wire.endpoint.lockout) <= 8


def test_without_lockout_guessing_is_only_bounded_per_session() -> None:
    wire, app = Wire(policy=None), App()
    for n in range(3):
        assert wire.attempt(app, WRONG, float(n)) == "authentication-failed"
    assert wire.attempt(app, CLIENT_CREDS, 3.0) == "completed"
    assert wire.endpoint.lockout is None


# -- the table itself ---------------------------------------------------------------

ACCOUNT = (KeyKind.ACCOUNT, "a")
DEVICE = (KeyKind.DEVICE, "d")


def test_failures_older_than_the_window_are_forgotten() -> None:
    table = Lockout(LockoutPolicy(max_failures=2, window=10.0, lockout=5.0))
    table.failed([ACCOUNT], 0.0)
    table.failed([ACCOUNT], 11.0)  # the first one is out of the window
    assert table.locked_until([ACCOUNT], 11.0) is None
    table.failed([ACCOUNT], 12.0)
    assert table.locked_until([ACCOUNT, DEVICE], 12.0) == 17.0
    # a failure reported while locked (a session already past its lookup) is ignored
    table.failed([ACCOUNT], 13.0)
    assert table.locked_until([ACCOUNT], 13.0) == 17.0
    # after the lock the key counts afresh, and its next lock is twice as long
    assert table.locked_until([ACCOUNT], 17.0) is None
    table.failed([ACCOUNT], 18.0)
    table.failed([ACCOUNT], 19.0)
    assert table.locked_until([ACCOUNT], 19.0) == 29.0
    table.succeeded([ACCOUNT])
    assert len(table) == 0


def test_a_full_table_of_locked_keys_forgets_the_oldest_lock() -> None:
    table = Lockout(LockoutPolicy(max_failures=1, max_entries=2))
    keys = [(KeyKind.DEVICE, str(n)) for n in range(3)]
    for n, key in enumerate(keys):
        table.failed([key], float(n))
    assert len(table) == 2
    assert table.locked_until([keys[0]], 3.0) is None  # evicted
    assert table.locked_until([keys[1]], 3.0) is not None


@pytest.mark.parametrize(
    "field", ["max_failures", "window", "lockout", "max_lockout", "max_entries"]
)
def test_policy_values_must_be_positive(field: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        LockoutPolicy(**{field: 0})
    assert info.value.reason == "lockout.config"


def test_unreadable_messages_count_against_nothing() -> None:
    # A protocol error is not a failed authentication: the table stays empty.
    wire, app = Wire(), App()
    request = HttpRequest(
        method="POST",
        target="/mgmt-server",
        headers=[("Content-Type", "application/vnd.syncml.dm+xml")],
        body=b"<not-syncml/>",
    )
    for n in range(5):
        response = wire.endpoint.handle(request, app, functools.partial(float, n))
        assert response.status == 200  # the DM abort
    assert [e.reason for e in app.events if isinstance(e, ev.SessionEnded)] == [
        ev.EndReason.PROTOCOL_ERROR
    ] * 5
    assert wire.endpoint.lockout is not None and len(wire.endpoint.lockout) == 0
