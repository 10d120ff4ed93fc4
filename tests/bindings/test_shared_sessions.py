"""Endpoints sharing their sessions through a claiming store (``ServerEndpoint(claims=)``):
any endpoint answers any message, leases keep two from running one session at once, a
re-sent message gets the committed answer again, a dead holder's lease runs out."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from sessionkit import wire_msg

from dmproto.bindings.claims import Busy, Claimed, Reply, StoreUnavailable
from dmproto.bindings.client import ClientDriver
from dmproto.bindings.http import HttpRequest, HttpResponse, parse_url
from dmproto.bindings.server import Exchange, ServerEndpoint
from dmproto.bindings.steps import Deliver, Respond, Send
from dmproto.codec import decode_message
from dmproto.codec.model import Status
from dmproto.session import ServerSession
from dmproto.session import events as ev
from dmproto.testing import (
    Clock,
    MemoryClaims,
    MinimalServerApp,
    TreeDevice,
    server_config,
    tree_device,
)

URIS = ("./DevInfo/Mod", "./DevInfo/Man", "./DevInfo/Lang")


def endpoint(claims: Any, **kw: Any) -> ServerEndpoint:
    config = server_config(random_bytes=os.urandom, server_uri="srv", inactivity_timeout=60.0)
    return ServerEndpoint(config, claims=claims, **kw)


@attrs.define
class Device:
    """A device whose every request goes to ``pick()``'s endpoint."""

    driver: ClientDriver
    clock: Clock
    handler: TreeDevice
    sends: list[HttpRequest] = attrs.field(factory=list)
    #: Post to the server URL only, as a device that ignores RespURI does.
    strip_token: bool = False

    @classmethod
    def make(cls, clock: Clock, dev_id: str = "IMEI:1", **changes: Any) -> Device:
        device = tree_device(
            "http://127.0.0.1:9/dm", dev_id=dev_id, mod="Unit", random_bytes=os.urandom, **changes
        )
        return cls(driver=ClientDriver(device.session), clock=clock, handler=device)

    def next_request(self) -> HttpRequest | None:
        """Deliver events until the driver wants to send; the request, or None (done)."""
        while True:
            step = self.driver.poll(self.clock())
            if isinstance(step, Deliver):
                self.handler(self.driver.session, step.event)
            elif isinstance(step, Send):
                request = step.request
                if self.strip_token:
                    request = attrs.evolve(request, target=request.target.partition("?")[0])
                self.sends.append(request)
                return request
            else:
                return None

    def answer(self, response: HttpResponse) -> None:
        self.driver.handle_response(response, self.clock())

    def run(self, pick: Callable[[], ServerEndpoint], app: Any, limit: int = 40) -> None:
        for _ in range(limit):
            request = self.next_request()
            if request is None:
                return
            self.answer(pick().handle(request, app, self.clock))
        raise AssertionError("the session did not end")


@attrs.define
class Rig:
    """A clock, a shared store, the server application and one device."""

    clock: Clock
    claims: MemoryClaims
    app: MinimalServerApp
    device: Device
    #: The device's first message (Package 1), once sent.
    first: HttpRequest | None = None

    @classmethod
    def make(cls, kind: type[MemoryClaims] = MemoryClaims, **claims_kw: Any) -> Rig:
        clock = Clock()
        return cls(clock, kind(clock, **claims_kw), MinimalServerApp(uris=URIS), Device.make(clock))

    def second_message(self, ep: ServerEndpoint) -> HttpRequest:
        """Package 1 answered by *ep*; the device's next message (its Package 3)."""
        self.first = first = self.device.next_request()
        assert first is not None
        self.device.answer(ep.handle(first, self.app, self.clock))
        second = self.device.next_request()
        assert second is not None
        return second


def completed_uris(app: MinimalServerApp) -> list[str]:
    return [
        item.target.loc_uri
        for event in app.completed
        for item in event.command.items  # type: ignore[union-attr]
        if item.target is not None
    ]


def test_any_endpoint_answers_any_message_of_a_session() -> None:
    clock = Clock()
    claims = MemoryClaims(clock)
    endpoints = [endpoint(claims) for _ in range(3)]
    rng = random.Random(7)
    app = MinimalServerApp(uris=URIS)
    device = Device.make(clock)
    used: set[int] = set()

    def pick() -> ServerEndpoint:
        index = rng.randrange(len(endpoints))
        used.add(index)
        return endpoints[index]

    device.run(pick, app)
    assert device.driver.ended is not None
    assert device.driver.ended.reason is ev.EndReason.COMPLETED
    assert completed_uris(app) == list(URIS)  # every Get answered once
    assert len(used) > 1 and all(len(e) == 0 for e in endpoints)  # nothing kept in memory
    # the ended session is kept only as its last answer, for a re-send
    (row,) = claims.rows.values()
    assert row.snapshot is None and row.reply is not None and row.lease is None


