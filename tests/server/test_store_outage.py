"""A PostgreSQL server that restarts or goes away: the failing call raises
StoreUnavailable (the device gets a retryable answer), a later one reconnects."""

from __future__ import annotations

import pytest
from dmproto_server import ServerStore, connect
from pgkit import Cluster

from dmproto.bindings.claims import Claimed, Reply, StoreUnavailable
from dmproto.bindings.http import HttpResponse
from dmproto.session import ServerSession
from dmproto.testing import server_config

REPLY = Reply(msg_id=1, digest=b"d" * 32, response=HttpResponse(status=200, headers=[]))


def test_a_restarted_server_fails_one_call_then_works(postgres: Cluster) -> None:
    store = ServerStore(connect(postgres.new_database()))
    try:
        store.put_account("dev", "pw")
        digest = store.md5_digest("dev")
        assert store.commit(store.create("tok", ("1", "IMEI:1")), ServerSession(server_config()),
                            REPLY, expires_in=600)  # fmt: skip
        postgres.restart()  # cuts every open connection
        with pytest.raises(StoreUnavailable) as info:
            store.md5_digest("dev")
        assert len(str(info.value).splitlines()) == 1
        assert store.md5_digest("dev") == digest  # reconnected
        assert isinstance(store.claim("tok"), Claimed)  # the session survived
    finally:
        store.close()


def test_a_stopped_server_fails_every_call_until_it_is_back(postgres: Cluster) -> None:
    store = ServerStore(connect(postgres.new_database()))
    try:
        store.put_account("dev", "pw")
        postgres.stop()
        try:
            for _ in range(2):  # the cut connection, then a refused reconnect
                with pytest.raises(StoreUnavailable):
                    store.md5_digest("dev")
            session = ServerSession(server_config())
            store.put_outcome("IMEI:1", "1", "status", "Get ./A", 200, [], {}, session=session)
            with pytest.raises(StoreUnavailable):
                store.commit(_lost_claim(), session, REPLY, expires_in=60)
            assert store.pending(session) == 0  # the failed exchange left nothing queued
        finally:
            postgres.start()
        assert store.md5_digest("dev") is not None
        assert list(store.outcomes()) == []
    finally:
        store.close()


def _lost_claim() -> Claimed:
    return Claimed(token="tok", key=("1", "IMEI:1"), snapshot=None, lease="1:gone")
