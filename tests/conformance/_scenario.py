"""DM applications used by the conformance suite: a scripted server and a tree device."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import attrs

from dmproto.codec.model import Add, Command, Delete, Get, Item, Location, Meta, Replace
from dmproto.limits import Limits
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme, Credentials
from dmproto.session import (
    Account,
    ClientConfig,
    ClientSession,
    ServerConfig,
    ServerSession,
)
from dmproto.session import events as ev
from dmproto.tree import ManagementTree, Node, NodeFormat
from dmproto.tree.stdobj import DeviceInfo, build_device_tree, devinfo_items

SERVER_ID = "dmproto-conformance"
SERVER_PASSWORD = "server-secret"
DEVICE_PASSWORD = "device-secret"


def server_config(**changes: Any) -> ServerConfig:
    return ServerConfig(random_bytes=os.urandom, server_uri=SERVER_ID, **changes)


def device_tree(dev_id: str) -> ManagementTree:
    """The standard objects plus ``./Vendor``, an interior node any server may manage."""
    tree = build_device_tree(DeviceInfo(dev_id=dev_id, man="Acme", mod="Conformance"))
    tree.add_node(("Vendor",), Node(name="Vendor", format=NodeFormat.NODE))
    tree.set_acl("./Vendor", "Add=*&Get=*&Replace=*&Delete=*&Exec=*")
    return tree


def client_config(
    url: str, tree: ManagementTree, dev_id: str, scheme: AuthScheme | None, **changes: Any
) -> ClientConfig:
    return ClientConfig(
        random_bytes=os.urandom,
        server_uri=url,
        device_id=dev_id,
        dev_info=devinfo_items(tree),
        credentials=None
        if scheme is None
        else Credentials(username=dev_id, password=DEVICE_PASSWORD),
        auth_scheme=scheme,
        **changes,
    )


def account(scheme: AuthScheme | None, username: str) -> Account:
    if scheme is None:
        return Account(credentials=None)
    return Account(
        credentials=Credentials(username=username, password=DEVICE_PASSWORD), auth_scheme=scheme
    )


def get(uri: str) -> Get:
    return Get(cmd_id=None, items=(Item(target=Location(loc_uri=uri)),))


def replace(uri: str, data: str, fmt: str = "chr") -> Replace:
    return Replace(
        cmd_id=None, items=(Item(target=Location(loc_uri=uri), meta=Meta(format=fmt), data=data),)
    )


def add(uri: str, data: str | None = None) -> Add:
    meta = Meta(format="node") if data is None else Meta(format="chr", type="text/plain")
    return Add(cmd_id=None, items=(Item(target=Location(loc_uri=uri), meta=meta, data=data),))


def delete(uri: str) -> Delete:
    return Delete(cmd_id=None, items=(Item(target=Location(loc_uri=uri)),))


@attrs.define
class ServerApp:
    """Supplies accounts and sends one scripted package of commands after another.

    Records, per device, every CommandOutcome (in queue order) and how the session
    ended. Thread-safe: the sync adapter calls it from many connection threads.
    """

    scheme: AuthScheme | None
    packages: Sequence[Sequence[Command]]
    reject: frozenset[str] = frozenset()
    outcomes: dict[str, dict[int, CommandOutcome]] = attrs.field(factory=dict)
    order: dict[str, list[int]] = attrs.field(factory=dict)
    ended: dict[str, ev.SessionEnded] = attrs.field(factory=dict)
    connected: list[str] = attrs.field(factory=list)
    sent: dict[str, int] = attrs.field(factory=dict)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def __call__(self, session: ServerSession, event: ev.Event) -> None:
        device = session.device_id or "?"
        with self.lock:
            if isinstance(event, ev.AccountRequested):
                if event.device_id in self.reject:
                    session.reject_device()
                else:
                    session.supply_account(account(self.scheme, event.device_id))
            elif isinstance(event, ev.DeviceConnected):
                self.connected.append(event.device_id)
            elif isinstance(event, ev.PackageCompleted):
                self._next_package(session, device)
            elif isinstance(event, ev.CommandCompleted):
                self.outcomes.setdefault(device, {})[event.handle] = event.outcome
            elif isinstance(event, ev.SessionEnded):
                self.ended[device] = event

    def _next_package(self, session: ServerSession, device: str) -> None:
        index = self.sent.get(device, 0)
        if index >= len(self.packages):
            session.end_session()
            return
        self.sent[device] = index + 1
        handles = self.order.setdefault(device, [])
        for command in self.packages[index]:
            handles.append(session.queue(command))
        session.close_package()

    def results(self, device: str) -> list[CommandOutcome]:
        """The outcomes of the device's queued commands, in queue order."""
        got = self.outcomes.get(device, {})
        return [got[h] for h in self.order.get(device, []) if h in got]


@attrs.define
class DeviceApp:
    """Executes server commands against a management tree; records nonces and the end."""

    tree: ManagementTree
    ended: ev.SessionEnded | None = None
    nonces: list[ev.NonceChanged] = attrs.field(factory=list)

    def __call__(self, session: ClientSession, event: ev.Event) -> None:
        if isinstance(event, ev.CommandReceived):
            session.respond(event.handle, self.tree.execute(event.command, server_id=SERVER_ID))
        elif isinstance(event, ev.NonceChanged):
            self.nonces.append(event)
        elif isinstance(event, ev.SessionEnded):
            self.ended = event


def small_limits(size: int) -> Limits:
    return Limits(max_message_size=size)
