"""Codec throughput benchmark (not a test): ``python bench/codec.py [--quick] [--json]``.

Prints, for a client Package 1, a 50-command server Package 2 and a 64 KB Results
message, the decode and encode throughput of the XML and WBXML codecs (and encode time
over decode time, target <= 1x); then

* the ratio of our XML decode (parse + model) to bare
  ``defusedxml.ElementTree.fromstring`` on the same bytes (target <= 1.5x),
* WBXML decode time relative to XML decode time of the same message (target <= 1x),
* the decode cost per byte of a 1 MB message relative to a 10 KB one of the same
  shape (target <= 1.2x: linear behaviour, CONTRIBUTING.md#limits-before-work).

Every ratio is the ratio of medians of interleaved rounds (ours, the other, ours, the
other, ...) in CPU time of this process, so machine noise hits both sides alike.
``--json`` prints only one JSON object: ``xml_decode_over_expat`` and
``wbxml_decode_over_xml_decode`` (each keyed ``package1``, ``package2-50``,
``results-64KB``) and ``per_byte_1MB_over_10KB`` (``xml``, ``wbxml``).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

from dmproto.codec import Encoding, decode_message, encode_message
from dmproto.codec.model import (
    Add,
    Alert,
    Command,
    Get,
    Item,
    Location,
    Message,
    Meta,
    Replace,
    Results,
    Status,
    SyncHdr,
)
from dmproto.limits import Limits

BIG = Limits(
    max_message_size=64 * 1024 * 1024,
    max_elements=10_000_000,
    max_commands=1_000_000,
    max_items_per_command=1_000_000,
    max_data_size=64 * 1024 * 1024,
)


def _header(session: str = "1") -> SyncHdr:
    return SyncHdr(
        session_id=session,
        msg_id="1",
        target=Location(loc_uri="https://dm.example.com/manage"),
        source=Location(loc_uri="IMEI:493005100592800", loc_name="dev"),
        meta=Meta(max_msg_size=16384, max_obj_size=1048576),
    )


def package1() -> Message:
    """Alert 1201 + DevInfo Replace (OMA-TS-DM_Protocol-V1_2_1 §2.3)."""
    devinfo = [
        ("DevId", "IMEI:493005100592800"),
        ("Man", "Example"),
        ("Mod", "X1"),
        ("DmV", "1.2"),
        ("Lang", "en-US"),
    ]
    items = [
        Item(source=Location(loc_uri=f"./DevInfo/{k}"), meta=Meta(format="chr"), data=v)
        for k, v in devinfo
    ]
    return Message(
        header=_header(),
        final=True,
        commands=(
            Alert(cmd_id="1", code=1201),
            Replace(cmd_id="2", items=items),
        ),
    )


def package2(n: int = 50) -> Message:
    """Status for the SyncHdr plus ``n`` management commands."""
    cmds: list[Command] = [
        Status(
            cmd_id="1",
            msg_ref="1",
            cmd_ref="0",
            cmd="SyncHdr",
            code=212,
            target_refs=("IMEI:493005100592800",),
        )
    ]
    for i in range(n):
        uri = f"./Vendor/Settings/Node{i}"
        cls = (Get, Replace, Add)[i % 3]
        data = None if cls is Get else f"value-{i}"
        cmds.append(
            cls(
                cmd_id=str(i + 2),
                items=(
                    Item(
                        target=Location(loc_uri=uri),
                        meta=Meta(format="chr", type="text/plain"),
                        data=data,
                    ),
                ),
            )
        )
    return Message(header=_header(), commands=tuple(cmds), final=True)


def results(size: int) -> Message:
    """One Results whose Items hold about ``size`` bytes of Data in 1 KB values."""
    count = max(1, size // 1024)
    items = tuple(
        Item(source=Location(loc_uri=f"./Log/Entry{i}"), data="x" * 1000) for i in range(count)
    )
    return Message(
        header=_header(),
        final=True,
        commands=(Results(cmd_id="2", msg_ref="1", cmd_ref="3", items=items),),
    )


def _batch(fn: Callable[[], object], calls: int) -> float:
    """CPU seconds of this process per call of ``calls`` back-to-back calls (CPU time, not
    wall time: on a shared machine other processes' load would otherwise set the ratio)."""
    t0 = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - t0) / calls


