"""Authentication primitives: OMA-TS-DM_Protocol-V1_2_1 §2.4.4 vectors, nonce handling, challenges,
secrecy."""

from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import json

import pytest
from datapaths import PACKAGE
from hypothesis import given
from hypothesis import strategies as st

from dmproto.codec.model import Chal, Meta
from dmproto.errors import InvalidValueError, MalformedMessageError
from dmproto.security import (
    RESET_NONCE,
    AuthScheme,
    Challenge,
    Credentials,
    NoncePolicy,
    NonceUsed,
    basic_credential,
    compute_mac,
    decode_nonce,
    encode_nonce,
    md5_credential,
    nested_digest,
    new_nonce,
    verify_basic,
    verify_mac,
    verify_md5,
)

BRUCE = Credentials(username="Bruce2", password="OhBehave")
BODY = b"<SyncML/>"


def _ref_md5_b64(data: bytes) -> bytes:
    # Independent reference (hashlib), as in the OMA-TS-DM_Protocol-V1_2_1 §2.4.4.
    return base64.b64encode(hashlib.md5(data).digest())


# --- OMA-TS-DM_Protocol-V1_2_1 §2.4.4 vectors
# -------------------------------------------------------------------


def test_vector_1_basic_credential() -> None:
    assert basic_credential(BRUCE) == "QnJ1Y2UyOk9oQmVoYXZl"


def test_vector_2_b64_h_user_pass() -> None:
    assert _ref_md5_b64(b"Bruce2:OhBehave") == b"PtEdr8lBQ45IbT1bZIkrOQ=="
    # nested_digest with nonce builds on exactly that key.
    expected = hashlib.md5(b"PtEdr8lBQ45IbT1bZIkrOQ==:Nonce").digest()
    assert nested_digest("Bruce2", "OhBehave", b"Nonce") == expected


def test_vector_3_md5_credential() -> None:
    assert md5_credential(BRUCE, b"Nonce") == "Zz6EivR3yeaaENcRN6lpAQ=="
    assert verify_md5("Zz6EivR3yeaaENcRN6lpAQ==", BRUCE, b"Nonce") is NonceUsed.STORED


def test_vector_4_next_nonce_examples() -> None:
    assert decode_nonce("LG3iZQhhdmKNHg==") == bytes.fromhex("2c6de265086176628d1e")
    assert decode_nonce("ZG9iZWhhdmUNCg==") == b"dobehave\r\n"


def test_vector_5_mac() -> None:
    assert _ref_md5_b64(BODY) == b"p7fHQr43AfxW0tZLC6QiAA=="
    assert compute_mac(BRUCE, b"Nonce", BODY) == "urdCeS3JUmjFgi8SX3webw=="
    assert verify_mac("urdCeS3JUmjFgi8SX3webw==", BRUCE, b"Nonce", BODY) is NonceUsed.STORED


def test_mac_is_not_rfc2104_hmac() -> None:
    import hmac

    key = _ref_md5_b64(b"Bruce2:OhBehave")
    real_hmac = base64.b64encode(hmac.new(key, b"Nonce:" + BODY, "md5").digest()).decode()
    assert compute_mac(BRUCE, b"Nonce", BODY) != real_hmac


# --- verification ------------------------------------------------------------------------


def test_verify_rejects_wrong_password_nonce_body() -> None:
    other = Credentials(username="Bruce2", password="OhBehave!")
    cred = md5_credential(BRUCE, b"Nonce")
    assert verify_md5(cred, other, b"Nonce") is None
    assert verify_md5(cred, BRUCE, b"Nonce2") is None
    mac = compute_mac(BRUCE, b"Nonce", BODY)
    assert verify_mac(mac, BRUCE, b"Nonce", BODY + b" ") is None
    assert verify_mac(mac, other, b"Nonce", BODY) is None


