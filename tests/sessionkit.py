"""Test helpers for session tests: deterministic randomness, configs, and a
client/server :class:`Pair` that pumps real encoded messages between the two."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from dmproto.codec import Encoding, decode_message
from dmproto.codec.model import Alert, Command, Item, Location, Message, Meta, Results, Status
from dmproto.codes import AlertCode
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme, Credentials, PeerCertificate
from dmproto.session import (
    Account,
    ClientConfig,
    ClientSession,
    OutgoingMessage,
    ServerConfig,
    ServerSession,
    SessionState,
)
from dmproto.session import events as ev

DEVICE_ID = "IMEI:493005100592800"
SERVER_URI = "http://www.syncml.org/mgmt-server"
CLIENT_CREDS = Credentials(username="Bruce2", password="OhBehave")
SERVER_CREDS = Credentials(username="mgmt-server", password="server-secret")


def seeded_random(seed: int = 0) -> Callable[[int], bytes]:
    """A deterministic ``random_bytes`` (hash counter), for reproducible transcripts."""
    counter = [0]

    def random_bytes(n: int) -> bytes:
        out = b""
        while len(out) < n:
            counter[0] += 1
            out += hashlib.sha256(f"{seed}:{counter[0]}".encode()).digest()
        return out[:n]

    return random_bytes


def dev_info_items() -> tuple[Item, ...]:
    values = [
        ("DevId", DEVICE_ID),
        ("Man", "Device Factory, Inc."),
        ("Mod", "SmartPhone2000"),
        ("DmV", "1.0.0.1"),
        ("Lang", "US-en"),
    ]
    return tuple(
        Item(
            source=Location(loc_uri=f"./DevInfo/{name}"),
            meta=Meta(format="chr", type="text/plain"),
            data=value,
        )
        for name, value in values
    )


def client_config(**changes: Any) -> ClientConfig:
    base: dict[str, Any] = {
        "random_bytes": seeded_random(1),
        "server_uri": SERVER_URI,
        "device_id": DEVICE_ID,
        "dev_info": dev_info_items(),
        "credentials": CLIENT_CREDS,
        "auth_scheme": AuthScheme.MD5,
        "client_nonce": b"client-nonce",
        "server_credentials": SERVER_CREDS,
        "server_auth_scheme": AuthScheme.MD5,
        "server_nonce": b"server-nonce",
        "session_id": "1",
    }
    base.update(changes)
    return ClientConfig(**base)


def server_config(**changes: Any) -> ServerConfig:
    base: dict[str, Any] = {"random_bytes": seeded_random(2), "server_uri": SERVER_URI}
    base.update(changes)
    return ServerConfig(**base)


def account(**changes: Any) -> Account:
    base: dict[str, Any] = {
        "credentials": CLIENT_CREDS,
        "auth_scheme": AuthScheme.MD5,
        "client_nonce": b"client-nonce",
        "server_credentials": SERVER_CREDS,
        "server_auth_scheme": AuthScheme.MD5,
        "server_nonce": b"server-nonce",
    }
    base.update(changes)
    return Account(**base)


def ok_answer(event: ev.CommandReceived) -> CommandOutcome:
    """Answer everything 200 (Get: one Results item echoing the target)."""
    return _ok(event.command)


def _ok(command: Any) -> CommandOutcome:
    from dmproto.codec.model import Atomic, Get, Sequence

    if isinstance(command, Atomic | Sequence):
        return CommandOutcome(code=200, children=tuple(_ok(c) for c in command.commands))
    if isinstance(command, Get):
        results = tuple(
            Item(source=Location(loc_uri=item.target.loc_uri if item.target else ""), data="v")
            for item in command.items
        )
        return CommandOutcome(code=200, results=results)
    return CommandOutcome(code=200)


@attrs.define
class Pair:
    """A client and a server session wired together in memory.

    ``packages``: lists of commands the server application queues, one list per
    package; after the last the server calls ``end_session()``. ``answer`` is the client
    application. With ``snapshot_every`` both sessions are snapshotted, sent
    through JSON and restored before every message.
    """

    client: ClientSession
    server: ServerSession
    account: Account | None = attrs.field(factory=account)
    packages: list[list[Command]] = attrs.field(factory=list)
    answer: Callable[[ev.CommandReceived], CommandOutcome] = ok_answer
    snapshot_every: bool = False
    tamper: Callable[[str, OutgoingMessage], OutgoingMessage | None] | None = None
    client_events: list[ev.Event] = attrs.field(factory=list)
    server_events: list[ev.Event] = attrs.field(factory=list)
    handles: dict[int, Command] = attrs.field(factory=dict)
    transcript: list[tuple[str, bytes]] = attrs.field(factory=list)
    now: float = 0.0
    on_server_event: Callable[[Pair, ev.Event], bool] | None = None

    @classmethod
    def make(
        cls,
        *,
        client: dict[str, Any] | None = None,
        server: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Pair:
        return cls(
            client=ClientSession(client_config(**(client or {}))),
            server=ServerSession(server_config(**(server or {}))),
            **kwargs,
        )

    def rewrite(self, direction: str, old: bytes, new: bytes, *, index: int | None = None) -> Pair:
        """Tamper with the wire: replace *old* by *new* in the messages going
        *direction* (only in the one at transcript position *index*, when given)."""

        def tamper(d: str, msg: OutgoingMessage) -> OutgoingMessage:
            if d == direction and (index is None or len(self.transcript) == index):
                return with_body(msg, msg.body.replace(old, new))
            return msg

        self.tamper = tamper
        return self

    def completed(self) -> dict[int, CommandOutcome]:
        return {
            e.handle: e.outcome for e in self.server_events if isinstance(e, ev.CommandCompleted)
        }

    def received(self) -> list[ev.CommandReceived]:
        return [e for e in self.client_events if isinstance(e, ev.CommandReceived)]

    def ended(self, side: str) -> ev.SessionEnded | None:
        events = self.client_events if side == "client" else self.server_events
        found = [e for e in events if isinstance(e, ev.SessionEnded)]
        return found[-1] if found else None

    def _roundtrip(self) -> None:
        if not self.snapshot_every:
            return
        c_snap = json.loads(json.dumps(self.client.snapshot()))
        s_snap = json.loads(json.dumps(self.server.snapshot()))
        self.client = ClientSession.restore(c_snap, config=self.client._config)
        self.server = ServerSession.restore(s_snap, config=self.server._config)

    def drain_server(self) -> None:
        while (event := self.server.next_event()) is not None:
            self.server_events.append(event)
            if self.on_server_event is not None and self.on_server_event(self, event):
                continue
            if isinstance(event, ev.AccountRequested):
                if self.account is None:
                    self.server.reject_device()
                else:
                    self.server.supply_account(self.account)
            elif isinstance(event, ev.PackageCompleted):
                if self.packages:
                    for command in self.packages.pop(0):
                        self.handles[self.server.queue(command)] = command
                    self.server.close_package()
                else:
                    self.server.end_session()

    def drain_client(self) -> None:
        while (event := self.client.next_event()) is not None:
            self.client_events.append(event)
            if isinstance(event, ev.CommandReceived):
                self.client.respond(event.handle, self.answer(event))

    def _deliver(self, direction: str, msg: OutgoingMessage) -> OutgoingMessage | None:
        self.transcript.append((direction, msg.body))
        if self.tamper is not None:
            return self.tamper(direction, msg)
        return msg

    def _pass(
        self, direction: str, msg: OutgoingMessage, to: ClientSession | ServerSession
    ) -> bool:
        """Record and (maybe tampered) deliver *msg*; False when it was dropped."""
        delivered = self._deliver(direction, msg)
        if delivered is None:
            return False
        to.receive_message(
            delivered.body,
            media_type=delivered.media_type,
            headers=delivered.headers,
            now=self.now,
        )
        return True

    def step(self) -> bool:
        """One client message and the server's response; False when nothing moved."""
        self._roundtrip()
        self.now += 1.0
        out = self.client.messages_to_send(self.now)
        if not out:
            return False
        assert len(out) == 1
        if not self._pass("c2s", out[0], self.server):
            return True
        self.drain_server()
        self._roundtrip()
        replies = self.server.messages_to_send(self.now)
        self.drain_server()
        if not replies and self.server.state is SessionState.FINISHED:
            return True  # a finished server answers nothing (the adapter sends an error)
        assert len(replies) == 1, "the server must answer every client message exactly once"
        if self._pass("s2c", replies[0], self.client):
            self.drain_client()
        return True

    def run(self, max_rounds: int = 60) -> Pair:
        self.drain_client()
        for _ in range(max_rounds):
            if not self.step():
                break
            if self.client.state is SessionState.FINISHED and not self.client.messages_to_send(
                self.now
            ):
                break
        self.drain_server()
        self.drain_client()
        return self


