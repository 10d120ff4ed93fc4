"""Which account the server asks the application for (``AccountRequested``).

Regression: a device authenticating with Basic whose user name (inside the base64
``user:password``) differs from its device id, and which sends no SyncHdr Source
LocName, could never log in: the event named no user, so the application could
only look the account up by device id. For Basic the user name is in the
credential itself; MD5 and HMAC carry only a digest, so LocName (or the HMAC
header's username) stays their source.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from dmproto.security import AuthScheme, Credentials
from dmproto.session import Account, ClientSession, OutgoingMessage, ServerSession
from dmproto.session import events as ev
from dmproto.session.events import UsernameSource
from dmproto.testing import Pair, account, client_config, server_config, status_codes, with_body

ALICE = Credentials(username="alice", password="wonderland")
ACCOUNTS = {"alice": ALICE}


def lookup_by_event(scheme: AuthScheme) -> Callable[[Pair, ev.Event], bool]:
    """A server application holding accounts by user name: it looks up the name
    the event gives, and rejects the device when there is no such account."""

    def on_event(pair: Pair, event: ev.Event) -> bool:
        if not isinstance(event, ev.AccountRequested):
            return False
        creds = ACCOUNTS.get(event.username)
        if creds is None:
            pair.server.reject_device()
        else:
            pair.server.supply_account(
                Account(credentials=creds, auth_scheme=scheme, server_credentials=None)
            )
        return True

    return on_event


def device_without_loc_name(scheme: AuthScheme) -> Pair:
    pair = Pair.make(
        client={
            "device_id": "IMEI:1",
            "credentials": ALICE,
            "auth_scheme": scheme,
            "server_credentials": None,
        },
        account=account(credentials=ALICE, auth_scheme=scheme, server_credentials=None),
        on_server_event=lookup_by_event(scheme),
    )
    # A device that writes no Source LocName (the client session always does).
    return rewrite(pair, {b"<LocName>alice</LocName>": b""})


def rewrite(pair: Pair, changes: dict[bytes, bytes], *, first_only: bytes = b"") -> Pair:
    """Apply every (old → new) change to what the device sends; *first_only*
    names a change made in the device's first message only."""

    def tamper(direction: str, msg: OutgoingMessage) -> OutgoingMessage:
        if direction != "c2s":
            return msg
        body = msg.body
        for old, new in changes.items():
            if old != first_only or len(pair.transcript) == 1:
                body = body.replace(old, new)
        return with_body(msg, body)

    pair.tamper = tamper
    return pair


def requested(pair: Pair) -> ev.AccountRequested:
    (asked,) = [e for e in pair.server_events if isinstance(e, ev.AccountRequested)]
    return asked


def test_basic_user_name_comes_from_the_credential() -> None:
    pair = device_without_loc_name(AuthScheme.BASIC).run()
    asked = requested(pair)
    assert (asked.device_id, asked.username) == ("IMEI:1", "alice")
    assert asked.username_source is UsernameSource.CREDENTIAL
    assert asked.scheme == AuthScheme.BASIC.value
    assert status_codes(pair, "s2c", cmd_ref="0")[0] == 212
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_basic_credential_wins_over_a_different_loc_name() -> None:
    # The name that is verified is the one inside the credential.
    pair = device_without_loc_name(AuthScheme.BASIC)
    rewrite(pair, {b"<LocName>alice</LocName>": b"<LocName>mallory</LocName>"}).run()
    asked = requested(pair)
    assert (asked.username, asked.username_source) == ("alice", UsernameSource.CREDENTIAL)
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


@pytest.mark.parametrize("scheme", [AuthScheme.MD5, AuthScheme.HMAC])
def test_digest_schemes_keep_using_loc_name(scheme: AuthScheme) -> None:
    pair = Pair.make(
        client={
            "device_id": "IMEI:1",
            "credentials": ALICE,
            "auth_scheme": scheme,
            "server_credentials": None,
        },
        account=account(credentials=ALICE, auth_scheme=scheme, server_credentials=None),
        on_server_event=lookup_by_event(scheme),
    ).run()
    asked = requested(pair)
    assert (asked.username, asked.username_source) == ("alice", UsernameSource.LOC_NAME)
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_md5_without_loc_name_falls_back_to_the_device_id() -> None:
    # An MD5 digest does not reveal the user name: the device id is all there is,
    # and the event says so.
    pair = device_without_loc_name(AuthScheme.MD5).run()
    asked = requested(pair)
    assert (asked.username, asked.username_source) == ("IMEI:1", UsernameSource.DEVICE_ID)
    # This application has no account called "IMEI:1": the device is rejected.
    assert pair.ended("server").reason is ev.EndReason.REJECTED  # type: ignore[union-attr]


