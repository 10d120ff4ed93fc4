"""The only place dmproto hashes anything: MD5, SHA-1, HMAC-SHA1 and constant-time equality.

Why MD5 in 2020s code? OMA DM 1.2/1.3 fixes it on the wire, and there is no way to
negotiate anything else:

* ``syncml:auth-md5`` credentials are ``B64(H(B64(H(user:pass)):nonce))`` with
  H = MD5 (OMA-TS-DM_Security-V1_2_1 §5.1, OMA-TS-DM_Protocol-V1_2_1 §2.4.4.2);
* the ``x-syncml-hmac`` integrity header is the same nested-MD5 construction over the
  message body (OMA-TS-DM_Security-V1_2_1 §5.1);
* the Package 0 notification digest is 16 raw MD5 octets (OMA-TS-DM_Notification-V1_2_1 §6.1, §6.2).

Devices in the field implement exactly these formulas, so an interoperable
implementation must too. MD5 is used here as the protocol's keyed-digest primitive,
never as a general-purpose hash, and every comparison of a received digest goes
through :func:`constant_time_equal`. DM 1.3 security additions (SHA-256 variants)
are UNCONFIRMED (OMA-TS-DM_Protocol-V1_3); keeping every primitive behind this module keeps the
hash pluggable.

Bootstrap MACs use real HMAC (RFC 2104) with SHA-1 (OMA-TS-DM_Bootstrap-V1_2_1 §3.1).

All primitives come from ``cryptography``.
"""

from __future__ import annotations

import hmac as _stdlib_hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

__all__ = ["MD5_SIZE", "constant_time_equal", "hmac_sha1", "md5"]

#: Size of an MD5 digest in octets (Package 0 digest field, OMA-TS-DM_Notification-V1_2_1 §6.2).
MD5_SIZE = 16


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


def md5(data: bytes) -> bytes:
    """The 16 raw octets of MD5(data) — the protocol's ``H`` (OMA-TS-DM_Security-V1_2_1 §5.1
    notation)."""
    return _digest(hashes.MD5(), data)  # noqa: S303 - mandated by the protocol, see above


def hmac_sha1(key: bytes, data: bytes) -> bytes:
    """RFC 2104 HMAC-SHA1(key, data), 20 raw octets (bootstrap MAC,
    OMA-TS-DM_Bootstrap-V1_2_1 §3.1)."""
    # mandated (OMA-TS-DM_Bootstrap-V1_2_1 §3.1)
    mac = crypto_hmac.HMAC(key, hashes.SHA1())  # noqa: S303
    mac.update(data)
    return mac.finalize()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two byte strings without leaking where they differ
    (CONTRIBUTING.md#limits-before-work)."""
    return _stdlib_hmac.compare_digest(a, b)
