"""The abort answering a device's unreadable first message is written in the server's
configured encoding, else in the encoding the message's media type names (the body
may not tell: it did not decode). OMA-TS-DM_Protocol-V1_2_1 "Session Abort": the
abort carries the SyncHdr Status saying why (400) and Alert 1223 with Final.
"""

from __future__ import annotations

import pytest

from dmproto.codec import Encoding, decode_message, detect_encoding
from dmproto.codec.model import Alert, Status
from dmproto.codes import AlertCode
from dmproto.errors import RemoteProtocolError
from dmproto.session import ServerSession
from dmproto.testing import server_config

UNREADABLE = {Encoding.XML: b"<SyncML><SyncHdr>", Encoding.WBXML: b"\x02\xa4\x01\x6a"}


@pytest.mark.parametrize(
    ("configured", "sent", "answered"),
    [
        (None, Encoding.XML, Encoding.XML),
        (None, Encoding.WBXML, Encoding.WBXML),
        (Encoding.WBXML, Encoding.XML, Encoding.WBXML),
        (Encoding.XML, Encoding.WBXML, Encoding.XML),
    ],
)
def test_abort_encoding(configured: Encoding | None, sent: Encoding, answered: Encoding) -> None:
    server = ServerSession(server_config(encoding=configured))
    with pytest.raises(RemoteProtocolError):
        server.receive_message(UNREADABLE[sent], media_type=sent.media_type, now=0.0)
    server.abort()
    (out,) = server.messages_to_send(1.0)
    assert out.media_type == answered.media_type
    assert detect_encoding(out.body) is answered
    message = decode_message(out.body)
    assert message.final
    [hdr] = [c for c in message.commands if isinstance(c, Status)]
    assert (hdr.cmd_ref, hdr.code) == ("0", 400)
    assert [c.code for c in message.commands if isinstance(c, Alert)] == [AlertCode.SESSION_ABORT]
