"""Replays: the OMA-TS-DM_Protocol-V1_2_1 §2.6.2 example session (both roles), real Windows 10
Package 1 messages and AOSP conformance-server packages fed to the sessions."""

from __future__ import annotations

import pytest
from datapaths import CORPUS

from dmproto.codec import decode_message
from dmproto.codec.model import Alert, Get, Item, Location, Meta, Replace, Results, Status
from dmproto.codes import AlertCode
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme, Credentials
from dmproto.session import Account, ClientSession, ServerSession, SessionState
from dmproto.session import events as ev
from dmproto.session.ui import ui_alert
from dmproto.testing import DEVICE_ID, SERVER_URI, client_config, server_config

XML = "application/vnd.syncml.dm+xml"
BRUCE = Credentials(username="Bruce2", password="OhBehave")
SERVER = Credentials(username="mgmt-server", password="server-secret")


def hdr(msg_id: int, *, to_server: bool, cred: str = "", extra: str = "") -> str:
    target, source = (SERVER_URI, DEVICE_ID) if to_server else (DEVICE_ID, SERVER_URI)
    return (
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>'
        f"<SessionID>1</SessionID><MsgID>{msg_id}</MsgID><Target><LocURI>{target}</LocURI></Target>"
        f"<Source><LocURI>{source}</LocURI></Source>{cred}{extra}</SyncHdr><SyncBody>"
    )


BASIC_BRUCE = (
    '<Cred><Meta><Type xmlns="syncml:metinf">syncml:auth-basic</Type>'
    '<Format xmlns="syncml:metinf">b64</Format></Meta><Data>QnJ1Y2UyOk9oQmVoYXZl</Data></Cred>'
)
# B64("mgmt-server:server-secret")
BASIC_SERVER = (
    '<Cred><Meta><Type xmlns="syncml:metinf">syncml:auth-basic</Type>'
    '<Format xmlns="syncml:metinf">b64</Format></Meta>'
    "<Data>bWdtdC1zZXJ2ZXI6c2VydmVyLXNlY3JldA==</Data></Cred>"
)
MAXMSG = '<Meta><MaxMsgSize xmlns="syncml:metinf">5000</MaxMsgSize></Meta>'

SPEC_PKG1 = hdr(1, to_server=True, cred=BASIC_BRUCE, extra=MAXMSG) + (
    "<Alert><CmdID>1</CmdID><Data>1200</Data></Alert><Replace><CmdID>3</CmdID>"
    + "".join(
        f"<Item><Source><LocURI>./DevInfo/{n}</LocURI></Source><Meta>"
        '<Format xmlns="syncml:metinf">chr</Format><Type xmlns="syncml:metinf">text/plain</Type>'
        f"</Meta><Data>{v}</Data></Item>"
        for n, v in [
            ("DevId", DEVICE_ID),
            ("Man", "Device Factory, Inc."),
            ("Mod", "SmartPhone2000"),
            ("DmV", "1.0.0.1"),
            ("Lang", "US-en"),
        ]
    )
    + "</Replace><Final/></SyncBody></SyncML>"
)


def statuses(body: bytes) -> list[Status]:
    return [c for c in decode_message(body).commands if isinstance(c, Status)]


def drain(session: ClientSession | ServerSession) -> list[ev.Event]:
    out = []
    while (event := session.next_event()) is not None:
        out.append(event)
    return out


