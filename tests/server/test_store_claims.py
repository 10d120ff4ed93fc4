"""ServerStore as a SessionClaims store: leases, compare-and-set commits, replies
kept for re-sends, finding and purging sessions, and the writes of an exchange
stored with its snapshot or not at all — on SQLite and PostgreSQL, with a clock the
tests move (no timing)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from dmproto_server import ServerStore, Transaction, connect

from dmproto.bindings.claims import Busy, Claimed, Reply, SessionClaims
from dmproto.bindings.http import HttpResponse
from dmproto.session import ServerSession
from dmproto.session import events as ev
from dmproto.testing import server_config

KEY = ("41", "IMEI:1")
LEASE = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stores(target: str, clock: Clock) -> Iterator[tuple[ServerStore, ServerStore]]:
    """Two workers' stores on one database (each with its own connection)."""
    pair = tuple(
        ServerStore(connect(target), lease_seconds=LEASE, clock=clock, owner=name)
        for name in ("w1", "w2")
    )
    yield pair[0], pair[1]
    for store in pair:
        store.close()


def _reply(msg_id: int = 1, body: bytes = b"<SyncML>answer</SyncML>") -> Reply:
    return Reply(
        msg_id=msg_id,
        digest=bytes(range(32)),
        response=HttpResponse(
            status=200,
            headers=[("Content-Type", "application/vnd.syncml.dm+xml"), ("X-N", "1")],
            body=body,
        ),
    )


def _active() -> ServerSession:
    return ServerSession(server_config())


def _ended() -> ServerSession:
    session = ServerSession(server_config())
    session.abort()
    return session


def _count(store: ServerStore, table: str) -> int:
    with store.db.transaction() as tx:
        [(n,)] = tx.execute(f"SELECT COUNT(*) FROM {table}")
    return int(n)


def test_it_is_a_session_claims_store(stores: tuple[ServerStore, ServerStore]) -> None:
    claims: SessionClaims = stores[0]  # (mypy checks the protocol; this runs it)
    assert claims.claim("nothing") is None and claims.find(KEY) is None


def test_claim_busy_commit_and_claim_again(
    stores: tuple[ServerStore, ServerStore], clock: Clock
) -> None:
    one, two = stores
    created = one.create("tok", KEY)
    assert created.snapshot is None and created.reply is None
    busy = two.claim("tok")
    assert isinstance(busy, Busy) and 0 < busy.retry_after <= 1.0
    session = _active()
    assert one.commit(created, session, _reply(), expires_in=60)
    clock.now += 1
    claimed = two.claim("tok")
    assert isinstance(claimed, Claimed)
    assert claimed.key == KEY and claimed.snapshot == session.snapshot()
    assert claimed.reply == _reply() and claimed.auth_retries is None
    assert isinstance(one.claim("tok"), Busy)  # held by two now
    assert two.commit(claimed, ServerSession.restore(claimed.snapshot, config=server_config()),
                      _reply(2, b"second"), expires_in=60)  # fmt: skip
    again = one.claim("tok")
    assert isinstance(again, Claimed) and again.reply == _reply(2, b"second")


def test_a_lease_of_a_dead_worker_expires_and_its_commit_then_fails(
    stores: tuple[ServerStore, ServerStore], clock: Clock
) -> None:
    one, two = stores
    first = one.create("tok", KEY)
    assert one.commit(first, _active(), _reply(), expires_in=600)
    stale = one.claim("tok")
    assert isinstance(stale, Claimed)
    clock.now += LEASE - 0.5
    assert isinstance(two.claim("tok"), Busy)
    clock.now += 1.0  # the lease ran out: another worker takes the session over
    taken = two.claim("tok")
    assert isinstance(taken, Claimed) and taken.snapshot == stale.snapshot
    late = _active()
    one.put_outcome("IMEI:1", "41", "status", "Get ./A", 200, [], {}, session=late)
    assert not one.commit(stale, late, _reply(9, b"late"), expires_in=600)
    assert one.pending(late) == 0  # the lost exchange's writes are dropped
    assert _count(one, "outcomes") == 0
    one.release(stale)  # a stale release frees nothing
    assert isinstance(one.claim("tok"), Busy)
    assert two.commit(taken, _active(), _reply(2), expires_in=600)
    final = one.claim("tok")
    assert isinstance(final, Claimed) and final.reply == _reply(2)


