"""Credentials holding only B64(MD5(user:password)): what a server keeps at rest."""

from __future__ import annotations

import os

import pytest

from dmproto.errors import InvalidValueError
from dmproto.security import (
    AuthScheme,
    Credentials,
    basic_credential,
    compute_mac,
    md5_credential,
    user_pass_digest,
    verify_basic,
    verify_mac,
    verify_md5,
)
from dmproto.session import Account, ClientConfig

PLAIN = Credentials(username="Bruce2", password="OhBehave")
STORED = Credentials.digest_of("Bruce2", "OhBehave")
NONCE = b"Nonce"


def test_digest_is_the_inner_md5_term() -> None:
    # B64(MD5("Bruce2:OhBehave")), the inner term of OMA-TS-DM_Security-V1_2_1 §5.1
    assert user_pass_digest("Bruce2", "OhBehave") == "PtEdr8lBQ45IbT1bZIkrOQ=="
    assert STORED.md5_digest == "PtEdr8lBQ45IbT1bZIkrOQ==" and STORED.password is None
    assert "PtEd" not in repr(STORED)


def test_md5_and_mac_from_the_digest_equal_those_from_the_password() -> None:
    assert md5_credential(STORED, NONCE) == md5_credential(PLAIN, NONCE)
    assert compute_mac(STORED, NONCE, b"<body/>") == compute_mac(PLAIN, NONCE, b"<body/>")
    assert verify_md5(md5_credential(PLAIN, NONCE), STORED, NONCE) is not None
    assert verify_mac(compute_mac(PLAIN, NONCE, b"x"), STORED, NONCE, b"x") is not None
    wrong = Credentials(username="Bruce2", password="OhBehavf")
    assert verify_md5(md5_credential(wrong, NONCE), STORED, NONCE) is None


def test_basic_is_verified_by_hashing_what_came_in() -> None:
    assert verify_basic(basic_credential(PLAIN), STORED)
    for user, password in (("Bruce2", "OhBehavf"), ("Bruce3", "OhBehave"), ("", "")):
        data = basic_credential(Credentials(username=user, password=password))
        assert not verify_basic(data, STORED)
    assert not verify_basic("%%%not base64", STORED)


def test_sending_basic_needs_the_password() -> None:
    with pytest.raises(InvalidValueError) as err:
        basic_credential(STORED)
    assert err.value.reason == "auth.no-password"
    # refused up front, not in the middle of a session
    with pytest.raises(InvalidValueError):
        Account(server_credentials=STORED, server_auth_scheme=AuthScheme.BASIC)
    with pytest.raises(InvalidValueError):
        ClientConfig(
            random_bytes=os.urandom,
            server_uri="s",
            device_id="d",
            dev_info=(),
            credentials=STORED,
            auth_scheme=AuthScheme.BASIC,
        )
    Account(server_credentials=STORED, server_auth_scheme=AuthScheme.MD5)  # fine


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"password": "p", "md5_digest": "PtEdr8lBQ45IbT1bZIkrOQ=="},
        {"md5_digest": "not a digest"},
        {"md5_digest": "PtEdr8lBQ45IbT1bZIkrOQ"},
    ],
)
def test_exactly_one_well_formed_secret(kwargs: dict[str, str]) -> None:
    with pytest.raises(InvalidValueError) as err:
        Credentials(username="u", **kwargs)
    assert err.value.reason == "auth.secret"