def test_verify_garbage_is_false_not_an_exception() -> None:
    assert verify_md5("***not base64***", BRUCE, b"Nonce") is None
    assert verify_mac("", BRUCE, b"Nonce", BODY) is None
    assert verify_basic("%%%", BRUCE) is False
    assert verify_basic("QnJ1Y2UyOk9oQmVoYXZl", BRUCE) is True
    assert verify_basic("QnJ1Y2UyOk9oQmVoYXZm", BRUCE) is False


def test_verify_md5_b64_text_fallback_reports_variant() -> None:
    # OMA-TS-DM_Security-V1_2_1 §5.1 caveat: some devices hash the base64 text of the nonce.
    nonce = bytes.fromhex("2c6de265086176628d1e")
    cred = md5_credential(BRUCE, encode_nonce(nonce).encode())
    assert verify_md5(cred, BRUCE, nonce) is NonceUsed.B64_TEXT
    strict = NoncePolicy(try_b64_text=False)
    assert verify_md5(cred, BRUCE, nonce, policy=strict) is None


def test_verify_reset_nonce_only_when_policy_allows() -> None:
    cred = md5_credential(BRUCE, RESET_NONCE)
    assert verify_md5(cred, BRUCE, b"stored") is None
    assert verify_md5(cred, BRUCE, b"stored", policy=NoncePolicy(try_reset=True)) is (
        NonceUsed.RESET
    )
    # The stored nonce wins when it is itself the reset nonce.
    assert verify_md5(cred, BRUCE, RESET_NONCE, policy=NoncePolicy(try_reset=True)) is (
        NonceUsed.STORED
    )


@given(
    user=st.text(max_size=20),
    password=st.text(max_size=20),
    nonce=st.binary(max_size=32),
    body=st.binary(max_size=64),
)
def test_credentials_round_trip(user: str, password: str, nonce: bytes, body: bytes) -> None:
    creds = Credentials(username=user, password=password)
    assert verify_basic(basic_credential(creds), creds)
    assert verify_md5(md5_credential(creds, nonce), creds, nonce) is NonceUsed.STORED
    assert verify_mac(compute_mac(creds, nonce, body), creds, nonce, body) is NonceUsed.STORED
    expected = _ref_md5_b64(
        _ref_md5_b64(f"{user}:{password}".encode()) + b":" + nonce + b":" + _ref_md5_b64(body)
    )
    assert compute_mac(creds, nonce, body) == expected.decode()


def test_unencodable_password_is_invalid_value() -> None:
    with pytest.raises(InvalidValueError):
        md5_credential(Credentials(username="u", password="\ud800"), b"n")


# --- schemes and challenges ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scheme"),
    [
        ("syncml:auth-basic", AuthScheme.BASIC),
        ("SYNCML:AUTH-MD5", AuthScheme.MD5),
        (" syncml:auth-mac ", AuthScheme.HMAC),
    ],
)
def test_scheme_from_meta_type(text: str, scheme: AuthScheme) -> None:
    assert AuthScheme.from_meta_type(text) is scheme


def test_unknown_scheme() -> None:
    with pytest.raises(MalformedMessageError) as info:
        AuthScheme.from_meta_type("syncml:auth-X509")
    assert info.value.reason == "auth.unknown-scheme"


def test_challenge_to_chal_and_back() -> None:
    chal = Challenge(scheme=AuthScheme.MD5, next_nonce=b"\x2c\x6d\xe2e\x08avb\x8d\x1e").to_chal()
    assert chal.meta.type == "syncml:auth-md5"
    assert chal.meta.format == "b64"
    assert chal.meta.next_nonce == "LG3iZQhhdmKNHg=="
    assert Challenge.from_chal(chal) == Challenge(
        scheme=AuthScheme.MD5, next_nonce=b"\x2c\x6d\xe2e\x08avb\x8d\x1e"
    )
    basic = Challenge(scheme=AuthScheme.BASIC).to_chal()
    assert basic.meta.next_nonce is None
    assert Challenge.from_chal(basic) == Challenge(scheme=AuthScheme.BASIC)