def test_spec_8_1_server_side() -> None:
    server = ServerSession(server_config())
    server.receive_message(SPEC_PKG1.encode(), media_type=XML, now=0.0)
    (asked,) = drain(server)
    assert isinstance(asked, ev.AccountRequested) and asked.device_id == DEVICE_ID
    assert asked.scheme == AuthScheme.BASIC.value
    server.supply_account(Account(credentials=BRUCE, auth_scheme=AuthScheme.BASIC))
    events = drain(server)
    connected = next(e for e in events if isinstance(e, ev.DeviceConnected))
    assert connected.alert_code == 1200 and len(connected.dev_info) == 5
    assert isinstance(events[-1], ev.PackageCompleted)
    assert server.messages_to_send(0.0) == []  # waiting for the application
    display = server.queue(ui_alert(AlertCode.DISPLAY, "Your antivirus software is being updated"))
    get = server.queue(
        Get(cmd_id=None, items=(Item(target=Location(loc_uri="./antivirus_data/version")),))
    )
    server.close_package()
    (pkg2,) = server.messages_to_send(1.0)
    msg2 = decode_message(pkg2.body)
    assert msg2.header.msg_id == "1" and msg2.final
    sts = statuses(pkg2.body)
    assert [(s.cmd_ref, s.cmd, s.code, s.msg_ref) for s in sts] == [
        ("0", "SyncHdr", 212, "1"),
        ("1", "Alert", 200, "1"),
        ("3", "Replace", 200, "1"),
    ]
    assert sts[0].target_refs == (SERVER_URI,) and sts[0].source_refs == (DEVICE_ID,)
    alert = next(c for c in msg2.commands if isinstance(c, Alert))
    get_cmd = next(c for c in msg2.commands if isinstance(c, Get))
    # Pkg3 as in the spec (with CmdRef 0 on the SyncHdr Status).
    pkg3 = hdr(2, to_server=True) + (
        "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>212</Data></Status>"
        f"<Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>{alert.cmd_id}</CmdRef><Cmd>Alert</Cmd><Data>200</Data></Status>"
        f"<Status><CmdID>4</CmdID><MsgRef>1</MsgRef><CmdRef>{get_cmd.cmd_id}</CmdRef><Cmd>Get</Cmd>"
        "<TargetRef>./antivirus_data/version</TargetRef><Data>200</Data></Status>"
        f"<Results><CmdID>3</CmdID><MsgRef>1</MsgRef><CmdRef>{get_cmd.cmd_id}</CmdRef><Item><Source>"
        "<LocURI>./antivirus_data/version</LocURI></Source><Data>antivirus-inc/20010522b/5</Data>"
        "</Item></Results><Final/></SyncBody></SyncML>"
    )
    server.receive_message(pkg3.encode(), media_type=XML, now=2.0)
    events = drain(server)
    done = {e.handle: e.outcome for e in events if isinstance(e, ev.CommandCompleted)}
    assert done[display].code == 200
    assert done[get].results[0].data == "antivirus-inc/20010522b/5"
    replace = server.queue(
        Replace(
            cmd_id=None,
            meta=Meta(format="b64", type="application/antivirus-inc.virusdef"),
            items=(Item(target=Location(loc_uri="./antivirus_data"), data="AAECAw=="),),
        )
    )
    server.close_package()
    (pkg4,) = server.messages_to_send(3.0)
    msg4 = decode_message(pkg4.body)
    assert [(s.cmd, s.code, s.msg_ref) for s in statuses(pkg4.body)] == [("SyncHdr", 200, "2")]
    rep = next(c for c in msg4.commands if isinstance(c, Replace))
    assert rep.meta is not None and rep.meta.format == "b64" and msg4.final
    pkg3b = hdr(3, to_server=True) + (
        "<Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>"
        f"<Status><CmdID>2</CmdID><MsgRef>2</MsgRef><CmdRef>{rep.cmd_id}</CmdRef><Cmd>Replace</Cmd>"
        "<TargetRef>./antivirus_data</TargetRef><Data>200</Data></Status><Final/></SyncBody></SyncML>"
    )
    server.receive_message(pkg3b.encode(), media_type=XML, now=4.0)
    events = drain(server)
    assert any(isinstance(e, ev.CommandCompleted) and e.handle == replace for e in events)
    server.end_session()
    (pkg4b,) = server.messages_to_send(5.0)
    msg = decode_message(pkg4b.body)
    assert [c.name for c in msg.commands] == ["Status"] and msg.final
    assert msg.commands[0].msg_ref == "3"  # type: ignore[union-attr]
    assert server.state is SessionState.FINISHED


