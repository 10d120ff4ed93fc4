"""Package 0 (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2): vectors, every field, old bugs, hostile
input."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import struct

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmproto.errors import InvalidValueError, MalformedMessageError
from dmproto.limits import Limits
from dmproto.notification import (
    Initiator,
    Notification,
    UIMode,
    build_notification,
    encode_notification,
    parse_notification,
    session_id_from_text,
    session_id_to_text,
    verify_notification,
)
from dmproto.security import RESET_NONCE, NonceUsed

SERVER_ID = "com.mgmtsrv.manage"
SPEC_TRIGGER = bytes.fromhex("02d0000000123412636f6d2e6d676d747372762e6d616e616765")
SPEC_DIGEST = bytes.fromhex("f96b78f5e297d4233e56e9fc0e05ff77")


def _spec_pkg0() -> bytes:
    return build_notification(
        server_id=SERVER_ID,
        password="serverpassword",
        nonce=RESET_NONCE,
        session_id=0x1234,
        ui_mode=UIMode.BACKGROUND,
        initiator=Initiator.CLIENT,
    )


def _reference(sid: bytes, pw: bytes, nonce: bytes, trigger: bytes) -> bytes:
    # OMA-TS-DM_Protocol-V1_2_1 §2.4.4, hashlib-based.
    def h(data: bytes) -> bytes:
        return hashlib.md5(data).digest()

    b64 = base64.b64encode
    return h(b64(h(sid + b":" + pw)) + b":" + nonce + b":" + b64(h(trigger)))


# --- OMA-TS-DM_Notification-V1_2_1 §6.2 Package 0 vectors
# --------------------------------------------------------------------


def test_vector_6_header_bytes() -> None:
    pkg0 = _spec_pkg0()
    assert pkg0[16:24] == bytes.fromhex("02D0000000123412")
    assert pkg0[24:] == SERVER_ID.encode()


def test_vector_7_digest() -> None:
    pkg0 = _spec_pkg0()
    assert pkg0 == SPEC_DIGEST + SPEC_TRIGGER
    assert len(pkg0) == 42
    assert _reference(SERVER_ID.encode(), b"serverpassword", bytes(4), SPEC_TRIGGER) == SPEC_DIGEST


def test_ascii_reset_nonce_is_not_what_we_use() -> None:
    # libdmclient hashes the ASCII text "0x00000000"; that gives a different digest.
    ascii_digest = _reference(SERVER_ID.encode(), b"serverpassword", b"0x00000000", SPEC_TRIGGER)
    assert ascii_digest.hex() == "67dc13c34a06712c19dfb320148faf19"
    assert ascii_digest != SPEC_DIGEST
    forged = ascii_digest + SPEC_TRIGGER
    assert verify_notification(forged, password="serverpassword", nonce=b"other") is None


def test_vector_8_session_id_mapping() -> None:
    assert session_id_to_text(0x1234) == "1234"
    assert session_id_to_text(0x00AB) == "AB"
    assert session_id_to_text(0xFFFF) == "FFFF"
    assert session_id_to_text(1) == "1"
    assert parse_notification(_spec_pkg0()).session_id_text == "1234"
    assert session_id_from_text("ab") == 0xAB
    assert session_id_from_text("00AB") == 0xAB


@pytest.mark.parametrize("text", ["", "12345", "0x12", "+12", " 12", "1_2", "G1", "١٢"])
def test_session_id_from_text_rejects(text: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        session_id_from_text(text)
    assert info.value.reason == "pkg0.session-id"


def test_parse_spec_message_fields() -> None:
    n = parse_notification(SPEC_DIGEST + SPEC_TRIGGER)
    assert n == Notification(
        version=11,
        ui_mode=UIMode.BACKGROUND,
        initiator=Initiator.CLIENT,
        session_id=0x1234,
        server_id=SERVER_ID,
        digest=SPEC_DIGEST,
    )
    assert "f96b78f5e297d4233e56e9fc0e05ff77" in repr(n)


# --- verification ------------------------------------------------------------------------------


def test_verify_stored_then_reset() -> None:
    stored = b"\x01" * 16
    pkg0 = build_notification(server_id="srv", password="pw", nonce=stored, session_id=7)
    assert verify_notification(pkg0, password="pw", nonce=stored) is NonceUsed.STORED
    assert verify_notification(pkg0, password="pw", nonce=b"other") is None
    assert verify_notification(pkg0, password="bad", nonce=stored) is None
    reset = build_notification(server_id="srv", password="pw", nonce=RESET_NONCE, session_id=7)
    assert verify_notification(reset, password="pw", nonce=stored) is NonceUsed.RESET
    assert verify_notification(reset, password="pw", nonce=stored, try_reset=False) is None
    # Verification also works on an already-parsed Notification.
    assert verify_notification(parse_notification(pkg0), password="pw", nonce=stored) is (
        NonceUsed.STORED
    )


def test_verify_b64_text_variant_is_opt_in() -> None:
    stored = b"\x10\x20\x30"
    text_nonce = base64.b64encode(stored)
    pkg0 = build_notification(server_id="srv", password="pw", nonce=text_nonce, session_id=1)
    assert verify_notification(pkg0, password="pw", nonce=stored) is None
    assert verify_notification(pkg0, password="pw", nonce=stored, try_b64_text=True) is (
        NonceUsed.B64_TEXT
    )


def _fails_verification(data: bytes, password: str, nonce: bytes) -> bool:
    try:
        return verify_notification(data, password=password, nonce=nonce) is None
    except MalformedMessageError:
        return True


def test_every_single_bit_flip_fails_verification() -> None:
    pkg0 = build_notification(
        server_id="server.example",
        password="pw",
        nonce=b"N" * 16,
        session_id=0xBEEF,
        vendor_data=b"v",
    )
    for bit in range(len(pkg0) * 8):
        flipped = bytearray(pkg0)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert _fails_verification(bytes(flipped), "pw", b"N" * 16), bit


@given(
    server_id=st.text(min_size=1, max_size=40),
    session_id=st.integers(0, 0xFFFF),
    vendor_data=st.binary(max_size=16),
    nonce=st.binary(max_size=16),
    data=st.data(),
)
def test_any_single_bit_flip_fails_verification(
    server_id: str, session_id: int, vendor_data: bytes, nonce: bytes, data: st.DataObject
) -> None:
    pkg0 = build_notification(
        server_id=server_id,
        password="pw",
        nonce=nonce,
        session_id=session_id,
        vendor_data=vendor_data,
    )
    bit = data.draw(st.integers(0, len(pkg0) * 8 - 1))
    flipped = bytearray(pkg0)
    flipped[bit // 8] ^= 1 << (bit % 8)
    assert _fails_verification(bytes(flipped), "pw", nonce)


# --- old bugs ------------------------------------------------------------------------------------


def test_session_id_is_big_endian_not_byte_swapped() -> None:
    pkg0 = build_notification(server_id="s", password="p", nonce=b"n", session_id=0x1234)
    assert pkg0[21:23] == b"\x12\x34"
    assert parse_notification(pkg0).session_id == 0x1234


def test_long_server_id_round_trips() -> None:
    server_id = "x" * 200
    pkg0 = build_notification(server_id=server_id, password="p", nonce=b"n", session_id=1)
    assert pkg0[23] == 200
    assert parse_notification(pkg0).server_id == server_id
    assert verify_notification(pkg0, password="p", nonce=b"n") is NonceUsed.STORED
    biggest = "é" * 127 + "x"  # 255 UTF-8 octets
    assert (
        parse_notification(
            build_notification(server_id=biggest, password="p", nonce=b"n", session_id=1)
        ).server_id
        == biggest
    )


def test_server_id_length_is_checked_against_input() -> None:
    pkg0 = build_notification(server_id="abcdef", password="p", nonce=b"n", session_id=1)
    with pytest.raises(MalformedMessageError) as info:
        parse_notification(pkg0[:-1])
    assert info.value.reason == "pkg0.truncated"


def test_digest_covers_exactly_the_trigger() -> None:
    # Vendor data is part of the digest; bytes beyond are never invented.
    pkg0 = build_notification(
        server_id="s", password="p", nonce=b"n", session_id=1, vendor_data=b"\x00\xff"
    )
    assert _reference(b"s", b"p", b"n", pkg0[16:]) == pkg0[:16]
    assert verify_notification(pkg0 + b"\x00", password="p", nonce=b"n") is None


# --- fields and ranges -------------------------------------------------------------------------


def test_reserved_bits_tolerated_and_kept() -> None:
    word = (11 << 54) | (1 << 51) | (0x5A5A5A5 << 24) | (0x42 << 8) | 1
    trigger = struct.pack(">Q", word) + b"s"
    digest = _reference(b"s", b"p", b"n", trigger)
    n = parse_notification(digest + trigger)
    assert n.reserved == 0x5A5A5A5
    assert encode_notification(n) == digest + trigger
    assert verify_notification(n, password="p", nonce=b"n") is NonceUsed.STORED
    built = build_notification(server_id="s", password="p", nonce=b"n", session_id=0x42)
    assert parse_notification(built).reserved == 0


def test_version_acceptance_is_configurable() -> None:
    for version in (11, 12):
        pkg0 = build_notification(
            server_id="s", password="p", nonce=b"n", session_id=1, version=version
        )
        assert parse_notification(pkg0).version == version
    v13 = build_notification(server_id="s", password="p", nonce=b"n", session_id=1, version=13)
    with pytest.raises(MalformedMessageError) as info:
        parse_notification(v13)
    assert info.value.reason == "pkg0.version"
    assert parse_notification(v13, accepted_versions=frozenset({13})).version == 13
    # 10-bit field: 1023 is representable.
    top = build_notification(server_id="s", password="p", nonce=b"n", session_id=1, version=1023)
    assert top[16:18] == b"\xff\xc8"  # version bits, ui 0, initiator server


@pytest.mark.parametrize(
    "kwargs",
    [
        {"session_id": -1},
        {"session_id": 0x10000},
        {"version": 1024},
        {"server_id": ""},
        {"server_id": "x" * 256},
        {"server_id": "é" * 128},
        {"ui_mode": 4},
        {"initiator": 2},
    ],
)
def test_build_rejects_out_of_range(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"server_id": "s", "password": "p", "nonce": b"n", "session_id": 1}
    args.update(kwargs)
    with pytest.raises(InvalidValueError):
        build_notification(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "pkg0.truncated"),
        (bytes(23), "pkg0.truncated"),
        (bytes(16) + bytes.fromhex("02c0000000000000"), "pkg0.server-id-length"),
        (bytes(16) + bytes.fromhex("02c0000000000005") + b"abcd", "pkg0.truncated"),
        (bytes(16) + bytes.fromhex("02c0000000000001") + b"\xff", "pkg0.server-id-encoding"),
        (bytes(16) + bytes.fromhex("0000000000000001") + b"s", "pkg0.version"),
    ],
)
def test_parse_rejects(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        parse_notification(data)
    assert info.value.reason == reason
    assert info.value.position is not None


def test_size_limit_checked_first() -> None:
    pkg0 = build_notification(
        server_id="s", password="p", nonce=b"n", session_id=1, vendor_data=b"x" * 100
    )
    with pytest.raises(MalformedMessageError) as info:
        parse_notification(pkg0, limits=Limits(max_message_size=100))
    assert info.value.reason == "limit.message-size"


def test_notification_value_validation() -> None:
    with pytest.raises(InvalidValueError):
        Notification(
            ui_mode=UIMode.BACKGROUND,
            initiator=Initiator.SERVER,
            session_id=1,
            server_id="s",
            digest=b"short",
        )
    n = Notification(ui_mode=1, initiator=1, session_id=1, server_id="s")
    assert n.ui_mode is UIMode.BACKGROUND and n.initiator is Initiator.SERVER


_server_ids = st.text(min_size=1, max_size=255).filter(lambda s: 1 <= len(s.encode()) <= 255)


@given(
    version=st.sampled_from([11, 12]),
    ui_mode=st.sampled_from(UIMode),
    initiator=st.sampled_from(Initiator),
    session_id=st.integers(0, 0xFFFF),
    server_id=_server_ids,
    vendor_data=st.binary(max_size=64),
    password=st.text(max_size=20),
    nonce=st.binary(max_size=20),
)
def test_build_parse_round_trip(
    version: int,
    ui_mode: UIMode,
    initiator: Initiator,
    session_id: int,
    server_id: str,
    vendor_data: bytes,
    password: str,
    nonce: bytes,
) -> None:
    pkg0 = build_notification(
        server_id=server_id,
        password=password,
        nonce=nonce,
        session_id=session_id,
        ui_mode=ui_mode,
        initiator=initiator,
        version=version,
        vendor_data=vendor_data,
    )
    n = parse_notification(pkg0)
    assert attrs.evolve(n, digest=bytes(16)) == Notification(
        version=version,
        ui_mode=ui_mode,
        initiator=initiator,
        session_id=session_id,
        server_id=server_id,
        vendor_data=vendor_data,
    )
    assert encode_notification(n) == pkg0
    assert session_id_from_text(n.session_id_text) == session_id
    assert verify_notification(pkg0, password=password, nonce=nonce) is NonceUsed.STORED


@given(st.binary(max_size=300))
def test_parse_only_raises_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedMessageError):
        verify_notification(data, password="p", nonce=b"n")
