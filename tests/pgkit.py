"""A private PostgreSQL server for the tests: the session-scoped ``postgres``
fixture, a :class:`dmproto_server.pgcluster.Cluster` (a throw-away cluster started
with ``initdb`` and ``pg_ctl`` in a temporary folder, on a free port, as ``nobody``
under root). Tests ask it for a fresh database each (``postgres.new_database()``);
they are skipped, saying why, when the binaries or psycopg are missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dmproto_server.pgcluster import Cluster, find_bindir

__all__ = ["Cluster", "postgres"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A private PostgreSQL cluster for the whole test session."""
    pytest.importorskip("psycopg", reason="psycopg 3 is missing (pip install -e '.[test]')")
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL's initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin "
            "(Debian: apt-get install postgresql; .ci/run installs it)"
        )
    with Cluster(bindir) as cluster:
        yield cluster