def test_spec_8_1_client_side() -> None:
    client = ClientSession(
        client_config(
            auth_scheme=AuthScheme.BASIC,
            server_credentials=SERVER,
            server_auth_scheme=AuthScheme.BASIC,
            random_bytes=lambda n: b"\x01" * n,
        )
    )
    (pkg1,) = client.messages_to_send(0.0)
    assert pkg1.url == SERVER_URI
    msg1 = decode_message(pkg1.body)
    assert msg1.header.cred is not None and msg1.header.cred.data == "QnJ1Y2UyOk9oQmVoYXZl"
    assert [c.name for c in msg1.commands] == ["Alert", "Replace"] and msg1.final
    pkg2 = hdr(1, to_server=False, cred=BASIC_SERVER) + (
        "<Status><CmdID>5</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
        f"<TargetRef>{SERVER_URI}</TargetRef><SourceRef>{DEVICE_ID}</SourceRef><Data>212</Data></Status>"
        "<Status><CmdID>6</CmdID><MsgRef>1</MsgRef><CmdRef>1</CmdRef><Cmd>Alert</Cmd><Data>200</Data></Status>"
        "<Status><CmdID>7</CmdID><MsgRef>1</MsgRef><CmdRef>2</CmdRef><Cmd>Replace</Cmd><Data>200</Data></Status>"
        "<Alert><CmdID>2</CmdID><Data>1100</Data><Item></Item>"
        "<Item><Data>Your antivirus software is being updated</Data></Item></Alert>"
        "<Get><CmdID>4</CmdID><Item><Target><LocURI>./antivirus_data/version</LocURI></Target></Item></Get>"
        "<Final/></SyncBody></SyncML>"
    )
    client.receive_message(pkg2.encode(), media_type=XML, now=1.0)
    events = drain(client)
    assert isinstance(events[0], ev.PeerAuthenticated)
    received = [e for e in events if isinstance(e, ev.CommandReceived)]
    assert (
        received[0].ui is not None
        and received[0].ui.text == "Your antivirus software is being updated"
    )
    assert client.messages_to_send(1.0) == []  # commands still unanswered
    client.respond(received[0].handle, CommandOutcome(code=200))
    client.respond(
        received[1].handle,
        CommandOutcome(
            code=200,
            results=(
                Item(
                    source=Location(loc_uri="./antivirus_data/version"),
                    data="antivirus-inc/20010522b/5",
                ),
            ),
        ),
    )
    (pkg3,) = client.messages_to_send(2.0)
    msg3 = decode_message(pkg3.body)
    assert msg3.header.msg_id == "2" and msg3.header.cred is None and msg3.final
    assert [
        (c.name, getattr(c, "cmd_ref", None), getattr(c, "code", None)) for c in msg3.commands
    ] == [("Status", "0", 212), ("Status", "2", 200), ("Status", "4", 200), ("Results", "4", None)]
    assert msg3.commands[2].target_refs == ("./antivirus_data/version",)  # type: ignore[union-attr]
    res = msg3.commands[3]
    assert isinstance(res, Results) and res.items[0].source.loc_uri == "./antivirus_data/version"  # type: ignore[union-attr]
    pkg4 = hdr(2, to_server=False) + (
        "<Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>212</Data></Status>"
        '<Replace><CmdID>2</CmdID><Meta><Format xmlns="syncml:metinf">b64</Format>'
        '<Type xmlns="syncml:metinf">application/antivirus-inc.virusdef</Type></Meta>'
        "<Item><Target><LocURI>./antivirus_data</LocURI></Target><Data>AAECAw==</Data></Item></Replace>"
        "<Final/></SyncBody></SyncML>"
    )
    client.receive_message(pkg4.encode(), media_type=XML, now=3.0)
    (rec,) = [e for e in drain(client) if isinstance(e, ev.CommandReceived)]
    client.respond(rec.handle, CommandOutcome(code=200))
    (pkg3b,) = client.messages_to_send(4.0)
    assert [(s.cmd, s.code, s.msg_ref) for s in statuses(pkg3b.body)] == [
        ("SyncHdr", 200, "2"),
        ("Replace", 200, "2"),
    ]
    pkg4b = hdr(3, to_server=False) + (
        "<Status><CmdID>1</CmdID><MsgRef>3</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>"
        "<Final/></SyncBody></SyncML>"
    )
    client.receive_message(pkg4b.encode(), media_type=XML, now=5.0)
    events = drain(client)
    assert isinstance(events[-1], ev.SessionEnded) and events[-1].reason is ev.EndReason.COMPLETED
    assert client.messages_to_send(6.0) == []  # OMA-TS-DM_Protocol-V1_2_1 §2.3: nothing is sent


