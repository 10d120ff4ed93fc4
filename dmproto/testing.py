"""Helpers for testing code built on dmproto: a client and a server session wired
together in memory, deterministic randomness and time, ready-made configurations,
and the two smallest useful applications (a server that reads a few nodes, a device
answering from a standard tree).

Everything here is sans-IO like the rest of the core: no sockets, threads, clocks or
random sources. The same pieces are used by dmproto's own tests, benchmarks and fuzz
targets. Typical use::

    from dmproto.testing import Pair

    pair = Pair.make(packages=[[Get(items=[Item(target=Location(loc_uri="./DevInfo/Mod"))])]])
    pair.run()
    assert pair.ended("server").reason is events.EndReason.COMPLETED

This module does no I/O and reads no clock or random source: everything random here is
seeded (:func:`seeded_random`), for reproducible tests. A production configuration
passes the caller's cryptographically secure source as ``random_bytes`` instead.
See docs/testing.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

import attrs

from .bindings.claims import Busy, Claimed, Reply
from .codec import Encoding, decode_message, encode_message
from .codec.model import (
    Atomic,
    Command,
    Get,
    Item,
    Location,
    Message,
    Meta,
    Sequence,
    Status,
    SyncHdr,
)
from .codec.tnds import MgmtTree, RTProperties, TreeNode, encode_tree_document
from .outcome import CommandOutcome
from .security import AuthScheme, Credentials
from .session import (
    Account,
    ClientConfig,
    ClientSession,
    OutgoingMessage,
    ServerConfig,
    ServerSession,
    SessionState,
)
from .session import events as ev
from .tree import DeviceInfo, ManagementTree, build_device_tree, devinfo_items
from .tree.stdobj import DMACC_MO

__all__ = [
    "CLIENT_CREDS",
    "DEVICE_ID",
    "SERVER_CREDS",
    "SERVER_URI",
    "Clock",
    "MemoryClaims",
    "MinimalServerApp",
    "Pair",
    "TreeDevice",
    "account",
    "bootstrap_message",
    "client_config",
    "dev_info_items",
    "dmacc_tnds",
    "echo_results",
    "ok_answer",
    "seeded_random",
    "server_config",
    "status_codes",
    "transcript_messages",
    "tree_device",
    "with_body",
]

#: The device and the server named in the example messages of the OMA DM specifications.
DEVICE_ID = "IMEI:493005100592800"
SERVER_URI = "http://www.syncml.org/mgmt-server"
#: What the device and the server present (test values, not secrets).
CLIENT_CREDS = Credentials(username="Bruce2", password="OhBehave")
SERVER_CREDS = Credentials(username="mgmt-server", password="server-secret")


# -- determinism ----------------------------------------------------------------------


def seeded_random(seed: object = 0) -> Callable[[int], bytes]:
    """A deterministic ``random_bytes`` for reproducible transcripts: SHA-256 over
    ``"<seed>:<counter>"``, so two factories with the same seed give the same bytes.
    Not random at all: never use it outside tests."""
    counter = 0

    def random_bytes(n: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < n:
            counter += 1
            out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        return out[:n]

    return random_bytes


@attrs.define
class Clock:
    """A clock that moves only when told to: pass it where a ``Callable[[], float]``
    clock is wanted (``ServerEndpoint.handle``, the adapters' ``clock=``) and call
    :meth:`advance` to make time pass (session timers, inactivity timeouts)."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 1.0) -> float:
        """Move the clock forward; the new time."""
        self.now += seconds
        return self.now


# -- a shared session store -----------------------------------------------------------


@attrs.define
class _Row:
    key: tuple[str, str]
    snapshot: str | None
    reply: Reply | None
    auth_retries: int | None
    expires: float
    lease: str | None = None
    lease_until: float = -1.0


@attrs.define
class MemoryClaims:
    """A :class:`~dmproto.bindings.claims.SessionClaims` store in memory, for tests
    of endpoints that share their sessions (``ServerEndpoint(claims=...)``): give the
    same one to several endpoints and route each request to any of them. Snapshots
    are kept as JSON text, as a database keeps them; ``clock`` drives leases and
    expiry (a :class:`Clock`)."""

    clock: Callable[[], float]
    lease_seconds: float = 30.0
    rows: dict[str, _Row] = attrs.field(factory=dict)
    _leases: int = 0

    def _lease(self, row: _Row) -> str:
        self._leases += 1
        row.lease = f"lease-{self._leases}"
        row.lease_until = self.clock() + self.lease_seconds
        return row.lease

    def _claimed(self, token: str, row: _Row) -> Claimed:
        return Claimed(
            token=token,
            key=row.key,
            snapshot=None if row.snapshot is None else json.loads(row.snapshot),
            reply=row.reply,
            auth_retries=row.auth_retries,
            lease=self._lease(row),
        )

    def claim(self, token: str) -> Claimed | Busy | None:
        row = self.rows.get(token)
        now = self.clock()
        if row is None or row.expires < now:
            return None
        if row.lease is not None and row.lease_until > now:
            return Busy(retry_after=min(row.lease_until - now, 1.0))
        return self._claimed(token, row)

    def find(self, key: tuple[str, str]) -> str | None:
        now = self.clock()
        live = [t for t, r in self.rows.items() if r.key == key and r.snapshot and r.expires >= now]
        return live[-1] if live else None

    def create(self, token: str, key: tuple[str, str]) -> Claimed:
        row = _Row(key=key, snapshot=None, reply=None, auth_retries=0, expires=math.inf)
        self.rows[token] = row
        return self._claimed(token, row)

    def commit(
        self,
        claimed: Claimed,
        session: ServerSession,
        reply: Reply,
        *,
        expires_in: float,
        auth_retries: int | None = 0,
    ) -> bool:
        row = self.rows.get(claimed.token)
        if row is None or row.lease != claimed.lease:
            return False
        active = session.state is SessionState.ACTIVE
        row.snapshot = json.dumps(session.snapshot()) if active else None
        row.reply, row.auth_retries = reply, auth_retries
        row.expires = self.clock() + expires_in
        row.lease = None
        return True

    def release(self, claimed: Claimed) -> None:
        row = self.rows.get(claimed.token)
        if row is not None and row.lease == claimed.lease:
            row.lease = None
            if row.snapshot is None and row.reply is None:
                del self.rows[claimed.token]  # created, never committed

    def purge(self) -> list[tuple[str, tuple[str, str]]]:
        now = self.clock()
        gone = [
            t
            for t, r in self.rows.items()
            if r.expires < now and (r.lease is None or r.lease_until <= now)
        ]
        rows = [(t, self.rows.pop(t)) for t in gone]
        return [(t, r.key) for t, r in rows if r.snapshot is not None]


# -- configurations ------------------------------------------------------------------


def dev_info_items() -> tuple[Item, ...]:
    """The DevInfo Items a device sends in Package 1 (OMA-TS-DM_Protocol-V1_2_1 §2.3)."""
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
    """A device configuration: MD5 both ways with fixed nonces, session ``1``, seeded
    randomness; keyword arguments replace fields (``client_config(encoding=...)``)."""
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
    """A server configuration with seeded randomness; keyword arguments replace fields."""
    base: dict[str, Any] = {"random_bytes": seeded_random(2), "server_uri": SERVER_URI}
    base.update(changes)
    return ServerConfig(**base)


def account(**changes: Any) -> Account:
    """The account matching :func:`client_config` (same credentials and nonces)."""
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


def dmacc_tnds(name: str, server_id: str) -> bytes:
    """A DM account *name* for *server_id* as a WBXML TNDS document (OMA-TS-DM_TNDS-V1_2
    §9.2): the Item of a bootstrap's ``Add`` to ``./Inbox``. The account node has the
    DMAcc DDF name (OMA-TS-DM_StdObj-V1_2_1 §7.1) and ``Get`` and ``Replace`` for the
    server; it holds AppID ``w7``, ServerID, Name and AppAddr/1 with
    ``https://<server_id>/dm`` as its Addr."""

    def leaf(node_name: str, value: str) -> TreeNode:
        properties = RTProperties(format="chr", mime="text/plain")
        return TreeNode(node_name=node_name, rt_properties=properties, value=value)

    def interior(node_name: str, children: list[TreeNode], **properties: str) -> TreeNode:
        rt_properties = RTProperties(format="node", **properties)
        return TreeNode(node_name=node_name, rt_properties=rt_properties, children=children)

    address = interior("1", [leaf("Addr", f"https://{server_id}/dm"), leaf("AddrType", "URI")])
    account = interior(
        name,
        [
            leaf("AppID", "w7"),
            leaf("ServerID", server_id),
            leaf("Name", "Operator"),
            interior("AppAddr", [address]),
        ],
        ddf_name=DMACC_MO,
        acl=f"Get={server_id}&Replace={server_id}",
    )
    return encode_tree_document(MgmtTree(nodes=[account]), wbxml=True)


def bootstrap_message(network_id: str, *commands: Command) -> bytes:
    """An unsigned bootstrap message carrying *commands*: one final WBXML DM message,
    SessionID ``0`` and MsgID ``1``, from ``provisioner`` to ``IMSI:<network_id>``, what
    ``apply_bootstrap`` reads (OMA-TS-DM_Bootstrap-V1_2_1 §3.1). The MAC travels in the
    Content-Type (``bootstrap_mac``, ``format_bootstrap_content_type``), not here."""
    header = SyncHdr(
        session_id="0",
        msg_id="1",
        target=Location(loc_uri="IMSI:" + network_id),
        source=Location(loc_uri="provisioner"),
    )
    return encode_message(Message(header=header, commands=commands, final=True), Encoding.WBXML)


# -- applications --------------------------------------------------------------------


def ok_answer(event: ev.CommandReceived) -> CommandOutcome:
    """A device application answering everything 200; a Get gets one Results Item per
    target, echoing the target URI as Source with data ``"v"``."""
    return _ok(event.command)


def _ok(command: Command) -> CommandOutcome:
    if isinstance(command, Atomic | Sequence):
        return CommandOutcome(code=200, children=tuple(_ok(c) for c in command.commands))
    if isinstance(command, Get):
        results = tuple(
            Item(source=Location(loc_uri=item.target.loc_uri if item.target else ""), data="v")
            for item in command.items
        )
        return CommandOutcome(code=200, results=results)
    return CommandOutcome(code=200)


def echo_results(data: str) -> Callable[[ev.CommandReceived], CommandOutcome]:
    """A device application answering each single-Item Get 200 with one Results Item
    (Source = the Get's target) holding *data*."""

    def answer(event: ev.CommandReceived) -> CommandOutcome:
        command = event.command
        assert isinstance(command, Get), command
        item = command.items[0]
        uri = item.target.loc_uri if item.target is not None else ""
        return CommandOutcome(code=200, results=(Item(source=Location(loc_uri=uri), data=data),))

    return answer


def _plain_account() -> Account:
    return Account(credentials=CLIENT_CREDS, auth_scheme=AuthScheme.MD5)


@attrs.define
class MinimalServerApp:
    """The smallest useful DM server application, as a handler for
    ``ServerEndpoint.handle`` and the adapters' ``DMServer``: it supplies *account* to
    every device, answers the device's Package 1 with one Get per URI in *uris*, ends
    the session after the device's answer, and keeps every ``CommandCompleted``."""

    account: Account = attrs.field(factory=_plain_account)
    uris: tuple[str, ...] = ("./DevInfo/Mod",)
    completed: list[ev.CommandCompleted] = attrs.field(factory=list)

    def __call__(self, session: ServerSession, event: ev.ServerSessionEvent) -> None:
        if isinstance(event, ev.AccountRequested):
            session.supply_account(self.account)
        elif isinstance(event, ev.PackageCompleted):
            if event.package == 1:
                for uri in self.uris:
                    session.queue(Get(items=(Item(target=Location(loc_uri=uri)),)))
                session.close_package()
            else:
                session.end_session()
        elif isinstance(event, ev.CommandCompleted):
            self.completed.append(event)

    @property
    def results(self) -> list[object]:
        """The Data of every Results Item received, in order."""
        return [item.data for e in self.completed for item in e.outcome.results]


@attrs.define
class TreeDevice:
    """A device application answering every command from its management *tree*;
    call it as the handler of its *session* (``run_client_session(d.session, d)``)."""

    session: ClientSession
    tree: ManagementTree
    server_id: str = "srv"

    def __call__(self, session: ClientSession, event: ev.ClientSessionEvent) -> None:
        if isinstance(event, ev.CommandReceived):
            session.respond(
                event.handle, self.tree.execute(event.command, server_id=self.server_id)
            )


def tree_device(
    server_uri: str = SERVER_URI,
    *,
    dev_id: str = "IMEI:1",
    man: str = "Acme",
    mod: str = "X1",
    **changes: Any,
) -> TreeDevice:
    """A device with a standard tree (``build_device_tree``) and a session that sends
    its DevInfo with :data:`CLIENT_CREDS` (MD5), matching :class:`MinimalServerApp`.
    Randomness is seeded by *dev_id*; keyword arguments replace ``ClientConfig`` fields
    (a device that talks to a real server gets the caller's secure ``random_bytes``)."""
    tree = build_device_tree(DeviceInfo(dev_id=dev_id, man=man, mod=mod))
    base: dict[str, Any] = {
        "random_bytes": seeded_random(dev_id),
        "server_uri": server_uri,
        "device_id": dev_id,
        "dev_info": devinfo_items(tree),
        "credentials": CLIENT_CREDS,
        "auth_scheme": AuthScheme.MD5,
    }
    base.update(changes)
    return TreeDevice(session=ClientSession(ClientConfig(**base)), tree=tree)


# -- the in-memory pair ---------------------------------------------------------------


@attrs.define
class Pair:
    """A client and a server session wired together in memory, exchanging real
    encoded messages (every byte goes through ``encode_message``/``decode_message``).

    The pair plays both applications: the server supplies *account* on
    ``AccountRequested`` (``None`` rejects the device) and, on each ``PackageCompleted``,
    queues the next list of *packages* (after the last it calls ``end_session()``);
    the client answers every ``CommandReceived`` with *answer*. *on_server_event*
    sees each server event first and returns True when it handled it itself.

    What happened is kept: ``client_events``, ``server_events``, ``handles`` (queued
    handle -> command) and ``transcript`` (``("c2s" | "s2c", body)`` in order).
    *tamper* may rewrite or drop (return None) a message on the wire; with
    *snapshot_every* both sessions are snapshotted, sent through JSON and restored
    before every message. ``now`` is the time passed to the sessions, one second
    more at each :meth:`step`.
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
        """A pair built from :func:`client_config` and :func:`server_config`, with the
        *client* / *server* field changes; other keyword arguments go to the pair."""
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
        """The server's outcomes so far, by the handle ``queue`` returned."""
        return {
            e.handle: e.outcome for e in self.server_events if isinstance(e, ev.CommandCompleted)
        }

    def received(self) -> list[ev.CommandReceived]:
        """The commands the client received."""
        return [e for e in self.client_events if isinstance(e, ev.CommandReceived)]

    def ended(self, side: str) -> ev.SessionEnded | None:
        """The last ``SessionEnded`` of *side* (``"client"`` or ``"server"``), if any."""
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
        """Hand out the server's pending events and play its application."""
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
        """Hand out the client's pending events and answer its commands."""
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
        """Step until the client has nothing more to send (at most *max_rounds*)."""
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


def transcript_messages(pair: Pair) -> list[tuple[str, Message]]:
    """The pair's transcript decoded: ``(direction, message)`` in order."""
    return [(direction, decode_message(body)) for direction, body in pair.transcript]
