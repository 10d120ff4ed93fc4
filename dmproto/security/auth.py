"""Application-layer authentication: schemes, credentials and the DM digest formulas.

Pure functions over :class:`Credentials`; no session logic. The formulas
(OMA-TS-DM_Security-V1_2_1 §5.1, OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2) all share one nested-MD5 construction, computed once in
:func:`nested_digest`::

    H( B64(H(username ":" password)) ":" nonce [ ":" B64(H(body)) ] )

* ``syncml:auth-basic`` Cred Data: ``B64(username ":" password)``;
* ``syncml:auth-md5`` Cred Data: ``B64(nested_digest(user, pass, nonce))``;
* ``syncml:auth-MAC`` (``x-syncml-hmac`` header): ``B64(nested_digest(user, pass, nonce, body))``
  — not RFC 2104 HMAC despite its name;
* Package 0 digest: ``nested_digest(server_id, password, nonce, trigger)`` raw.

Verifiers compare in constant time and report which nonce matched
(:class:`NonceUsed`), so callers can resynchronise nonces (OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-DM_Protocol-V1_2_1 §2.4; OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2). Secrets never appear in
``repr``/``str`` or error text.

Reasons raised: ``auth.unknown-scheme``, ``auth.secret``, ``auth.no-password``.
"""

from __future__ import annotations

import enum
import re

import attrs

from ..errors import InvalidValueError, MalformedMessageError
from ._base64 import b64decode_lenient, b64encode_text
from .hashing import constant_time_equal, md5
from .nonce import RESET_NONCE, encode_nonce

__all__ = [
    "AuthScheme",
    "Credentials",
    "NoncePolicy",
    "NonceUsed",
    "basic_credential",
    "basic_username",
    "compute_mac",
    "md5_credential",
    "nested_digest",
    "nonce_candidates",
    "user_pass_digest",
    "verify_basic",
    "verify_mac",
    "verify_md5",
]


class AuthScheme(enum.Enum):
    """Application-layer auth types DM carries in ``Meta/Type`` (OMA-TS-DM_Security-V1_2_1 §5.1
    table)."""

    BASIC = "syncml:auth-basic"
    MD5 = "syncml:auth-md5"
    HMAC = "syncml:auth-MAC"

    @classmethod
    def from_meta_type(cls, text: str) -> AuthScheme:
        """The scheme named by a Cred/Chal ``Meta/Type`` (case-insensitive, trimmed).

        Raises:
            MalformedMessageError: ``auth.unknown-scheme`` for anything else.
        """
        wanted = text.strip().casefold()
        for scheme in cls:
            if scheme.value.casefold() == wanted:
                return scheme
        raise MalformedMessageError(
            "auth.unknown-scheme", "unsupported authentication type", status_hint=401
        )


#: B64 of an MD5 value: 16 octets, 22 characters and "==" padding.
_DIGEST_TEXT = re.compile(r"[A-Za-z0-9+/]{21}[AQgw]==")
_OPTIONAL_STR = attrs.validators.optional(attrs.validators.instance_of(str))