def test_hmac_without_loc_name_uses_the_header_username() -> None:
    # (Removing LocName on the wire breaks the MAC: only the lookup is checked.)
    pair = device_without_loc_name(AuthScheme.HMAC).run()
    asked = requested(pair)
    assert (asked.username, asked.username_source) == ("alice", UsernameSource.HMAC_HEADER)


@pytest.mark.parametrize(
    "data",
    # not base64; "no-colon"; "\xffalice:wonderland" (a user name that is not UTF-8)
    ["not base64!", "bm8tY29sb24=", "/2FsaWNlOndvbmRlcmxhbmQ="],
)
def test_unreadable_basic_credential_falls_back_and_is_challenged(data: str) -> None:
    pair = device_without_loc_name(AuthScheme.BASIC)
    good = b"YWxpY2U6d29uZGVybGFuZA=="  # alice:wonderland
    changes = {b"<LocName>alice</LocName>": b"", good: data.encode()}
    pair.on_server_event = None  # the account is supplied whatever the name
    rewrite(pair, changes, first_only=good).run()
    asked = requested(pair)
    assert (asked.username, asked.username_source) == ("IMEI:1", UsernameSource.DEVICE_ID)
    # Refused (401 + Chal), then the device logs in with its real credential.
    assert status_codes(pair, "s2c", cmd_ref="0")[:2] == [401, 212]


def test_basic_challenge_reports_no_nonce() -> None:
    # A Basic Chal carries no NextNonce (OMA-TS-DM_Security-V1_2_1 §5.1): the server
    # must not report a nonce the device never received (the application would
    # overwrite the device's stored nonce with it).
    pair = Pair.make(
        client={"auth_scheme": None, "server_credentials": None},  # no Cred in Package 1
        account=account(auth_scheme=AuthScheme.BASIC, server_credentials=None),
    ).run()
    assert status_codes(pair, "s2c", cmd_ref="0") == [407, 212]
    assert [e for e in pair.server_events if isinstance(e, ev.NonceChanged)] == []
    assert pair.ended("server").reason is ev.EndReason.COMPLETED  # type: ignore[union-attr]


def test_cred_with_meta_but_no_type_is_basic() -> None:
    # SyncML: a Cred without Meta Type is Basic, also when Meta holds only Format.
    pair = device_without_loc_name(AuthScheme.BASIC)
    typed = b'<Type xmlns="syncml:metinf">syncml:auth-basic</Type>'
    changes = {b"<LocName>alice</LocName>": b"", typed: b""}
    rewrite(pair, changes).run()
    asked = requested(pair)
    assert (asked.username, asked.username_source) == ("alice", UsernameSource.CREDENTIAL)
    assert asked.scheme == AuthScheme.BASIC.value
    assert status_codes(pair, "s2c", cmd_ref="0")[0] == 212


def test_pending_account_request_survives_a_snapshot() -> None:
    # The event (with its UsernameSource) may still be queued when the session is
    # snapshotted, e.g. by an adapter between receiving and handing out events.
    server = ServerSession(server_config())
    client = ClientSession(
        client_config(
            device_id="IMEI:1",
            credentials=ALICE,
            auth_scheme=AuthScheme.BASIC,
            server_credentials=None,
        )
    )
    (package1,) = client.messages_to_send(0.0)
    server.receive_message(package1.body, media_type=package1.media_type, now=0.0)
    snapshot = json.loads(json.dumps(server.snapshot()))
    restored = ServerSession.restore(snapshot, config=server_config())
    asked = restored.next_event()
    assert isinstance(asked, ev.AccountRequested)
    assert (asked.username, asked.username_source) == ("alice", UsernameSource.CREDENTIAL)
