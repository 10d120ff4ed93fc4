"""Codec throughput benchmark (not a test): ``python bench/codec.py [--quick]``.

Prints, for a client Package 1, a 50-command server Package 2 and a 64 KB Results
message, the decode and encode throughput of the XML and WBXML codecs; then

* the ratio of our XML decode (parse + model) to bare
  ``defusedxml.ElementTree.fromstring`` on the same bytes (target <= 2x), and
* WBXML decode time relative to XML decode time of the same message (target <= 1x),
* the decode cost per byte of a 1 MB message relative to a 10 KB one of the same
  shape (target <= 1.2x: linear behaviour, CONTRIBUTING.md#limits-before-work).
"""

from __future__ import annotations

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


def best(fn: Callable[[], object], budget: float) -> float:
    """Best time of repeated runs within ``budget`` seconds (at least 3 runs)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str]) -> int:
    budget = 0.2 if "--quick" in argv else 1.0
    cases = {"package1": package1(), "package2-50": package2(), "results-64KB": results(65536)}
    print(f"{'message':14} {'enc':6} {'bytes':>8} {'decode MB/s':>12} {'encode MB/s':>12}")
    for name, message in cases.items():
        for encoding in (Encoding.XML, Encoding.WBXML):
            body = encode_message(message, encoding)
            assert decode_message(body, limits=BIG) == message
            dec = best(lambda b=body: decode_message(b, limits=BIG), budget)  # type: ignore[misc]
            enc = best(
                lambda m=message, e=encoding: encode_message(m, e),
                budget,  # type: ignore[misc]
            )
            mb = len(body) / 1e6
            print(f"{name:14} {encoding.value:6} {len(body):8d} {mb / dec:12.1f} {mb / enc:12.1f}")

    print("\nXML decode vs bare defusedxml.ElementTree.fromstring (target <= 2.0x)")
    for name, message in cases.items():
        body = encode_message(message)
        ours = best(lambda b=body: decode_message(b, limits=BIG), budget)  # type: ignore[misc]
        bare = best(lambda b=body: fromstring(b), budget)  # type: ignore[misc]
        print(f"  {name:14} {ours / bare:5.2f}x")

    print("\nWBXML decode time vs XML decode time of the same message (target <= 1.0x)")
    for name, message in cases.items():
        xml_body = encode_message(message)
        wbxml_body = encode_message(message, Encoding.WBXML)
        t_xml = best(lambda b=xml_body: decode_message(b, limits=BIG), budget)  # type: ignore[misc]
        t_wbxml = best(
            lambda b=wbxml_body: decode_message(b, limits=BIG),
            budget,  # type: ignore[misc]
        )
        ratio = t_wbxml / t_xml
        print(f"  {name:14} {ratio:5.2f}x  ({t_wbxml * 1e6:.0f} us vs {t_xml * 1e6:.0f} us)")

    print("\ncost per byte, 1 MB vs 10 KB (target <= 1.2x)")
    for encoding in (Encoding.XML, Encoding.WBXML):
        small = encode_message(results(10 * 1024), encoding)
        large = encode_message(results(1024 * 1024), encoding)
        t_small = best(lambda b=small: decode_message(b, limits=BIG), budget)  # type: ignore[misc]
        t_large = best(lambda b=large: decode_message(b, limits=BIG), budget)  # type: ignore[misc]
        ratio = (t_large / len(large)) / (t_small / len(small))
        print(f"  {encoding.value:6} {ratio:5.2f}x  ({len(small)} B, {len(large)} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
