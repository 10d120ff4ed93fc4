"""Password guessing: failed authentications lock an account or device id for a while.

:class:`ServerEndpoint` counts every refused credential (the session's
``CredentialsRefused``: a wrong password, digest or MAC, OMA-TS-DM_Security-V1_2_1
§5.1) and every device the application rejected (``reject_device``) against two
keys: the account name the device asked for and its device id (for a request
with a verified TLS client certificate: that certificate instead). ``max_failures``
within ``window`` seconds lock the key for ``lockout`` seconds; each further lock
without a success in between lasts twice as long, up to ``max_lockout`` (the
backoff). While a key is locked, a new session for it is refused before any
credential is checked — the right password too — so guessing gains nothing; once
the lock ends, the next attempt is judged normally, and a success forgets the
key. Attempts refused because of a lock do not count, so an attacker cannot
lengthen a lock by hammering it: no lock outlasts ``max_lockout``, and a
legitimate device gets in once it ends.

Pure and clock-free: every call takes ``now`` (seconds, the adapter's monotonic
clock). The table holds at most ``max_entries`` keys: when full, the key that
failed least recently is forgotten, unlocked keys before locked ones. See
``docs/reliability.md``, "Password guessing".
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from typing import Any

import attrs

from ..errors import InvalidValueError

__all__ = ["KeyKind", "Lockout", "LockoutPolicy"]


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise InvalidValueError("lockout.config", f"{attribute.name} must be positive")


@attrs.frozen(kw_only=True)
class LockoutPolicy:
    """How failed authentications are throttled (``ServerEndpoint(lockout=...)``)."""

    #: Failures of one key within ``window`` that lock it.
    max_failures: int = attrs.field(default=5, validator=_positive)
    #: Seconds over which failures are counted (a quieter key starts afresh).
    window: float = attrs.field(default=900.0, validator=_positive)
    #: Seconds the first lock lasts; each next one (no success between) doubles.
    lockout: float = attrs.field(default=60.0, validator=_positive)
    #: The backoff cap: no lock lasts longer.
    max_lockout: float = attrs.field(default=3600.0, validator=_positive)
    #: Keys remembered at most (bounded memory under a spray of names).
    max_entries: int = attrs.field(default=10_000, validator=_positive)


class KeyKind(enum.Enum):
    """What a lockout key names."""

    ACCOUNT = "account"  #: the account name (``AccountRequested.username``)
    DEVICE = "device"  #: the device id (SyncHdr Source/LocURI)
    #: the fingerprint of the request's verified TLS client certificate (used
    #: instead of the two others: only its holder can fail or succeed with it)
    CERTIFICATE = "certificate"


Key = tuple[KeyKind, str]


@attrs.define
class _Entry:
    window_start: float
    failures: int = 0
    #: Locks so far without a success in between (the backoff exponent).
    locks: int = 0
    locked_until: float | None = None


class Lockout:
    """The failure table of one endpoint (kept in this process)."""

    def __init__(self, policy: LockoutPolicy):
        self.policy = policy
        # Least recently failed first; locked keys kept apart so that a spray of
        # new names evicts unlocked keys first.
        self._counting: OrderedDict[Key, _Entry] = OrderedDict()
        self._locked: OrderedDict[Key, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counting) + len(self._locked)

    def locked_until(self, keys: list[Key], now: float) -> float | None:
        """When the last lock among *keys* ends, or ``None`` if none is locked."""
        ends = [until for key in keys if (until := self._lock_end(key, now)) is not None]
        return max(ends, default=None)

    def _lock_end(self, key: Key, now: float) -> float | None:
        entry = self._locked.get(key)
        if entry is None:
            return None
        assert entry.locked_until is not None
        if entry.locked_until > now:
            return entry.locked_until
        # The lock is over: the key counts again (its backoff exponent is kept).
        del self._locked[key]
        entry.locked_until = None
        entry.failures = 0
        entry.window_start = now
        self._counting[key] = entry
        return None

    def failed(self, keys: list[Key], now: float) -> None:
        """One failed authentication for each of *keys*."""
        for key in keys:
            if self._lock_end(key, now) is not None:
                continue  # refused while locked: does not lengthen the lock
            entry = self._counting.pop(key, None)
            if entry is None or now - entry.window_start > self.policy.window:
                locks = entry.locks if entry is not None else 0
                entry = _Entry(window_start=now, locks=locks)
            entry.failures += 1
            if entry.failures >= self.policy.max_failures:
                duration = self.policy.lockout * 2.0 ** min(entry.locks, 64)
                entry.locks += 1
                entry.locked_until = now + min(duration, self.policy.max_lockout)
                self._make_room()
                self._locked[key] = entry
            else:
                self._make_room()
                self._counting[key] = entry

    def succeeded(self, keys: list[Key]) -> None:
        """A successful authentication: *keys* are forgotten (backoff included)."""
        for key in keys:
            self._counting.pop(key, None)
            self._locked.pop(key, None)

    def _make_room(self) -> None:
        if len(self) < self.policy.max_entries:
            return
        table = self._counting or self._locked
        del table[next(iter(table))]