@pytest.mark.parametrize("name", ["win10-pkg1-session1.xml", "win10-pkg1-session2-unenroll.xml"])
def test_windows_package1_accepted(name: str) -> None:
    body = (CORPUS / "windows" / name).read_bytes()
    server = ServerSession(server_config(resp_uri="https://mdm.example/MDM.svc?s=1"))
    server.receive_message(body, media_type=XML, now=0.0)
    (asked,) = drain(server)
    assert isinstance(asked, ev.AccountRequested)
    assert asked.device_id == "B5B954E81FBCB94EB79BD08BE625F4EE" and asked.scheme is None
    server.supply_account(Account(credentials=None))  # no Cred: transport-level auth
    events = drain(server)
    connected = next(e for e in events if isinstance(e, ev.DeviceConnected))
    assert connected.alert_code == 1201
    assert [i.source.loc_uri for i in connected.dev_info] == [  # type: ignore[union-attr]
        f"./DevInfo/{n}" for n in ("DevId", "Man", "Mod", "DmV", "Lang")
    ]
    assert all(i.meta is None for i in connected.dev_info)
    (event,) = [e for e in events if isinstance(e, ev.ClientEventReceived)]
    assert event.items[0].meta.type == "com.microsoft/MDM/LoginStatus"  # type: ignore[union-attr]
    generic = [e for e in events if isinstance(e, ev.GenericAlertReceived)]
    if "unenroll" in name:
        assert generic[0].items[0].meta.type == "com.microsoft:mdm.unenrollment.userrequest"  # type: ignore[union-attr]
    else:
        assert not generic
    server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevDetail/SwV")),)))
    server.close_package()
    (reply,) = server.messages_to_send(1.0)
    msg = decode_message(reply.body)
    original = decode_message(body)
    sts = statuses(reply.body)
    assert sts[0].cmd_ref == "0" and sts[0].code == 200
    # One Status per command, referencing the device's CmdIDs (which start at 2).
    assert sorted(s.cmd_ref for s in sts[1:]) == sorted(c.cmd_id or "" for c in original.commands)
    assert all(s.code == 200 for s in sts)
    assert (
        msg.header.resp_uri == "https://mdm.example/MDM.svc?s=1"
        and msg.header.session_id == original.header.session_id
    )
    assert "0" not in [c.cmd_id for c in msg.commands]


def test_aosp_conformance_server_package_decodes_into_client_events() -> None:
    # A real server package (WBXML, SyncML 1.1 FPI with DM/1.2, basic Cred, RespURI).
    body = (CORPUS / "aosp-dm12" / "testget.wbxml").read_bytes()
    original = decode_message(body)
    client = ClientSession(
        client_config(
            session_id=original.header.session_id,
            server_credentials=None,
            device_id=original.header.target.loc_uri,
        )
    )
    client.messages_to_send(0.0)
    client.receive_message(body, media_type="application/vnd.syncml.dm+wbxml", now=1.0)
    received = [e for e in drain(client) if isinstance(e, ev.CommandReceived)]
    assert received and all(isinstance(e.command, Get) for e in received)
    for e in received:
        client.respond(e.handle, CommandOutcome(code=404))
    (reply,) = client.messages_to_send(2.0)
    if original.header.resp_uri:
        assert reply.url == original.header.resp_uri
    codes = [s.code for s in statuses(reply.body) if s.cmd == "Get"]
    assert codes == [404] * len(received)
