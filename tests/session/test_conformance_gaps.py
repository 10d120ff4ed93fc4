"""Two catalogue rules (docs/conformance.md) no other test pinned down.

* LO-07 — a first chunk without Meta Size cannot be reassembled and checked, so it is
  refused with 411 (OMA-TS-DM_Protocol-V1_2_1 §2.2) and never handed to the application.
* TOL-13 — the example sessions of OMA-TS-DM_Protocol-V1_2_1 §2.6.2 leave MsgRef out;
  Results without it refer to the server's last message.
"""

from __future__ import annotations

from sessionkit import wire_msg

from dmproto.codec import decode_message
from dmproto.codec.model import Get, Item, Location, Status
from dmproto.session import ClientSession, ServerSession
from dmproto.session import events as ev
from dmproto.session.config import Account
from dmproto.testing import client_config, server_config

XML = "application/vnd.syncml.dm+xml"


def _drain(session: ClientSession | ServerSession) -> list[ev.Event]:
    events = []
    while (event := session.next_event()) is not None:
        events.append(event)
    return events


def test_a_first_chunk_without_size_is_refused_411() -> None:
    client = ClientSession(client_config(server_credentials=None))
    client.messages_to_send(0.0)
    chunk = (
        "<Replace><CmdID>2</CmdID><Item><Target><LocURI>./a</LocURI></Target>"
        "<Data>first part</Data><MoreData/></Item></Replace>"
    )
    client.receive_message(wire_msg(chunk, final=False), media_type=XML, now=1.0)
    assert not [e for e in _drain(client) if isinstance(e, ev.CommandReceived)]
    (out,) = client.messages_to_send(2.0)
    codes = {
        (s.cmd_ref, s.cmd): s.code
        for s in decode_message(out.body).commands
        if isinstance(s, Status)
    }
    assert codes[("2", "Replace")] == 411


PACKAGE1 = (
    "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>"
    "<Replace><CmdID>2</CmdID><Item><Source><LocURI>./DevInfo/DevId</LocURI></Source>"
    "<Data>IMEI:1</Data></Item></Replace>"
)


def test_results_without_msg_ref_answer_the_last_message() -> None:
    server = ServerSession(server_config())
    server.receive_message(
        wire_msg(PACKAGE1, to_server=True, hdr_code=None), media_type=XML, now=0.0
    )
    _drain(server)
    server.supply_account(Account())  # no application-layer authentication
    _drain(server)
    get = server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),)))
    server.close_package()
    (pkg2,) = server.messages_to_send(1.0)
    (sent,) = [c for c in decode_message(pkg2.body).commands if isinstance(c, Get)]
    answer = (
        f"<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>{sent.cmd_id}</CmdRef><Cmd>Get</Cmd>"
        "<Data>200</Data></Status>"
        f"<Results><CmdID>3</CmdID><CmdRef>{sent.cmd_id}</CmdRef><Item><Source>"
        "<LocURI>./a</LocURI></Source><Data>value</Data></Item></Results>"
    )
    server.receive_message(
        wire_msg(answer, 2, to_server=True, hdr_code=200), media_type=XML, now=2.0
    )
    done = {e.handle: e.outcome for e in _drain(server) if isinstance(e, ev.CommandCompleted)}
    assert done[get].code == 200
    assert [item.data for item in done[get].results] == ["value"]