def test_release_gives_the_session_back_unchanged(
    stores: tuple[ServerStore, ServerStore],
) -> None:
    one, two = stores
    session = _active()
    assert one.commit(one.create("tok", KEY), session, _reply(), expires_in=60)
    claimed = one.claim("tok")
    assert isinstance(claimed, Claimed)
    failed = _active()
    one.put_nonce("IMEI:1", ev.NonceRole.SERVER, b"n-1", session=failed)
    one.release(claimed, failed)
    assert one.pending(failed) == 0
    again = two.claim("tok")
    assert isinstance(again, Claimed)
    assert again.snapshot == session.snapshot() and again.reply == _reply()
    assert one.nonce("IMEI:1", ev.NonceRole.SERVER) == b""


def test_an_ended_session_keeps_only_its_reply_until_it_expires(
    stores: tuple[ServerStore, ServerStore], clock: Clock
) -> None:
    one, two = stores
    assert one.commit(one.create("tok", KEY), _ended(), _reply(3), expires_in=30, auth_retries=1)
    assert one.find(KEY) is None  # ended: a new Package 1 starts a new session
    tomb = two.claim("tok")
    assert isinstance(tomb, Claimed)
    assert tomb.snapshot is None and tomb.reply == _reply(3) and tomb.auth_retries == 1
    two.release(tomb)
    clock.now += 31
    assert one.claim("tok") is None


def test_find_gives_the_newest_unexpired_active_session(
    stores: tuple[ServerStore, ServerStore], clock: Clock
) -> None:
    one, two = stores
    assert one.commit(one.create("old", KEY), _active(), _reply(), expires_in=100)
    clock.now += 5
    assert two.commit(two.create("new", KEY), _active(), _reply(), expires_in=100)
    assert one.commit(one.create("other", ("42", "IMEI:1")), _active(), _reply(), expires_in=100)
    assert one.find(KEY) == "new" and two.find(("42", "IMEI:1")) == "other"
    assert one.find(("41", "IMEI:2")) is None
    clock.now += 101
    assert one.find(KEY) is None and one.claim("new") is None


def test_purge_deletes_expired_unleased_sessions_and_reports_the_active_ones(
    stores: tuple[ServerStore, ServerStore], clock: Clock
) -> None:
    one, two = stores
    assert one.commit(one.create("abandoned", KEY), _active(), _reply(), expires_in=5)
    assert one.commit(one.create("ended", ("2", "IMEI:2")), _ended(), _reply(), expires_in=5)
    assert one.commit(one.create("alive", ("3", "IMEI:3")), _active(), _reply(), expires_in=50)
    assert one.commit(one.create("busy", ("4", "IMEI:4")), _active(), _reply(), expires_in=5)
    one.create("never-committed", ("5", "IMEI:5"))  # expires with its lease
    held = two.claim("busy")
    assert isinstance(held, Claimed)
    clock.now += 6  # all but "alive" expired; "busy" and "never-committed" are leased
    assert one.purge() == [("abandoned", KEY)]  # "ended" went too, unreported
    assert one.claim("ended") is None
    clock.now += 5  # the leases ran out
    calls: list[list[tuple[str, tuple[str, str]]]] = []

    def hook(tx: Transaction, purged: list[tuple[str, tuple[str, str]]]) -> None:
        calls.append(purged)
        tx.execute(
            "INSERT INTO jobs (device_id, created, max_retries) VALUES (?, ?, ?)", "settled", 0, 0
        )

    purged = two.purge(hook)
    assert purged == [("busy", ("4", "IMEI:4"))]  # never-committed had not started
    assert calls == [purged]
    assert _count(one, "jobs") == 1  # the hook wrote in the purge's transaction
    assert _count(one, "sessions") == 1 and isinstance(one.claim("alive"), Claimed)
    assert two.purge() == []


