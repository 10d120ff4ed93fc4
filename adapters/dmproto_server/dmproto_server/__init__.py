"""The server application's storage: accounts, nonces, devices, outcomes, the
command queue's tables and session snapshots shared by workers, in an SQLite file
or a PostgreSQL database (``pip install 'dmproto[server]'`` for psycopg 3).

``dmproto serve`` builds on it; an application of its own may too::

    from dmproto_server import ServerStore, connect

    store = ServerStore(connect("postgresql://dm@db.example:5432/dm"))

:class:`ServerStore` implements :class:`dmproto.bindings.claims.SessionClaims`.
"""

from .database import Database, Dialect, StoreError, Transaction, connect
from .store import ChildOutcome, PurgeHook, ServerStore

__all__ = [
    "ChildOutcome",
    "Database",
    "Dialect",
    "PurgeHook",
    "ServerStore",
    "StoreError",
    "Transaction",
    "connect",
]
