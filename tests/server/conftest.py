"""Every store behaviour on both engines: ``target`` is a fresh SQLite file or a
fresh database on the private PostgreSQL cluster (tests/pgkit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pgkit import postgres  # noqa: F401 (the session-scoped cluster fixture)


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a new, empty database is: a file path or a ``postgresql://`` URL."""
    if request.param == "sqlite":
        return str(tmp_path / "server.sqlite3")
    return str(request.getfixturevalue("postgres").new_database())
