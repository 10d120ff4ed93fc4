"""Codes reach the wire as plain digits on every supported Python.

``str()`` of an :class:`enum.IntEnum` member is its qualified name on Python 3.10
(``StatusCode.AUTHENTICATION_ACCEPTED``) and its value from 3.11 on; the encoder
must write the number either way (OMA-TS-DM_RepPro-V1_2_1 §4.1.6, Alert
and Status: the code is the Data content).
"""

from __future__ import annotations

from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.model import Alert, Location, Message, Meta, Status, SyncHdr
from dmproto.codes import AlertCode, StatusCode


def _message(*commands: Alert | Status) -> Message:
    header = SyncHdr(
        session_id="1",
        msg_id="1",
        target=Location(loc_uri="http://server.example/dm"),
        source=Location(loc_uri="IMEI:1"),
        meta=Meta(max_msg_size=StatusCode.OK),
    )
    return Message(header=header, commands=commands, final=True)


def test_status_and_alert_codes_are_written_as_digits() -> None:
    message = _message(
        Status(
            cmd_id="1",
            msg_ref="1",
            cmd_ref="0",
            cmd="SyncHdr",
            code=StatusCode.AUTHENTICATION_ACCEPTED,
        ),
        Alert(cmd_id="2", code=AlertCode.CLIENT_INITIATED_MGMT),
    )
    xml = encode_message(message).decode()
    assert "<Data>212</Data>" in xml
    assert "<Data>1201</Data>" in xml
    assert ">200</MaxMsgSize>" in xml
    assert "StatusCode" not in xml and "AlertCode" not in xml


def test_codes_survive_a_wbxml_round_trip() -> None:
    message = _message(
        Status(cmd_id="1", msg_ref="1", cmd_ref="0", cmd="SyncHdr", code=StatusCode.OK),
        Alert(cmd_id="2", code=AlertCode.SERVER_INITIATED_MGMT),
    )
    decoded = decode_message(encode_message(message, Encoding.WBXML))
    status, alert = decoded.commands
    assert isinstance(status, Status) and status.code == 200
    assert isinstance(alert, Alert) and alert.code == 1200
