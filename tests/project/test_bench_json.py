"""Every benchmark script runs (``--quick``) and its ``--json`` output is one JSON object
with exactly the keys the benchmarks promise (bench/codec.py, bench/session.py,
bench/loopback.py; bench/scale.py for the fleet). Speeds are not asserted, only that the
figures are there and positive: a broken benchmark fails here, not in a release."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from datapaths import ROOT


def run_json(script: str, *extra: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick", "--json", *extra],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result


def positive(value: object) -> bool:
    return isinstance(value, int | float) and value > 0


def test_codec_bench_json() -> None:
    result = run_json("codec.py")
    messages = {"package1", "package2-50", "results-64KB"}
    assert set(result) >= {
        "xml_decode_over_expat",
        "wbxml_decode_over_xml_decode",
        "per_byte_1MB_over_10KB",
    }
    for key in ("xml_decode_over_expat", "wbxml_decode_over_xml_decode"):
        figures = result[key]
        assert isinstance(figures, dict) and set(figures) == messages
        assert all(positive(v) for v in figures.values())
    per_byte = result["per_byte_1MB_over_10KB"]
    assert isinstance(per_byte, dict) and set(per_byte) == {"xml", "wbxml"}


def test_session_bench_json() -> None:
    result = run_json("session.py")
    assert set(result) == {"sessions_per_s", "codec_share"}
    rates = result["sessions_per_s"]
    assert isinstance(rates, dict) and set(rates) == {"xml", "wbxml"}
    assert all(positive(v) for v in rates.values())
    share = result["codec_share"]
    assert isinstance(share, float) and 0 < share < 1


def test_scale_bench_json() -> None:
    pytest.importorskip("psycopg")
    result = run_json("scale.py")
    rates = result["sessions_per_s"]
    assert isinstance(rates, dict)
    assert set(rates) == {"sqlite_1", "postgresql_1", "postgresql_2"}
    assert positive(rates["sqlite_1"])
    trips = result["round_trips_per_request"]
    assert isinstance(trips, dict) and set(trips) == {"sqlite", "postgresql"}
    cost = result["store_cost_over_memory"]
    assert isinstance(cost, dict) and set(cost) == {"sqlite", "postgresql"}


def test_loopback_bench_json() -> None:
    # One adapter and two concurrencies keep this short; the keys are the same.
    result = run_json("loopback.py", "--adapters", "asyncio", "--counts", "1,100")
    assert set(result) == {"dm_over_bare", "server_kib_per_session"}
    ratios, memory = result["dm_over_bare"], result["server_kib_per_session"]
    assert isinstance(ratios, dict) and isinstance(memory, dict)
    assert set(ratios) == set(memory) == {"asyncio"}
    assert set(ratios["asyncio"]) == {"1", "100"}
    assert all(positive(v) for v in ratios["asyncio"].values())
    assert positive(memory["asyncio"]["100"])


def test_versus_bench_json_with_this_tree_as_its_own_baseline() -> None:
    result = run_json("versus.py", "--baseline", str(ROOT))
    assert set(result) == {"sessions_per_s", "current_over_baseline"}
    rates = result["sessions_per_s"]
    assert isinstance(rates, dict) and set(rates) == {"baseline", "current"}
    for side in rates.values():
        assert isinstance(side, dict) and set(side) == {"xml", "wbxml"}
        assert all(positive(v) for v in side.values())
    ratios = result["current_over_baseline"]
    assert isinstance(ratios, dict) and set(ratios) == {"xml", "wbxml"}
    assert all(positive(v) for v in ratios.values())


def test_versus_refuses_a_baseline_that_is_no_checkout(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "versus.py"), "--baseline", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "not a dmproto checkout" in done.stderr