def interleaved(ours: Callable[[], object], other: Callable[[], object], budget: float) -> float:
    """median(ours) / median(other) over interleaved rounds within ``budget`` seconds."""
    once = max(_batch(ours, 1), _batch(other, 1), 1e-6)
    calls = max(1, int(0.02 / once))  # about 20 ms per batch
    a: list[float] = []
    b: list[float] = []
    start = time.process_time()
    while len(a) < 5 or time.process_time() - start < budget:
        a.append(_batch(ours, calls))
        b.append(_batch(other, calls))
    return statistics.median(a) / statistics.median(b)


def _decoder(body: bytes) -> Callable[[], object]:
    return lambda: decode_message(body, limits=BIG)


def ratios(budget: float) -> dict[str, dict[str, float]]:
    """The three ratio tables of the module docstring."""
    cases = {"package1": package1(), "package2-50": package2(), "results-64KB": results(65536)}
    out: dict[str, dict[str, float]] = {
        "xml_decode_over_expat": {},
        "wbxml_decode_over_xml_decode": {},
        "per_byte_1MB_over_10KB": {},
    }
    for name, message in cases.items():
        xml_body = encode_message(message)
        wbxml_body = encode_message(message, Encoding.WBXML)
        assert decode_message(xml_body, limits=BIG) == message
        assert decode_message(wbxml_body, limits=BIG) == message
        out["xml_decode_over_expat"][name] = interleaved(
            _decoder(xml_body), lambda b=xml_body: fromstring(b), budget
        )
        out["wbxml_decode_over_xml_decode"][name] = interleaved(
            _decoder(wbxml_body), _decoder(xml_body), budget
        )
    for encoding in (Encoding.XML, Encoding.WBXML):
        small = encode_message(results(10 * 1024), encoding)
        large = encode_message(results(1024 * 1024), encoding)
        ratio = interleaved(_decoder(large), _decoder(small), budget)
        out["per_byte_1MB_over_10KB"][encoding.value] = ratio * len(small) / len(large)
    return out


def throughput(budget: float) -> None:
    """Decode and encode MB/s per message and encoding, and encode / decode time."""
    cases = {"package1": package1(), "package2-50": package2(), "results-64KB": results(65536)}
    print(f"{'message':14} {'enc':6} {'bytes':>8} {'decode MB/s':>12} {'encode MB/s':>12}")
    for name, message in cases.items():
        for encoding in (Encoding.XML, Encoding.WBXML):
            body = encode_message(message, encoding)
            dec = _batch(_decoder(body), max(1, int(budget / 0.01)))
            enc = _batch(
                lambda m=message, e=encoding: encode_message(m, e), max(1, int(budget / 0.01))
            )
            mb = len(body) / 1e6
            print(
                f"{name:14} {encoding.value:6} {len(body):8d} {mb / dec:12.1f} {mb / enc:12.1f}"
                f"  encode/decode {enc / dec:4.2f}x"
            )


def main(argv: list[str]) -> int:
    budget = 0.2 if "--quick" in argv else 1.0
    if "--json" in argv:
        print(json.dumps(ratios(budget), sort_keys=True))
        return 0
    throughput(budget)
    result = ratios(budget)
    targets = {
        "xml_decode_over_expat": "XML decode / bare defusedxml fromstring (target <= 1.5x)",
        "wbxml_decode_over_xml_decode": "WBXML decode / XML decode, same message (target <= 1.0x)",
        "per_byte_1MB_over_10KB": "decode cost per byte, 1 MB / 10 KB (target <= 1.2x)",
    }
    for key, title in targets.items():
        print(f"\n{title}")
        for name, ratio in result[key].items():
            print(f"  {name:14} {ratio:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
