"""Security primitives of OMA DM: credentials, nonces, challenges, x-syncml-hmac, bootstrap MAC.

Pure functions and small frozen values; session logic (when to challenge, which
nonce to persist) lives in :mod:`dmproto.session`. See OMA-TS-DM_Security-V1_2_1 §5.1.
"""

from __future__ import annotations

from .auth import (
    AuthScheme,
    Credentials,
    NoncePolicy,
    NonceUsed,
    basic_credential,
    basic_username,
    compute_mac,
    md5_credential,
    nested_digest,
    nonce_candidates,
    user_pass_digest,
    verify_basic,
    verify_mac,
    verify_md5,
)
from .bootstrap import (
    BootstrapContentType,
    SecurityMethod,
    bootstrap_mac,
    format_bootstrap_content_type,
    parse_bootstrap_content_type,
    verify_bootstrap,
)
from .certificate import PeerCertificate, normalize_fingerprint
from .challenge import Challenge
from .hmac_header import (
    HMAC_HEADER,
    HmacHeader,
    build_hmac_header,
    format_hmac_header,
    parse_hmac_header,
)
from .nonce import (
    DEFAULT_NONCE_SIZE,
    RESET_NONCE,
    NonceRole,
    decode_nonce,
    encode_nonce,
    new_nonce,
)

__all__ = [
    "DEFAULT_NONCE_SIZE",
    "HMAC_HEADER",
    "RESET_NONCE",
    "AuthScheme",
    "BootstrapContentType",
    "Challenge",
    "Credentials",
    "HmacHeader",
    "NoncePolicy",
    "NonceRole",
    "NonceUsed",
    "PeerCertificate",
    "SecurityMethod",
    "basic_credential",
    "basic_username",
    "bootstrap_mac",
    "build_hmac_header",
    "compute_mac",
    "decode_nonce",
    "encode_nonce",
    "format_bootstrap_content_type",
    "format_hmac_header",
    "md5_credential",
    "nested_digest",
    "new_nonce",
    "nonce_candidates",
    "normalize_fingerprint",
    "parse_bootstrap_content_type",
    "parse_hmac_header",
    "user_pass_digest",
    "verify_basic",
    "verify_bootstrap",
    "verify_mac",
    "verify_md5",
]