def test_a_resent_message_gets_the_committed_answer_and_runs_nothing_twice() -> None:
    clock = Clock()
    claims = MemoryClaims(clock)
    first, second = endpoint(claims), endpoint(claims)
    app = MinimalServerApp(uris=URIS)
    device = Device.make(clock)
    package1 = device.next_request()
    assert package1 is not None
    lost = first.handle(package1, app, clock)  # its answer "times out" on the way back
    events_before = len(app.completed)
    again = second.handle(package1, app, clock)
    assert again == lost  # the same answer, byte for byte
    device.answer(again)
    package3 = device.next_request()
    assert package3 is not None
    answer = second.handle(package3, app, clock)
    assert len(app.completed) == events_before + len(URIS)
    # the last message re-sent after the session ended: the same answer again
    assert first.handle(package3, app, clock) == answer
    assert len(app.completed) == events_before + len(URIS)
    device.answer(answer)
    assert device.next_request() is None
    assert device.driver.ended is not None
    assert device.driver.ended.reason is ev.EndReason.COMPLETED


def test_a_rebuilt_resend_with_the_same_msg_id_gets_the_committed_answer() -> None:
    rig = Rig.make()
    clock, claims, app = rig.clock, rig.claims, rig.app
    ep = endpoint(claims)
    package3 = rig.second_message(ep)
    answer = ep.handle(package3, app, clock)
    # the same message rebuilt: other bytes (whitespace), the same SessionID and MsgID
    rebuilt = attrs.evolve(package3, body=package3.body.replace(b"<SyncHdr>", b"<SyncHdr> "))
    assert rebuilt.body != package3.body
    assert ep.handle(rebuilt, app, clock) == answer
    assert completed_uris(app) == list(URIS)
    # a rebuilt re-send of a message that is NOT the last one answered is refused
    assert rig.first is not None
    stale = attrs.evolve(
        rig.first,
        target=package3.target,  # to the RespURI: the ended session
        body=rig.first.body.replace(b"<SyncHdr>", b"<SyncHdr> "),
    )
    assert ep.handle(stale, app, clock).status == 404  # ended; only the last answer is kept


def test_a_busy_session_gets_a_retryable_503() -> None:
    rig = Rig.make(lease_seconds=10.0)
    clock, claims, app, device = rig.clock, rig.claims, rig.app, rig.device
    ep = endpoint(claims)
    package3 = rig.second_message(ep)
    token = package3.target.split("s=")[1]
    held = claims.claim(token)  # another worker is answering a request of it
    assert isinstance(held, Claimed)
    refused = ep.handle(package3, app, clock)
    assert refused.status == 503 and ("Retry-After", "1") in refused.headers
    assert app.completed == []  # not processed
    claims.release(held)
    device.answer(ep.handle(package3, app, clock))
    assert completed_uris(app) == list(URIS)


def test_a_dead_workers_lease_runs_out_and_the_session_continues_from_its_snapshot() -> None:
    rig = Rig.make(lease_seconds=5.0)
    clock, claims, app, device = rig.clock, rig.claims, rig.app, rig.device
    dying, survivor = endpoint(claims), endpoint(claims)
    package3 = rig.second_message(dying)
    # the dying worker claims the session and processes the message half-way...
    opened = dying.open(package3, clock())
    assert isinstance(opened, Exchange)
    # the session restored for this request carries its token in its RespURI
    assert opened.session.config.resp_uri is not None
    assert opened.session.config.resp_uri.endswith(package3.target.partition("?")[2])
    step = opened.poll(clock())
    assert isinstance(step, Deliver)
    app(opened.session, step.event)  # ...and is killed here: no commit, no release
    refused = survivor.handle(package3, app, clock)
    assert refused.status == 503  # the lease still runs
    clock.advance(5.5)
    app.completed.clear()  # what the dead worker's app saw was never committed
    device.answer(survivor.handle(package3, app, clock))
    assert completed_uris(app) == list(URIS)
    assert device.next_request() is None
    assert device.driver.ended is not None
    assert device.driver.ended.reason is ev.EndReason.COMPLETED


def test_an_answer_whose_lease_was_lost_is_not_sent() -> None:
    rig = Rig.make(lease_seconds=5.0)
    clock, claims, app = rig.clock, rig.claims, rig.app
    slow, fast = endpoint(claims), endpoint(claims)
    package3 = rig.second_message(slow)
    opened = slow.open(package3, clock())
    assert isinstance(opened, Exchange)
    clock.advance(6.0)  # the slow worker overran its lease; the device re-sent
    answer = fast.handle(package3, app, clock)
    assert answer.status == 200
    while isinstance(step := opened.poll(clock()), Deliver):
        app(opened.session, step.event)
    assert isinstance(step, Respond)
    assert step.response.status == 503  # the slow answer would contradict the committed one
    assert len(slow) == 0