def test_a_failing_purge_hook_deletes_nothing(
    stores: tuple[ServerStore, ServerStore], clock: Clock
) -> None:
    one, _ = stores
    assert one.commit(one.create("abandoned", KEY), _active(), _reply(), expires_in=5)
    clock.now += 60

    def hook(tx: Transaction, purged: list[tuple[str, tuple[str, str]]]) -> None:
        raise RuntimeError("cannot settle")

    with pytest.raises(RuntimeError):
        one.purge(hook)
    assert _count(one, "sessions") == 1
    assert one.purge() == [("abandoned", KEY)]


def test_an_exchange_is_stored_whole(stores: tuple[ServerStore, ServerStore]) -> None:
    one, two = stores
    claimed = one.create("tok", KEY)
    session = _active()
    one.put_nonce("IMEI:1", ev.NonceRole.CLIENT, b"c-nonce", session=session)
    one.device_seen("IMEI:1", {"Mod": "X1"}, session=session)
    one.put_outcome("IMEI:1", "41", "status", "Get ./A", 200, ["v"], {}, session=session)
    one.later(session, "INSERT INTO jobs (device_id, created) VALUES (?, ?)", "IMEI:1", 1.0)
    assert one.pending(session) == 4
    # nothing is visible before the commit, to this worker or another
    assert two.nonce("IMEI:1", ev.NonceRole.CLIENT) == b""
    assert two.devices() == [] and list(two.outcomes()) == [] and _count(two, "jobs") == 0
    assert one.commit(claimed, session, _reply(), expires_in=60)
    assert two.nonce("IMEI:1", ev.NonceRole.CLIENT) == b"c-nonce"
    assert [d["dev_info"] for d in two.devices()] == [{"Mod": "X1"}]
    assert [r["command"] for r in two.outcomes()] == ["Get ./A"]
    assert _count(two, "jobs") == 1 and one.pending(session) == 0


def test_a_commit_that_fails_in_the_database_stores_nothing(
    stores: tuple[ServerStore, ServerStore],
) -> None:
    one, _ = stores
    claimed = one.create("tok", KEY)
    session = _active()
    one.put_outcome("IMEI:1", "41", "status", "Get ./A", 200, [], {}, session=session)
    one.later(session, "INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(Exception, match="no_such_table"):
        one.commit(claimed, session, _reply(), expires_in=60)
    assert list(one.outcomes()) == []
    reclaimed = one.claim("tok")
    assert isinstance(reclaimed, Busy)  # the lease is still the failed exchange's


def test_flush_writes_the_buffer_of_a_store_used_without_claims(
    stores: tuple[ServerStore, ServerStore],
) -> None:
    one, two = stores
    session = _active()
    one.put_nonce("IMEI:1", ev.NonceRole.SERVER, b"s", session=session)
    assert two.nonce("IMEI:1", ev.NonceRole.SERVER) == b""
    one.flush(session)
    assert two.nonce("IMEI:1", ev.NonceRole.SERVER) == b"s" and one.pending(session) == 0


def test_of_workers_claiming_one_session_at_once_exactly_one_wins(target: str) -> None:
    setup = ServerStore(connect(target))
    assert setup.commit(setup.create("tok", KEY), _active(), _reply(), expires_in=60)
    setup.close()
    workers = [ServerStore(connect(target), owner=f"w{i}") for i in range(4)]
    barrier, results = threading.Barrier(len(workers)), []

    def claim(store: ServerStore) -> None:
        barrier.wait()
        results.append(store.claim("tok"))

    threads = [threading.Thread(target=claim, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w.close()
    assert len(results) == len(workers)
    assert sum(isinstance(r, Claimed) for r in results) == 1
    assert sum(isinstance(r, Busy) for r in results) == len(workers) - 1
