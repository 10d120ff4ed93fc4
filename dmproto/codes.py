"""Status and alert codes used by OMA DM (OMA-TS-DM_RepPro-V1_2_1 §4.2; OMA-TS-SyncML_RepPro-V1_2
status codes).

Both are :class:`enum.IntEnum`, so ``StatusCode.OK == 200``. Decoded messages keep
codes as plain ``int`` (a peer may send a code this table does not list); compare
them with these members.
"""

from __future__ import annotations

import enum

__all__ = ["AlertCode", "StatusCode"]


class StatusCode(enum.IntEnum):
    """SyncML / OMA DM status codes (OMA-TS-DM_RepPro-V1_2_1 §4.1.6; OMA-TS-SyncML_RepPro-V1_2
    status codes)."""

    IN_PROGRESS = 101
    OK = 200  #: success; UI confirm "Yes"; per-message SyncHdr status under HMAC
    ITEM_ADDED = 201
    ACCEPTED_FOR_PROCESSING = 202  #: asynchronous Exec; Generic Alert accepted
    NON_AUTHORITATIVE_RESPONSE = 203
    NO_CONTENT = 204
    RESET_CONTENT = 205
    PARTIAL_CONTENT = 206
    CONFLICT_RESOLVED_WITH_MERGE = 207
    CONFLICT_RESOLVED_CLIENT_WINNING = 208
    CONFLICT_RESOLVED_WITH_DUPLICATE = 209
    DELETE_WITHOUT_ARCHIVE = 210
    ITEM_NOT_DELETED = 211
    AUTHENTICATION_ACCEPTED = 212  #: authenticated for the rest of the session
    CHUNKED_ITEM_ACCEPTED = 213  #: large object chunk buffered
    OPERATION_CANCELLED = 214  #: user cancelled a UI alert
    NOT_EXECUTED = 215  #: skipped (Sequence after cancel, Atomic not reached)
    ATOMIC_ROLLBACK_OK = 216  #: command rolled back after an Atomic failure
    MULTIPLE_CHOICES = 300
    MOVED_PERMANENTLY = 301
    FOUND = 302
    SEE_OTHER_URI = 303
    NOT_MODIFIED = 304  #: UI confirm answered "No"
    USE_PROXY = 305
    BAD_REQUEST = 400
    INVALID_CREDENTIALS = 401
    PAYMENT_REQUIRED = 402
    FORBIDDEN = 403
    NOT_FOUND = 404
    COMMAND_NOT_ALLOWED = 405
    OPTIONAL_FEATURE_NOT_SUPPORTED = 406
    MISSING_CREDENTIALS = 407
    REQUEST_TIMEOUT = 408
    UPDATE_CONFLICT = 409
    GONE = 410
    SIZE_REQUIRED = 411
    INCOMPLETE_COMMAND = 412
    REQUEST_ENTITY_TOO_LARGE = 413
    URI_TOO_LONG = 414
    UNSUPPORTED_MEDIA_TYPE = 415
    REQUESTED_SIZE_TOO_BIG = 416
    RETRY_LATER = 417
    ALREADY_EXISTS = 418
    CONFLICT_RESOLVED_WITH_SERVER_DATA = 419
    DEVICE_FULL = 420
    UNKNOWN_SEARCH_GRAMMAR = 421
    BAD_CGI_SCRIPT = 422
    SOFT_DELETE_CONFLICT = 423
    SIZE_MISMATCH = 424
    PERMISSION_DENIED = 425
    COMMAND_FAILED = 500
    COMMAND_NOT_IMPLEMENTED = 501
    BAD_GATEWAY = 502
    SERVICE_UNAVAILABLE = 503
    GATEWAY_TIMEOUT = 504
    DTD_VERSION_NOT_SUPPORTED = 505
    PROCESSING_ERROR = 506
    ATOMIC_FAILED = 507
    REFRESH_REQUIRED = 508
    RESERVED_509 = 509
    DATA_STORE_FAILURE = 510
    SERVER_FAILURE = 511
    SYNCHRONIZATION_FAILED = 512
    PROTOCOL_VERSION_NOT_SUPPORTED = 513
    OPERATION_CANCELLED_514 = 514
    ATOMIC_ROLLBACK_FAILED = 516
    ATOMIC_RESPONSE_TOO_LARGE = 517


class AlertCode(enum.IntEnum):
    """Alert codes valid in OMA DM (OMA-TS-DM_RepPro-V1_2_1 §4.2)."""

    DISPLAY = 1100  #: UI: show text
    CONFIRM_OR_REJECT = 1101  #: UI: yes (200) / no (304)
    TEXT_INPUT = 1102  #: UI: user types text
    SINGLE_CHOICE = 1103  #: UI: pick one
    MULTIPLE_CHOICE = 1104  #: UI: pick several
    SERVER_INITIATED_MGMT = 1200  #: Package 1 answering a Package 0
    CLIENT_INITIATED_MGMT = 1201  #: Package 1 of a client-initiated session
    NEXT_MESSAGE = 1222  #: multi-message package continuation
    SESSION_ABORT = 1223
    CLIENT_EVENT = 1224
    NO_END_OF_DATA = 1225  #: large object interrupted
    GENERIC_ALERT = 1226

    @property
    def is_user_interaction(self) -> bool:
        """True for the UI alerts 1100–1104 (server to client only)."""
        return 1100 <= self.value <= 1104