def test_the_device_that_does_not_follow_resp_uri_is_routed_by_session_id() -> None:
    clock = Clock()
    claims = MemoryClaims(clock)
    endpoints = [endpoint(claims), endpoint(claims)]
    app = MinimalServerApp(uris=URIS)
    device = Device.make(clock)
    turn = iter(range(100))

    def pick() -> ServerEndpoint:
        return endpoints[next(turn) % 2]

    device.strip_token = True
    device.run(pick, app)
    assert all(r.target == "/dm" for r in device.sends)
    assert completed_uris(app) == list(URIS)
    assert device.driver.ended is not None
    assert device.driver.ended.reason is ev.EndReason.COMPLETED


def _refuse_everyone(session: ServerSession, event: ev.ServerSessionEvent) -> None:
    if isinstance(event, ev.AccountRequested):
        session.reject_device()


def test_authentication_retries_under_the_same_token_are_bounded() -> None:
    # OMA-TS-DM_Security-V1_2_1 "Authentication": max_auth_attempts (3) refused
    # sessions under one RespURI token, whichever endpoint answers, then 404.
    clock = Clock()
    claims = MemoryClaims(clock)
    endpoints = [endpoint(claims), endpoint(claims)]
    codes, target = [], "/dm"
    for msg_id in range(1, 6):
        body = wire_msg(
            "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>",
            msg_id,
            to_server=True,
            hdr_code=None,
            session_id="1",
        )
        request = HttpRequest(
            method="POST",
            target=target,
            headers=(("Host", "dm.example"), ("Content-Type", "application/vnd.syncml.dm+xml")),
            body=body,
        )
        response = endpoints[msg_id % 2].handle(request, _refuse_everyone, clock)
        if response.status != 200:
            codes.append(response.status)
            break
        message = decode_message(response.body)
        [hdr] = [c for c in message.commands if isinstance(c, Status) and c.cmd_ref == "0"]
        codes.append(hdr.code)
        assert message.header.resp_uri is not None
        target = parse_url(message.header.resp_uri).target
    assert codes == [401, 401, 401, 404]


def test_abandoned_sessions_are_purged_by_housekeeping_at_its_interval() -> None:
    clock = Clock()
    claims = MemoryClaims(clock)
    ep = endpoint(claims, purge_interval=10.0)
    app = MinimalServerApp(uris=URIS)
    device = Device.make(clock)
    package1 = device.next_request()
    assert package1 is not None
    ep.handle(package1, app, clock)  # the device never comes back (inactivity: 60 s)
    clock.advance(55.0)
    assert ep.expire(clock()) == []  # purged: nothing expired yet
    assert ep.next_deadline() == 65.0
    clock.advance(6.0)  # expired at 60, but the next purge is due at 65
    ep.expire(clock())
    assert len(claims.rows) == 1
    clock.advance(4.0)
    ep.expire(clock())
    assert claims.rows == {}


def test_an_unreadable_request_gets_a_dm_abort_and_no_row() -> None:
    claims = MemoryClaims(Clock())
    ep = endpoint(claims)
    junk = HttpRequest(
        method="POST",
        target="/dm",
        headers=(("Content-Type", "application/vnd.syncml.dm+xml"),),
        body=b"<SyncML><SyncHdr>",
    )
    response = ep.handle(junk, MinimalServerApp(), Clock())
    assert response.status == 200 and b"1223" in response.body
    assert claims.rows == {} and len(ep) == 0


@attrs.define
class Flaky(MemoryClaims):
    """A store whose database goes away: ``down`` names the failing methods."""

    down: set[str] = attrs.field(factory=set)

    def _check(self, name: str) -> None:
        if name in self.down:
            raise StoreUnavailable(name)

    def claim(self, token: str) -> Claimed | Busy | None:
        self._check("claim")
        return super().claim(token)

    def commit(self, claimed: Claimed, session: ServerSession, reply: Reply, **kw: Any) -> bool:
        self._check("commit")
        return super().commit(claimed, session, reply, **kw)

    def release(self, claimed: Claimed) -> None:
        self._check("release")
        super().release(claimed)

    def purge(self) -> list[tuple[str, tuple[str, str]]]:
        self._check("purge")
        return super().purge()


@pytest.mark.parametrize("failing", ["claim", "commit"])
def test_an_unreachable_store_answers_503_and_the_resend_succeeds(failing: str) -> None:
    rig = Rig.make(Flaky, lease_seconds=5.0)
    clock, claims, app, device = rig.clock, rig.claims, rig.app, rig.device
    ep = endpoint(claims)
    package3 = rig.second_message(ep)
    claims.down = {failing, "release", "purge"}
    refused = ep.handle(package3, app, clock)
    assert refused.status == 503 and ("Retry-After", "1") in refused.headers
    ep.expire(clock())  # housekeeping survives the outage
    claims.down = set()
    clock.advance(6.0)  # a lease the failed commit left behind runs out
    app.completed.clear()
    device.answer(ep.handle(package3, app, clock))
    assert completed_uris(app) == list(URIS)