def test_challenge_from_chal_lenient_and_strict() -> None:
    # Missing Format is fine; whitespace and missing padding too.
    lenient = Chal(meta=Meta(type="syncml:auth-MAC", next_nonce=" LG3iZQhh\ndmKNHg"))
    assert Challenge.from_chal(lenient).next_nonce == decode_nonce("LG3iZQhhdmKNHg==")
    with pytest.raises(MalformedMessageError) as info:
        Challenge.from_chal(Chal(meta=Meta(type="syncml:auth-md5", next_nonce="@@@")))
    assert info.value.reason == "nonce.base64"
    with pytest.raises(MalformedMessageError) as info:
        Challenge.from_chal(Chal(meta=Meta(next_nonce="AAAA")))
    assert info.value.reason == "chal.missing-type"


# --- nonces -------------------------------------------------------------------------------------


@given(st.binary(max_size=64))
def test_nonce_round_trip(nonce: bytes) -> None:
    text = encode_nonce(nonce)
    assert decode_nonce(text) == nonce
    assert decode_nonce(text.rstrip("=")) == nonce
    assert decode_nonce("\r\n".join(text[i : i + 4] for i in range(0, len(text), 4))) == nonce


@pytest.mark.parametrize("text", ["A", "AAAAA", "AB=C", "A===", "é", "AA-_", "+AA=A"])
def test_decode_nonce_rejects(text: str) -> None:
    with pytest.raises(MalformedMessageError) as info:
        decode_nonce(text)
    assert info.value.reason == "nonce.base64"


@given(st.text(max_size=40))
def test_decode_nonce_only_raises_malformed(text: str) -> None:
    with contextlib.suppress(MalformedMessageError):
        decode_nonce(text)


def test_new_nonce_uses_injected_source() -> None:
    calls: list[int] = []

    def source(n: int) -> bytes:
        calls.append(n)
        return bytes(range(n))

    assert new_nonce(source) == bytes(range(16))
    assert new_nonce(source, 4) == b"\x00\x01\x02\x03"
    assert calls == [16, 4]
    with pytest.raises(InvalidValueError):
        new_nonce(lambda n: b"short")
    with pytest.raises(InvalidValueError):
        new_nonce(source, 0)


def test_reset_nonce_is_four_zero_octets() -> None:
    assert bytes(4) == RESET_NONCE
    assert encode_nonce(RESET_NONCE) == "AAAAAA=="


# --- secrecy -----------------------------------------------------------------------------------


def test_password_never_in_repr_str_or_dumps() -> None:
    creds = Credentials(username="alice", password="s3cr3t-pw")
    key = _ref_md5_b64(b"alice:s3cr3t-pw").decode()
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), json.dumps(repr(creds))):
        assert "s3cr3t-pw" not in text
        assert key not in text
    assert "alice" in repr(creds)


def test_secret_not_in_error_text() -> None:
    with pytest.raises(InvalidValueError) as info:
        md5_credential(Credentials(username="u", password="pw\ud800secret"), b"n")
    assert "secret" not in str(info.value)
    assert "pw" not in str(info.value)


def test_hashing_is_confined_to_one_module() -> None:
    # OMA-TS-DM_Security-V1_2_1 §5.1 / task: every digest goes through dmproto/security/hashing.py.
    root = PACKAGE
    offenders = []
    for path in [
        *root.joinpath("security").rglob("*.py"),
        *root.joinpath("notification").rglob("*.py"),
    ]:
        if path.name == "hashing.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {name}"
                for name in names
                if name.split(".")[0] in {"hashlib", "hmac", "cryptography"}
            ]
    assert offenders == []


def test_challenge_nonce_formats() -> None:
    chr_chal = Chal(meta=Meta(type="syncml:auth-md5", format="chr", next_nonce="plain"))
    assert Challenge.from_chal(chr_chal).next_nonce == b"plain"
    odd = Chal(meta=Meta(type="syncml:auth-md5", format="hex", next_nonce="00"))
    with pytest.raises(MalformedMessageError) as info:
        Challenge.from_chal(odd)
    assert info.value.reason == "chal.nonce-format"
