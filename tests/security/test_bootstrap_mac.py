"""Bootstrap MAC (OMA-TS-DM_Bootstrap-V1_2_1 §3.1): HMAC-SHA1 over the WBXML document, lowercase
hex."""

from __future__ import annotations

import contextlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmproto.errors import InvalidValueError, MalformedMessageError
from dmproto.security import (
    BootstrapContentType,
    SecurityMethod,
    bootstrap_mac,
    format_bootstrap_content_type,
    parse_bootstrap_content_type,
    verify_bootstrap,
)

DOC = b"\x02\xa4\x01\x6a\x00\x6d\x6c\x01\x01"  # a tiny WBXML SyncML skeleton


def test_rfc2202_vector_via_userpin() -> None:
    # RFC 2202 test case 2: key "Jefe".
    mac = bootstrap_mac(b"what do ya want for nothing?", method=SecurityMethod.USERPIN, pin="Jefe")
    assert mac == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"


@pytest.mark.parametrize(
    ("method", "network_id", "pin", "key"),
    [
        (SecurityMethod.NETWORKID, "001010123456789", None, b"001010123456789"),
        (SecurityMethod.NETWORKID, b"\x09\x10\x10", None, b"\x09\x10\x10"),
        (SecurityMethod.USERPIN, None, "1234", b"1234"),
        (SecurityMethod.USERPIN_NETWORKID, "secret", "1234", b"1234:secret"),
    ],
)
def test_keys_per_method(
    method: SecurityMethod, network_id: str | bytes | None, pin: str | None, key: bytes
) -> None:
    expected = hmac.new(key, DOC, "sha1").hexdigest()
    assert bootstrap_mac(DOC, method=method, network_id=network_id, pin=pin) == expected
    ct = format_bootstrap_content_type(expected, method)
    assert verify_bootstrap(DOC, ct, network_id=network_id, pin=pin)
    assert not verify_bootstrap(DOC + b"\x00", ct, network_id=network_id, pin=pin)


def test_missing_key_material() -> None:
    with pytest.raises(InvalidValueError):
        bootstrap_mac(DOC, method=SecurityMethod.USERPIN)
    with pytest.raises(InvalidValueError):
        bootstrap_mac(DOC, method=SecurityMethod.NETWORKID, pin="1234")
    with pytest.raises(InvalidValueError):
        bootstrap_mac(DOC, method=SecurityMethod.USERPIN_NETWORKID, pin="1234")
    mac = bootstrap_mac(DOC, method=SecurityMethod.USERPIN, pin="1")
    ct = format_bootstrap_content_type(mac, SecurityMethod.USERPIN)
    assert not verify_bootstrap(DOC, ct, network_id="1")


def test_parse_content_type() -> None:
    mac = "A" * 40
    parsed = parse_bootstrap_content_type(
        f'Application/Vnd.SyncML.DM+WBXML ; sec="userpin"; Mac={mac}; charset=x'
    )
    assert parsed == BootstrapContentType(
        "application/vnd.syncml.dm+wbxml", SecurityMethod.USERPIN, "a" * 40
    )
    media, method, got_mac = parse_bootstrap_content_type("application/vnd.syncml.dm+wbxml")
    assert (media, method, got_mac) == ("application/vnd.syncml.dm+wbxml", None, None)


@pytest.mark.parametrize(
    ("sec", "method"),
    [
        ("NETWPIN", SecurityMethod.NETWORKID),
        ("0", SecurityMethod.NETWORKID),
        ("1", SecurityMethod.USERPIN),
        ("usernetwpin", SecurityMethod.USERPIN_NETWORKID),
        ("2", SecurityMethod.USERPIN_NETWORKID),
    ],
)
def test_wap_provisioning_sec_names_are_read_as_the_dm_methods(
    sec: str, method: SecurityMethod
) -> None:
    # TOL-14: the SEC names and numbers of OMA-WAP-TS-ProvBoot-V1_1 §5.2, which devices
    # that also take WAP provisioning bootstraps accept, name the same keys.
    mac = bootstrap_mac(DOC, method=method, network_id="001010123456789", pin="1234")
    content_type = f"application/vnd.syncml.dm+wbxml; SEC={sec}; MAC={mac}"
    assert parse_bootstrap_content_type(content_type).method is method
    assert verify_bootstrap(DOC, content_type, network_id="001010123456789", pin="1234")
    assert not verify_bootstrap(DOC, content_type, network_id="001010123456780", pin="4321")


def test_uppercase_hex_mac_verifies() -> None:
    mac = bootstrap_mac(DOC, method=SecurityMethod.USERPIN, pin="0000")
    ct = format_bootstrap_content_type(mac.upper(), SecurityMethod.USERPIN)
    assert verify_bootstrap(DOC, ct, pin="0000")
    assert not verify_bootstrap(DOC, "application/vnd.syncml.dm+wbxml", pin="0000")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not a type", "bootstrap.content-type"),
        ("a/b; SEC", "bootstrap.content-type"),
        ("a/b; SEC=FOO", "bootstrap.unknown-sec"),
        ("a/b; SEC=USERPINMAC", "bootstrap.unknown-sec"),
        ("a/b; SEC=3", "bootstrap.unknown-sec"),
        ("a/b; MAC=abc", "bootstrap.mac"),
        ("a/b; MAC=" + "g" * 40, "bootstrap.mac"),
        ("a/b; SEC=USERPIN; sec=USERPIN", "bootstrap.duplicate-param"),
        ("a/b; x=" + "y" * 2000, "bootstrap.content-type"),
    ],
)
def test_parse_rejects(value: str, reason: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_bootstrap_content_type(value)
    assert info.value.reason == reason


@given(st.text(max_size=120))
def test_parse_only_raises_malformed(value: str) -> None:
    with contextlib.suppress(MalformedMessageError):
        parse_bootstrap_content_type(value)