def with_body(msg: OutgoingMessage, body: bytes) -> OutgoingMessage:
    """*msg* carrying another body (a tampered message)."""
    return attrs.evolve(msg, body=body)


def echo_results(data: str) -> Callable[[ev.CommandReceived], CommandOutcome]:
    """An application answering each single-Item Get 200 with one Results Item
    (Source = the Get's target) holding *data*."""

    def answer(event: ev.CommandReceived) -> CommandOutcome:
        item = event.command.items[0]  # type: ignore[union-attr]
        uri = item.target.loc_uri if item.target is not None else ""
        return CommandOutcome(code=200, results=(Item(source=Location(loc_uri=uri), data=data),))

    return answer


def status_codes(
    pair: Pair, direction: str, *, cmd: str | None = None, cmd_ref: str | None = None
) -> list[int]:
    """Codes of the Statuses sent in *direction*, optionally only for *cmd* /
    *cmd_ref*, in transcript order."""
    return [
        s.code
        for d, msg in transcript_messages(pair)
        if d == direction
        for s in msg.commands
        if isinstance(s, Status)
        and (cmd is None or s.cmd == cmd)
        and (cmd_ref is None or s.cmd_ref == cmd_ref)
    ]


def wire_msg(
    body: str,
    msg_id: int = 1,
    *,
    to_server: bool = False,
    final: bool = True,
    extra: str = "",
    hdr_code: int | None = 212,
    session_id: str = "1",
) -> bytes:
    """A hand-written XML message of session ``1`` between DEVICE_ID and SERVER_URI:
    SyncHdr (+ *extra* header elements), the Status for the peer's SyncHdr (MsgRef 1,
    *hdr_code*; omitted when None), *body*, and Final."""
    target, source = (SERVER_URI, DEVICE_ID) if to_server else (DEVICE_ID, SERVER_URI)
    status = (
        "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
        f"<Data>{hdr_code}</Data></Status>"
        if hdr_code is not None
        else ""
    )
    return (
        '<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>'
        f"<SessionID>{session_id}</SessionID><MsgID>{msg_id}</MsgID><Target><LocURI>{target}"
        f"</LocURI></Target><Source><LocURI>{source}</LocURI></Source>{extra}</SyncHdr><SyncBody>"
        + status
        + body
        + ("<Final/>" if final else "")
        + "</SyncBody></SyncML>"
    ).encode()


