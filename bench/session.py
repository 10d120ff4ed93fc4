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
from dmproto.session import ClientSession, ServerSession, SessionState
from dmproto.session.ui import ui_alert
from dmproto.testing import MinimalServerApp, Pair, account, client_config, server_config

# The device sends a stale nonce: MD5 with one challenge before the session goes on.
STALE = {"client_nonce": b"stale", "server_credentials": None}
FRESH = account(client_nonce=b"fresh", server_credentials=None)


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


def pair(encoding: Encoding) -> Pair:
    """One client/server pair talking in memory (``dmproto.testing.Pair``): the server
    sends the 20 commands in its first package, the client answers them all 200."""
    return Pair.make(client={**STALE, "encoding": encoding}, account=FRESH, packages=[commands()])


def one_session(encoding: Encoding) -> int:
    run = pair(encoding)
    while run.step():
        pass
    assert run.server.state is SessionState.FINISHED
    return len(run.transcript)


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
    one_session(encoding)  # warm up
    with CodecClock() as clock:
        start = time.perf_counter()
        for _ in range(n):
            messages = one_session(encoding)
        elapsed = time.perf_counter() - start
    print(
        f"{encoding.value:5s}: {n / elapsed:7.1f} sessions/s ({messages} messages each), "
        f"codec share {100 * clock.spent / elapsed:4.1f}%"
    )


def interleaved_rates(rounds: int, per_round: int) -> dict[str, Any]:
    """Median sessions/s per encoding over interleaved rounds, and the codec's share."""
    rates: dict[Encoding, list[float]] = {Encoding.XML: [], Encoding.WBXML: []}
    for encoding in rates:
        one_session(encoding)  # warm up
    total = 0.0
    with CodecClock(time.process_time) as clock:
        for _ in range(rounds):
            for encoding, found in rates.items():
                start = time.process_time()
                for _ in range(per_round):
                    one_session(encoding)
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
        pairs = [pair(encoding) for _ in range(k)]
        start = time.perf_counter()
        while pairs:
            pairs = [p for p in pairs if p.step()]
        rates.append(k / (time.perf_counter() - start))
    cells = ", ".join(f"{k}: {r:6.1f}" for k, r in zip(levels, rates, strict=True))
    print(
        f"{encoding.value:5s} sessions/s by concurrent sessions  {cells}"
        f"  (max/min {max(rates) / min(rates):.2f}, target flat)"
    )


def idle_memory(n: int) -> None:
    (pkg1,) = ClientSession(client_config(client_nonce=b"fresh")).messages_to_send(0.0)
    app = MinimalServerApp(account=account(client_nonce=b"fresh"), uris=("./a",))
    server_cfg = server_config()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    sessions = []
    for _ in range(n):
        server = ServerSession(server_cfg)
        server.receive_message(pkg1.body, media_type=pkg1.media_type, now=0.0)
        while (e := server.next_event()) is not None:
            app(server, e)
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
