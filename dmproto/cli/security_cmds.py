"""``dmproto auth ...`` and ``dmproto notification ...``: credentials, x-syncml-hmac
values and Package 0 from the command line (OMA-TS-DM_Security-V1_2_1 §5.1;
OMA-TS-DM_Notification-V1_2_1 §6).

Bad input raises a :class:`~dmproto.errors.DMError`; ``dmproto.cli.main`` turns it
into one line on stderr and exit status 2. Passwords are never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import InvalidValueError, MalformedMessageError
from ..notification import (
    Initiator,
    Notification,
    UIMode,
    build_notification,
    build_wsp_push,
    parse_notification,
    parse_wsp_push,
    session_id_from_text,
    verify_notification,
)
from ..security import (
    Credentials,
    basic_credential,
    build_hmac_header,
    decode_nonce,
    format_hmac_header,
    md5_credential,
)

__all__ = ["register"]


def _choice_name(member: UIMode | Initiator) -> str:
    return member.name.lower().replace("_", "-")


_UI_MODES = {_choice_name(mode): mode for mode in UIMode}
_INITIATORS = {_choice_name(who): who for who in Initiator}


def _read_input(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def _credentials(args: argparse.Namespace) -> Credentials:
    return Credentials(username=args.user, password=args.password)


def _print_line(text: str) -> int:
    print(text)
    return 0


def _auth_basic(args: argparse.Namespace) -> int:
    return _print_line(basic_credential(_credentials(args)))


def _auth_md5(args: argparse.Namespace) -> int:
    return _print_line(md5_credential(_credentials(args), decode_nonce(args.nonce)))


def _auth_hmac(args: argparse.Namespace) -> int:
    body = _read_input(args.body)
    header = build_hmac_header(_credentials(args), decode_nonce(args.nonce), body)
    return _print_line(format_hmac_header(header))


def _session_id(text: str) -> int:
    # The SessionID form (OMA-TS-DM_Notification-V1_2_1 §6.2), optionally written with a 0x prefix.
    return session_id_from_text(text[2:] if text[:2].lower() == "0x" else text)


def _hex_bytes(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidValueError("cli.hex", f"{what} is not hex") from None


def _notification_build(args: argparse.Namespace) -> int:
    pkg0 = build_notification(
        server_id=args.server_id,
        password=args.password,
        nonce=decode_nonce(args.nonce),
        session_id=_session_id(args.session_id),
        ui_mode=_UI_MODES[args.ui_mode],
        initiator=_INITIATORS[args.initiator],
        version=args.version,
        vendor_data=_hex_bytes(args.vendor_data, "--vendor-data"),
    )
    sys.stdout.buffer.write(build_wsp_push(pkg0) if args.wsp else pkg0)
    sys.stdout.buffer.flush()
    return 0


def _describe(notification: Notification) -> dict[str, Any]:
    return {
        "version": notification.version,
        "ui_mode": _choice_name(notification.ui_mode),
        "initiator": _choice_name(notification.initiator),
        "session_id": notification.session_id_text,
        "server_id": notification.server_id,
        "vendor_data": notification.vendor_data.hex(),
        "digest": notification.digest.hex(),
        "reserved": notification.reserved,
    }


def _parse_pkg0(data: bytes, *, wsp_given: bool) -> Notification:
    """Package 0 from ``data``; when that fails on what reads as a WSP push PDU and
    no ``--wsp`` was given, the error says to add it."""
    try:
        return parse_notification(data)
    except MalformedMessageError as exc:
        if wsp_given:
            raise
        try:
            parse_wsp_push(data)
        except MalformedMessageError:
            raise exc from None
        raise MalformedMessageError(
            exc.reason, f"{exc.detail}; the input is a WSP push PDU: add --wsp"
        ) from None


def _notification_parse(args: argparse.Namespace) -> int:
    if (args.password is None) != (args.nonce is None):
        raise InvalidValueError("cli.arguments", "--password and --nonce go together")
    data = _read_input(args.file)
    report: dict[str, Any] = {}
    if args.wsp or args.sms_udh:
        push = parse_wsp_push(data, sms_udh=args.sms_udh)
        report["wsp"] = {
            "transaction_id": push.transaction_id,
            "content_type": push.content_type,
            "application_id": push.application_id,
        }
        data = push.body
    notification = _parse_pkg0(data, wsp_given=bool(args.wsp or args.sms_udh))
    report = {**_describe(notification), **report}
    if args.password is not None:
        used = verify_notification(
            notification, password=args.password, nonce=decode_nonce(args.nonce)
        )
        report["digest_valid"] = used is not None
        report["nonce_used"] = None if used is None else used.value
    print(json.dumps(report))
    return 0


def _add_user_password(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, help="username (LocName / AAuthName)")
    parser.add_argument("--password", required=True, help="password (AAuthSecret)")


def _register_auth(subparsers: argparse._SubParsersAction[Any]) -> None:
    auth = subparsers.add_parser(
        "auth", help="compute DM credentials (OMA-TS-DM_Security-V1_2_1 §5.1)"
    )
    kinds = auth.add_subparsers(dest="auth_kind", metavar="KIND")
    kinds.required = True

    basic = kinds.add_parser("basic", help="syncml:auth-basic Cred Data")
    _add_user_password(basic)
    basic.set_defaults(func=_auth_basic)

    md5 = kinds.add_parser("md5", help="syncml:auth-md5 Cred Data")
    _add_user_password(md5)
    md5.add_argument("--nonce", required=True, help="NextNonce as on the wire (base64)")
    md5.set_defaults(func=_auth_md5)

    mac = kinds.add_parser("hmac", help="x-syncml-hmac header value for a message body")
    _add_user_password(mac)
    mac.add_argument("--nonce", required=True, help="NextNonce as on the wire (base64)")
    mac.add_argument("--body", required=True, metavar="FILE", help="message body file (- = stdin)")
    mac.set_defaults(func=_auth_hmac)


def _register_notification(subparsers: argparse._SubParsersAction[Any]) -> None:
    notif = subparsers.add_parser(
        "notification", help="build or parse Package 0 (OMA-TS-DM_Notification-V1_2_1 §6)"
    )
    actions = notif.add_subparsers(dest="notification_action", metavar="ACTION")
    actions.required = True

    build = actions.add_parser("build", help="write a Package 0 (binary) to stdout")
    build.add_argument("--server-id", required=True, help="the DM server's ServerID")
    build.add_argument("--password", required=True, help="SRVCRED AAuthSecret")
    build.add_argument("--nonce", required=True, help="server nonce (SRVCRED AAuthData), base64")
    build.add_argument("--session-id", required=True, metavar="HEX", help="session id, 1-4 hex")
    build.add_argument("--ui-mode", choices=sorted(_UI_MODES), default="not-specified")
    build.add_argument("--initiator", choices=sorted(_INITIATORS), default="server")
    build.add_argument("--version", type=int, default=11, help="notification version (11)")
    build.add_argument("--vendor-data", default="", metavar="HEX", help="vendor body, hex")
    build.add_argument("--wsp", action="store_true", help="wrap in a WSP Push PDU")
    build.set_defaults(func=_notification_build)

    parse = actions.add_parser("parse", help="print a Package 0 as one JSON object")
    parse.add_argument("file", nargs="?", default="-", metavar="FILE", help="input (- = stdin)")
    parse.add_argument("--wsp", action="store_true", help="input is a WSP Push PDU")
    parse.add_argument(
        "--sms-udh", action="store_true", help="input is a WSP Push behind an SMS user-data header"
    )
    parse.add_argument("--password", help="SRVCRED AAuthSecret, to verify the digest")
    parse.add_argument("--nonce", help="server nonce, base64 (with --password)")
    parse.set_defaults(func=_notification_parse)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``auth`` and ``notification``."""
    _register_auth(subparsers)
    _register_notification(subparsers)