def test_a_handler_abandoning_the_exchange_releases_the_lease() -> None:
    clock = Clock()
    claims = MemoryClaims(clock)
    ep = endpoint(claims)
    device = Device.make(clock)
    package1 = device.next_request()
    assert package1 is not None

    def failing(session: ServerSession, event: ev.ServerSessionEvent) -> None:
        raise RuntimeError("application bug")

    with pytest.raises(RuntimeError):
        ep.handle(package1, failing, clock)
    assert claims.rows == {}  # created, never committed: gone
    assert len(ep) == 0


def test_a_corrupt_snapshot_is_an_unknown_session() -> None:
    rig = Rig.make()
    clock, claims, app = rig.clock, rig.claims, rig.app
    ep = endpoint(claims)
    package3 = rig.second_message(ep)
    (row,) = claims.rows.values()
    row.snapshot = '{"not": "a snapshot"}'
    assert ep.handle(package3, app, clock).status == 404
    assert row.lease is None  # released


def test_max_sessions_bounds_requests_in_progress() -> None:
    clock = Clock()
    claims = MemoryClaims(clock)
    ep = endpoint(claims, max_sessions=1)
    first = Device.make(clock, "IMEI:1").next_request()
    second = Device.make(clock, "IMEI:2").next_request()
    assert first is not None and second is not None
    opened = ep.open(first, clock())
    assert isinstance(opened, Exchange)
    assert ep.open(second, clock()).status == 503  # type: ignore[union-attr]
    assert len(claims.rows) == 1  # the refused one left no row


def test_store_and_claims_exclude_each_other() -> None:
    with pytest.raises(ValueError, match="not both"):
        endpoint(MemoryClaims(Clock()), store=object())


def test_in_memory_endpoint_answers_a_resent_message_again() -> None:
    clock = Clock()
    config = server_config(random_bytes=os.urandom, server_uri="srv")
    ep = ServerEndpoint(config)
    app = MinimalServerApp(uris=URIS)
    device = Device.make(clock)
    package1 = device.next_request()
    assert package1 is not None
    lost = ep.handle(package1, app, clock)
    assert ep.handle(package1, app, clock) == lost
    device.answer(lost)
    device.run(lambda: ep, app)
    assert completed_uris(app) == list(URIS)


def test_a_rebuilt_resend_of_an_active_sessions_last_message_gets_its_answer() -> None:
    clock = Clock()
    claims = MemoryClaims(clock)
    ep = endpoint(claims)
    app = MinimalServerApp(uris=URIS)
    device = Device.make(clock)
    package1 = device.next_request()
    assert package1 is not None
    answer = ep.handle(package1, app, clock)
    events = len(app.completed)
    rebuilt = attrs.evolve(package1, body=package1.body.replace(b"<SyncHdr>", b"<SyncHdr> "))
    assert ep.handle(rebuilt, app, clock) == answer  # routed by SessionID + device id
    assert len(app.completed) == events
    device.answer(answer)
    device.run(lambda: ep, app)
    assert completed_uris(app) == list(URIS)


def test_unknown_expired_and_unreadable_requests_to_a_token_get_404() -> None:
    rig = Rig.make()
    clock, claims, app, device = rig.clock, rig.claims, rig.app, rig.device
    ep = endpoint(claims)
    package3 = rig.second_message(ep)
    unknown = attrs.evolve(package3, target="/dm?s=0123")
    assert ep.handle(unknown, app, clock).status == 404
    ended_token = package3.target
    device.answer(ep.handle(package3, app, clock))
    junk = attrs.evolve(package3, target=ended_token, body=b"<SyncML><SyncHdr>")
    assert ep.handle(junk, app, clock).status == 404  # ended, and not a re-send
    clock.advance(61.0)  # expired (not yet purged): gone too
    assert ep.handle(package3, app, clock).status == 404


def test_memory_claims_release_by_a_lost_lease_changes_nothing() -> None:
    clock = Clock()
    claims = MemoryClaims(clock, lease_seconds=5.0)
    first = claims.create("t", ("1", "IMEI:1"))
    clock.advance(6.0)  # the first holder's lease ran out
    second = claims.claim("t")
    assert isinstance(second, Claimed) and second.lease != first.lease
    claims.release(first)  # the old holder's late release
    assert isinstance(claims.claim("t"), Busy)  # the new lease still holds
    claims.release(second)
    assert claims.rows == {}  # created, never committed: gone once released
