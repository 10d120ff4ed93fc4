"""Server-alerted sessions: Package 0 build/parse/verify and its WAP Push framing
(OMA-TS-DM_Notification-V1_2_1 §6)."""

from __future__ import annotations

from .package0 import (
    DEFAULT_ACCEPTED_VERSIONS,
    MAX_SERVER_ID_OCTETS,
    NOTIFICATION_CONTENT_TYPE,
    NOTIFICATION_VERSION,
    Initiator,
    Notification,
    UIMode,
    build_notification,
    encode_notification,
    notification_digest,
    parse_notification,
    session_id_from_text,
    session_id_to_text,
    verify_notification,
)
from .wsp import (
    DM_PUSH_PORT,
    SYNCML_DM_APPLICATION_ID,
    SYNCML_DM_APPLICATION_URI,
    SmsPorts,
    WspHeader,
    WspPush,
    build_wsp_push,
    parse_wsp_push,
)

__all__ = [
    "DEFAULT_ACCEPTED_VERSIONS",
    "DM_PUSH_PORT",
    "MAX_SERVER_ID_OCTETS",
    "NOTIFICATION_CONTENT_TYPE",
    "NOTIFICATION_VERSION",
    "SYNCML_DM_APPLICATION_ID",
    "SYNCML_DM_APPLICATION_URI",
    "Initiator",
    "Notification",
    "SmsPorts",
    "UIMode",
    "WspHeader",
    "WspPush",
    "build_notification",
    "build_wsp_push",
    "encode_notification",
    "notification_digest",
    "parse_notification",
    "parse_wsp_push",
    "session_id_from_text",
    "session_id_to_text",
    "verify_notification",
]
