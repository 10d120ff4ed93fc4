"""x-syncml-hmac header: parse/format per OMA-TS-DM_Security-V1_2_1 §5.1 and hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmproto.errors import InvalidValueError, MalformedMessageError
from dmproto.security import (
    HMAC_HEADER,
    Credentials,
    HmacHeader,
    NonceUsed,
    build_hmac_header,
    format_hmac_header,
    parse_hmac_header,
    verify_mac,
)

SPEC_EXAMPLE = (
    'algorithm=MD5, username="Robert Jordan", mac=NTI2OTJhMDAwNjYxODkwYmQ3NWUxN2RhN2ZmYmJlMzk'
)


def test_header_name() -> None:
    assert HMAC_HEADER == "x-syncml-hmac"


def test_parse_spec_example() -> None:
    assert parse_hmac_header(SPEC_EXAMPLE) == HmacHeader(
        username="Robert Jordan", mac="NTI2OTJhMDAwNjYxODkwYmQ3NWUxN2RhN2ZmYmJlMzk"
    )


def test_format_motorola_form() -> None:
    header = build_hmac_header(
        Credentials(username="Bruce2", password="OhBehave"), b"Nonce", b"<SyncML/>"
    )
    assert format_hmac_header(header) == (
        'algorithm=MD5, username="Bruce2", mac=urdCeS3JUmjFgi8SX3webw=='
    )


@pytest.mark.parametrize(
    "value",
    [
        'mac=urdCeS3JUmjFgi8SX3webw==, username="Bruce2"',
        'USERNAME = "Bruce2" ,MAC= urdCeS3JUmjFgi8SX3webw== , algorithm=md5',
        ',, username=Bruce2,  mac="urdCeS3JUmjFgi8SX3webw==", foo="bar,baz", ',
        'username="Bruce2", realm=x, mac=urdCeS3JUmjFgi8SX3webw==',
    ],
)
def test_parse_lenient_forms(value: str) -> None:
    header = parse_hmac_header(value)
    assert header.username == "Bruce2"
    assert header.mac == "urdCeS3JUmjFgi8SX3webw=="
    assert header.algorithm.upper() == "MD5"
    creds = Credentials(username="Bruce2", password="OhBehave")
    assert verify_mac(header.mac, creds, b"Nonce", b"<SyncML/>") is NonceUsed.STORED


def test_quoted_escapes() -> None:
    header = parse_hmac_header(r'username="a \"quoted\" \\ name", mac=AAAA')
    assert header.username == 'a "quoted" \\ name'
    assert parse_hmac_header(format_hmac_header(header)) == header


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "hmac-header.missing-username"),
        ("mac=AAAA", "hmac-header.missing-username"),
        ('username="x"', "hmac-header.missing-mac"),
        ('username="x", mac=""', "hmac-header.empty-value"),
        ('username="x", mac=', "hmac-header.empty-value"),
        ('username="x, mac=AAAA', "hmac-header.unterminated-quote"),
        ('username="x\\', "hmac-header.unterminated-quote"),
        ('username="x\x01", mac=AAAA', "hmac-header.control-char"),
        ('username="x" mac=AAAA', "hmac-header.syntax"),
        ('username "x", mac=AAAA', "hmac-header.syntax"),
        ("=x, mac=AAAA", "hmac-header.syntax"),
        ('username="x", mac=AAAA, mac=BBBB', "hmac-header.duplicate"),
        ('username="x", mac=AAAA, algorithm=""', "hmac-header.empty-value"),
        ("username=" + "a" * 5000 + ", mac=AAAA", "hmac-header.too-long"),
    ],
)
def test_parse_rejects(value: str, reason: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_hmac_header(value)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "header",
    [
        HmacHeader(username="x", mac="a b"),
        HmacHeader(username="x", mac=""),
        HmacHeader(username="x", mac="AA,A"),
        HmacHeader(username="x\n", mac="AAAA"),
        HmacHeader(username="x", mac="AAAA", algorithm="MD 5"),
    ],
)
def test_format_rejects_unrepresentable(header: HmacHeader) -> None:
    with pytest.raises(InvalidValueError):
        format_hmac_header(header)


_usernames = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"), max_size=30
)
_macs = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=1, max_size=40
)
_algorithms = st.sampled_from(["MD5", "md5", "SHA-256", "x-vendor"])


@given(username=_usernames, mac=_macs, algorithm=_algorithms)
def test_format_parse_round_trip(username: str, mac: str, algorithm: str) -> None:
    header = HmacHeader(username=username, mac=mac, algorithm=algorithm)
    assert parse_hmac_header(format_hmac_header(header)) == header


@given(st.text(max_size=200))
def test_parse_only_raises_malformed(value: str) -> None:
    with contextlib.suppress(MalformedMessageError):
        parse_hmac_header(value)
