"""Session benchmark (not a test): ``python bench/session.py [--quick] [--json]``.

Measures, for a client/server pair talking through real encode/decode:

* sessions per second: MD5 with one challenge (stale device nonce), then one
  package of 20 mixed commands (Get, Replace, Add, Delete, Exec, UI alert, Atomic),
  answered by the client, then the Status-only end — in XML and in WBXML;
* the share of that time spent in the codec (encode_message + decode_message);
* sessions per second with 10 .. 10 000 sessions open at once (round-robin), which
  should stay flat;
* memory per idle server session (tracemalloc), after Package 1 was answered
  and the session waits for the device's next message; and the snapshot size.

``--json`` prints only one JSON object: ``sessions_per_s`` (``xml``, ``wbxml``: the median
of rounds run interleaved, XML, WBXML, XML, ...; per CPU second of this process, so that
other load on a shared machine does not set the figure) and ``codec_share`` (codec time
over all time in those rounds).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
import tracemalloc
from typing import Any

import dmproto.session._core as core
import dmproto.session._packaging as packaging
from dmproto.codec import Encoding
from dmproto.codec.model import Add, Atomic, Command, Delete, Exec, Get, Item, Location, Replace
from dmproto.codes import AlertCode
from dmproto.outcome import CommandOutcome
from dmproto.security import AuthScheme, Credentials
from dmproto.session import (
    Account,
    ClientConfig,
    ClientSession,
    ServerConfig,
    ServerSession,
    SessionState,
)
from dmproto.session import events as ev
from dmproto.session.ui import ui_alert

CREDS = Credentials(username="dev", password="secret")


def rnd(seed: int) -> Any:
    counter = [0]

    def random_bytes(n: int) -> bytes:
        counter[0] += 1
        return hashlib.sha256(f"{seed}:{counter[0]}".encode()).digest()[:n]

    return random_bytes


DEV_INFO = tuple(
    Item(source=Location(loc_uri=f"./DevInfo/{n}"), data=v)
    for n, v in [
        ("DevId", "IMEI:1"),
        ("Man", "Acme"),
        ("Mod", "X1"),
        ("DmV", "1.2"),
        ("Lang", "en-US"),
    ]
)


def commands() -> list[Command]:
    out: list[Command] = []
    for i in range(3):
        out += [
            Get(cmd_id=None, items=(Item(target=Location(loc_uri=f"./DevDetail/N{i}")),)),
            Replace(cmd_id=None, items=(Item(target=Location(loc_uri=f"./a/{i}"), data="x" * 40),)),
            Add(cmd_id=None, items=(Item(target=Location(loc_uri=f"./b/{i}"), data="y"),)),
            Delete(cmd_id=None, items=(Item(target=Location(loc_uri=f"./c/{i}")),)),
            Exec(cmd_id=None, correlator=f"c{i}", items=(Item(target=Location(loc_uri="./e")),)),
        ]
    out += [ui_alert(AlertCode.DISPLAY, "Updating") for _ in range(3)]
    out.append(
        Atomic(
            cmd_id=None,
            commands=(
                Add(cmd_id=None, items=(Item(target=Location(loc_uri="./t/1"), data="1"),)),
                Replace(cmd_id=None, items=(Item(target=Location(loc_uri="./t/2"), data="2"),)),
            ),
        )
    )
    out.append(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./DevInfo/Mod")),)))
    assert len(out) == 20
    return out


def answer(command: Any) -> CommandOutcome:
    if isinstance(command, Atomic):
        return CommandOutcome(code=200, children=tuple(answer(c) for c in command.commands))
    if isinstance(command, Get):
        target = command.items[0].target
        uri = target.loc_uri if target is not None else ""
        return CommandOutcome(code=200, results=(Item(source=Location(loc_uri=uri), data="value"),))
    return CommandOutcome(code=200)


class PairRun:
    """One client/server pair talking in memory; :meth:`step` is one round trip."""

    def __init__(self, encoding: Encoding, seed: int) -> None:
        self.client = ClientSession(
            ClientConfig(
                random_bytes=rnd(seed),
                server_uri="https://dm.example/dm",
                device_id="IMEI:1",
                dev_info=DEV_INFO,
                credentials=CREDS,
                auth_scheme=AuthScheme.MD5,
                client_nonce=b"stale",
                encoding=encoding,
                session_id="1",
            )
        )
        self.server = ServerSession(
            ServerConfig(random_bytes=rnd(seed + 1), server_uri="https://dm.example/dm")
        )
        self.account = Account(credentials=CREDS, client_nonce=b"fresh")
        self.messages = 0

    def step(self, now: float = 0.0) -> bool:
        """Carry one request and its response; False once the session is over."""
        client, server = self.client, self.server
        out = client.messages_to_send(now) if client.state is SessionState.ACTIVE else []
        if not out:
            assert server.state is SessionState.FINISHED
            return False
        server.receive_message(
            out[0].body, media_type=out[0].media_type, headers=out[0].headers, now=now
        )
        while (e := server.next_event()) is not None:
            if isinstance(e, ev.AccountRequested):
                server.supply_account(self.account)
            elif isinstance(e, ev.PackageCompleted):
                if e.package == 1:
                    for command in commands():
                        server.queue(command)
                    server.close_package()
                else:
                    server.end_session()
        (reply,) = server.messages_to_send(now)
        client.receive_message(
            reply.body, media_type=reply.media_type, headers=reply.headers, now=now
        )
        while (e := client.next_event()) is not None:
            if isinstance(e, ev.CommandReceived):
                client.respond(e.handle, answer(e.command))
        self.messages += 2
        return True


def one_session(encoding: Encoding, seed: int) -> int:
    pair = PairRun(encoding, seed)
    while pair.step():
        pass
    return pair.messages


class CodecClock:
    """Wraps the codec entry points the session uses to time them."""

    def __init__(self, clock: Any = time.perf_counter) -> None:
        self.clock = clock
        self.spent = 0.0
        self._orig_encode = packaging.__dict__["encode_message"]
        self._orig_decode = core.__dict__["decode_message"]

    def __enter__(self) -> CodecClock:
        def encode(*a: Any, **k: Any) -> Any:
            t = self.clock()
            try:
                return self._orig_encode(*a, **k)
            finally:
                self.spent += self.clock() - t

        def decode(*a: Any, **k: Any) -> Any:
            t = self.clock()
            try:
                return self._orig_decode(*a, **k)
            finally:
                self.spent += self.clock() - t

        packaging.__dict__["encode_message"] = encode
        core.__dict__["decode_message"] = decode
        return self

    def __exit__(self, *exc: object) -> None:
        packaging.__dict__["encode_message"] = self._orig_encode
        core.__dict__["decode_message"] = self._orig_decode


def rate(encoding: Encoding, n: int) -> None:
    one_session(encoding, 0)  # warm up
    with CodecClock() as clock:
        start = time.perf_counter()
        for i in range(n):
            messages = one_session(encoding, i)
        elapsed = time.perf_counter() - start
    print(
        f"{encoding.value:5s}: {n / elapsed:7.1f} sessions/s ({messages} messages each), "
        f"codec share {100 * clock.spent / elapsed:4.1f}%"
    )


def interleaved_rates(rounds: int, per_round: int) -> dict[str, Any]:
    """Median sessions/s per encoding over interleaved rounds, and the codec's share."""
    rates: dict[Encoding, list[float]] = {Encoding.XML: [], Encoding.WBXML: []}
    for encoding in rates:
        one_session(encoding, 0)  # warm up
    total = 0.0
    with CodecClock(time.process_time) as clock:
        for r in range(rounds):
            for encoding, found in rates.items():
                start = time.process_time()
                for i in range(per_round):
                    one_session(encoding, r * per_round + i)
                elapsed = time.process_time() - start
                total += elapsed
                found.append(per_round / elapsed)
    return {
        "sessions_per_s": {e.value: statistics.median(found) for e, found in rates.items()},
        "codec_share": clock.spent / total,
    }