@attrs.frozen(kw_only=True)
class Credentials:
    """A username and its secret; the secret never shows in ``repr``/``str``.

    The secret is either the ``password`` or, for a verifier that must not keep
    passwords at rest, its ``md5_digest``: ``B64(MD5(username ":" password))``, the
    inner term of every DM digest (OMA-TS-DM_Security-V1_2_1 §5.1). A digest is
    enough to compute and verify ``syncml:auth-md5`` and ``syncml:auth-MAC``, and to
    *verify* ``syncml:auth-basic`` (the received ``username:password`` is hashed and
    compared); only *sending* Basic needs the password itself
    (:func:`basic_credential` raises ``auth.no-password``). The digest is still
    password-equivalent for DM: whoever holds it can authenticate with MD5 or HMAC.
    Exactly one of the two is given.

    Raises:
        InvalidValueError: ``auth.secret`` when neither or both are given.
    """

    username: str = attrs.field(validator=attrs.validators.instance_of(str))
    password: str | None = attrs.field(default=None, repr=False, validator=_OPTIONAL_STR)
    md5_digest: str | None = attrs.field(default=None, repr=False, validator=_OPTIONAL_STR)

    def __attrs_post_init__(self) -> None:
        if (self.password is None) == (self.md5_digest is None):
            raise InvalidValueError("auth.secret", "give exactly one of password, md5_digest")
        if self.md5_digest is not None and not _DIGEST_TEXT.fullmatch(self.md5_digest):
            raise InvalidValueError("auth.secret", "md5_digest is not B64 of 16 octets")

    @classmethod
    def digest_of(cls, username: str, password: str) -> Credentials:
        """Credentials holding only ``B64(MD5(username ":" password))``."""
        return cls(username=username, md5_digest=user_pass_digest(username, password))


def _user_pass(username: str, password: str) -> bytes:
    # OMA-TS-DM_Security-V1_2_1 §5.1: the literal "username:password" octets (UTF-8).
    try:
        return username.encode("utf-8") + b":" + password.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValueError(
            "auth.encoding", "username or password is not encodable as UTF-8"
        ) from None


def user_pass_digest(username: str, password: str) -> str:
    """``B64(MD5(username ":" password))`` (OMA-TS-DM_Security-V1_2_1 §5.1)."""
    return b64encode_text(md5(_user_pass(username, password)))


def _key(creds: Credentials) -> bytes:
    """The inner term ``B64(MD5(username ":" password))`` of *creds*, as ASCII octets."""
    if creds.md5_digest is not None:
        return creds.md5_digest.encode("ascii")
    assert creds.password is not None  # __attrs_post_init__: exactly one secret
    return user_pass_digest(creds.username, creds.password).encode("ascii")


def _password(creds: Credentials) -> str:
    if creds.password is None:
        raise InvalidValueError(
            "auth.no-password", "syncml:auth-basic needs the password, not only its digest"
        )
    return creds.password


class NonceUsed(enum.Enum):
    """Which nonce made a verification succeed."""

    #: The stored (decoded) nonce — the normal case.
    STORED = "stored"
    #: The base64 *text* of the stored nonce, as some devices hash (OMA-TS-DM_Security-V1_2_1 §5.1
    #: caveat).
    B64_TEXT = "b64-text"
    #: The reset nonce 0x00000000 (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2 resynchronisation).
    RESET = "reset"


@attrs.frozen(kw_only=True)
class NoncePolicy:
    """Which nonce variants a verifier tries after the stored nonce fails.

    OMA-TS-DM_Security-V1_2_1 §5.1: the Motorola engine retries with the undecoded base64 text of
    the nonce; OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2: the reset nonce 0x00000000 resynchronises
    after a lost nonce.
    """

    try_b64_text: bool = True
    try_reset: bool = False


_DEFAULT_POLICY = NoncePolicy()


def nonce_candidates(nonce: bytes, policy: NoncePolicy) -> tuple[tuple[NonceUsed, bytes], ...]:
    """The nonces a verifier tries, in order: stored, then the policy's fallbacks."""
    candidates = [(NonceUsed.STORED, nonce)]
    if policy.try_b64_text:
        candidates.append((NonceUsed.B64_TEXT, encode_nonce(nonce).encode("ascii")))
    if policy.try_reset:
        candidates.append((NonceUsed.RESET, RESET_NONCE))
    return tuple(candidates)


def nested_digest(username: str, password: str, nonce: bytes, body: bytes | None = None) -> bytes:
    """``H(B64(H(username:password)):nonce[:B64(H(body))])``, 16 raw octets.

    OMA-TS-DM_Security-V1_2_1 §5.1 (md5 Cred without *body*), OMA-TS-DM_Security-V1_2_1 §5.1 (MAC
    over the message body) and OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2 (Package 0 digest over the
    trigger, username = ServerID).
    """
    return _nested(user_pass_digest(username, password).encode("ascii"), nonce, body)