def transcript_messages(pair: Pair) -> list[tuple[str, Message]]:
    """The pair's transcript decoded: ``(direction, message)`` in order."""
    return [(direction, decode_message(body)) for direction, body in pair.transcript]


def assert_alerts_answered_next(pair: Pair) -> None:
    """OMA-TS-DM_Protocol-V1_2_1 §2.1: every Alert gets its Status in the receiver's next
    message."""
    msgs = transcript_messages(pair)
    for (d1, m1), (d2, m2) in itertools.pairwise(msgs):
        assert d1 != d2
        answered = {(s.msg_ref, s.cmd_ref) for s in m2.commands if isinstance(s, Status)}
        for command in m1.commands:
            if isinstance(command, Alert) and command.code == AlertCode.NEXT_MESSAGE:
                assert (m1.header.msg_id, command.cmd_id) in answered, (d2, m2.header.msg_id)


def assert_statuses_first(pair: Pair) -> None:
    """No Status after a large-object chunk or after one of our own commands."""
    for _, msg in transcript_messages(pair):
        seen_other = False
        for command in msg.commands:
            chunk = isinstance(command, Results) and command.items[-1].more_data
            if isinstance(command, Status):
                assert not seen_other, [c.name for c in msg.commands]
            elif chunk or not isinstance(command, Results):
                seen_other = True


def results_with_their_status(pair: Pair) -> bool:
    """Every Results travels in the message holding the Status of its Get."""
    for _, msg in transcript_messages(pair):
        statuses = {(s.msg_ref, s.cmd_ref) for s in msg.commands if isinstance(s, Status)}
        for command in msg.commands:
            if isinstance(command, Results) and (command.msg_ref, command.cmd_ref) not in statuses:
                return False
    return True


__all__ = [
    "CLIENT_CREDS",
    "DEVICE_ID",
    "SERVER_CREDS",
    "SERVER_URI",
    "Encoding",
    "Pair",
    "account",
    "assert_alerts_answered_next",
    "assert_statuses_first",
    "client_config",
    "dev_info_items",
    "echo_results",
    "ok_answer",
    "results_with_their_status",
    "seeded_random",
    "server_config",
    "status_codes",
    "transcript_messages",
    "wire_msg",
    "with_body",
]


def run_over_endpoint(
    endpoint: Any,
    client: ClientSession,
    app: Callable[[ServerSession, ev.ServerSessionEvent], None],
    *,
    now: float = 0.0,
    certificates: Sequence[PeerCertificate | None] = (None,),
    max_steps: int = 60,
) -> ev.SessionEnded | None:
    """Run *client* against a ``ServerEndpoint`` in memory (its path must be the
    client's server URI path) until the client's session ends; the n-th request
    carries ``certificates[n]`` as its verified TLS client certificate (the last
    one repeats). Returns the client's ``SessionEnded``."""
    from dmproto.bindings.client import ClientDriver
    from dmproto.bindings.steps import Deliver, Send

    driver = ClientDriver(client)
    sent = 0
    for _ in range(max_steps):
        step = driver.poll(now)
        if isinstance(step, Deliver):
            if isinstance(step.event, ev.CommandReceived):
                client.respond(step.event.handle, ok_answer(step.event))
        elif isinstance(step, Send):
            cert = certificates[min(sent, len(certificates) - 1)]
            sent += 1
            request = attrs.evolve(step.request, peer_certificate=cert)
            driver.handle_response(endpoint.handle(request, app, lambda: now), now)
        else:
            return step.ended
    raise AssertionError("the session did not end")