def concurrency(encoding: Encoding, levels: tuple[int, ...]) -> None:
    """Sessions/s with K sessions open at once, advanced round-robin one round trip at a
    time (how a server interleaves devices): flat means no per-session cost grows with K."""
    rates = []
    for k in levels:
        pairs = [PairRun(encoding, 1000 * k + i) for i in range(k)]
        start = time.perf_counter()
        while pairs:
            pairs = [pair for pair in pairs if pair.step()]
        rates.append(k / (time.perf_counter() - start))
    cells = ", ".join(f"{k}: {r:6.1f}" for k, r in zip(levels, rates, strict=True))
    print(
        f"{encoding.value:5s} sessions/s by concurrent sessions  {cells}"
        f"  (max/min {max(rates) / min(rates):.2f}, target flat)"
    )


def idle_memory(n: int) -> None:
    client_cfg = ClientConfig(
        random_bytes=rnd(9),
        server_uri="https://dm.example/dm",
        device_id="IMEI:1",
        dev_info=DEV_INFO,
        credentials=CREDS,
        client_nonce=b"fresh",
        session_id="1",
    )
    server_cfg = ServerConfig(random_bytes=rnd(10), server_uri="https://dm.example/dm")
    (pkg1,) = ClientSession(client_cfg).messages_to_send(0.0)
    account = Account(credentials=CREDS, client_nonce=b"fresh")
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    sessions = []
    for _ in range(n):
        server = ServerSession(server_cfg)
        server.receive_message(pkg1.body, media_type=pkg1.media_type, now=0.0)
        while (e := server.next_event()) is not None:
            if isinstance(e, ev.AccountRequested):
                server.supply_account(account)
            elif isinstance(e, ev.PackageCompleted):
                server.queue(Get(cmd_id=None, items=(Item(target=Location(loc_uri="./a")),)))
                server.close_package()
        server.messages_to_send(0.0)
        sessions.append(server)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(s.size_diff for s in after.compare_to(before, "filename"))
    snap = len(json.dumps(sessions[0].snapshot()))
    print(
        f"idle server session: {used / n / 1024:5.1f} KiB each (tracemalloc, {n} sessions); "
        f"snapshot {snap} bytes of JSON"
    )


def main() -> None:
    quick = "--quick" in sys.argv
    if "--json" in sys.argv:
        print(json.dumps(interleaved_rates(5 if quick else 11, 10 if quick else 40)))
        return
    n = 20 if quick else 200
    print("pair: MD5 with one challenge, 20 mixed commands, Status-only end")
    for encoding in (Encoding.XML, Encoding.WBXML):
        rate(encoding, n)
    levels = (10, 100, 1000) if quick else (10, 100, 1000, 10_000)
    for encoding in (Encoding.XML, Encoding.WBXML):
        concurrency(encoding, levels)
    idle_memory(100 if quick else 1000)


if __name__ == "__main__":
    main()