def _nested(key: bytes, nonce: bytes, body: bytes | None) -> bytes:
    material = key + b":" + nonce
    if body is not None:
        material += b":" + b64encode_text(md5(body)).encode("ascii")
    return md5(material)


def _received_digest(data: str) -> bytes | None:
    """The octets of a received base64 digest, or None when it is not base64."""
    try:
        return b64decode_lenient(data, reason="auth.base64")
    except MalformedMessageError:
        return None


def _match(
    received: str,
    creds: Credentials,
    nonce: bytes,
    body: bytes | None,
    policy: NoncePolicy,
) -> NonceUsed | None:
    got = _received_digest(received)
    if got is None:
        return None
    key = _key(creds)
    for used, candidate in nonce_candidates(nonce, policy):
        expected = _nested(key, candidate, body)
        if constant_time_equal(got, expected):
            return used
    return None


def basic_credential(creds: Credentials) -> str:
    """``syncml:auth-basic`` Cred Data: ``B64(username:password)``
    (OMA-TS-DM_Security-V1_2_1 §5.1)."""
    return b64encode_text(_user_pass(creds.username, _password(creds)))


def basic_username(data: str) -> str | None:
    """The user name inside Basic Cred *data* (``B64(username:password)``,
    OMA-TS-DM_Security-V1_2_1 §5.1): the text before the first ``:``; None when
    *data* is not base64 of UTF-8 text holding a ``:`` (a user name cannot contain
    one, RFC 7617 §2)."""
    raw = _received_digest(data)
    if raw is None or b":" not in raw:
        return None
    try:
        return raw.split(b":", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        return None


def verify_basic(data: str, creds: Credentials) -> bool:
    """Whether Basic Cred *data* carries exactly *creds* (constant-time)."""
    got = _received_digest(data)
    if got is None:
        return False
    if creds.password is None:  # only the digest is kept: hash what came in and compare
        # constant_time_equal over the two B64(MD5(user:pass)) texts; the received
        # user name is inside the hashed octets, so it must match too.
        return constant_time_equal(b64encode_text(md5(got)).encode("ascii"), _key(creds))
    return constant_time_equal(got, _user_pass(creds.username, creds.password))


def md5_credential(creds: Credentials, nonce: bytes) -> str:
    """``syncml:auth-md5`` Cred Data: ``B64(H(B64(H(user:pass)):nonce))``
    (OMA-TS-DM_Security-V1_2_1 §5.1).

    *nonce* is the decoded octet string (see :func:`~dmproto.security.decode_nonce`).
    """
    return b64encode_text(_nested(_key(creds), nonce, None))


def verify_md5(
    data: str, creds: Credentials, nonce: bytes, *, policy: NoncePolicy = _DEFAULT_POLICY
) -> NonceUsed | None:
    """Check md5 Cred *data*; returns the nonce variant that matched, or None."""
    return _match(data, creds, nonce, None, policy)


def compute_mac(creds: Credentials, nonce: bytes, body: bytes) -> str:
    """The ``x-syncml-hmac`` mac over the exact message *body* bytes
    (OMA-TS-DM_Security-V1_2_1 §5.1).

    ``B64(H(B64(H(user:pass)):nonce:B64(H(body))))`` — nested MD5, NOT RFC 2104.
    """
    return b64encode_text(_nested(_key(creds), nonce, body))


def verify_mac(
    mac: str,
    creds: Credentials,
    nonce: bytes,
    body: bytes,
    *,
    policy: NoncePolicy = _DEFAULT_POLICY,
) -> NonceUsed | None:
    """Check a received mac over *body*; returns the nonce variant that matched, or None."""
    return _match(mac, creds, nonce, body, policy)
