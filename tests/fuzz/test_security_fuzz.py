"""Run the security/notification fuzz targets for a bounded number of examples.

Invariant: only MalformedMessageError may escape a decoder (the targets re-raise
anything else, including their own differential AssertionErrors).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from types import ModuleType

import pytest
from datapaths import FUZZ
from hypothesis import given
from hypothesis import strategies as st

from dmproto.notification import parse_notification, parse_wsp_push

FUZZ_DIR = FUZZ


def _load_targets() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "security_targets", FUZZ_DIR / "security_targets.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TARGETS: dict[str, Callable[[bytes], None]] = _load_targets().TARGETS


def _seeds(name: str) -> list[bytes]:
    return sorted(p.read_bytes() for p in (FUZZ_DIR / "corpus" / name).iterdir())


def test_every_target_has_seeds() -> None:
    assert {"package0", "wsp_push", "hmac_header"} <= set(TARGETS)
    for name in TARGETS:
        assert _seeds(name), name


def test_seeds_are_valid_inputs() -> None:
    # The seeds must reach the deep paths, i.e. parse successfully.
    for seed in _seeds("package0"):
        parse_notification(seed)
    for seed in _seeds("wsp_push"):
        push = parse_wsp_push(seed[1:], sms_udh=bool(seed[0] & 1))
        parse_notification(push.body)


@st.composite
def _mutated(draw: st.DrawFn, name: str) -> bytes:
    data = bytearray(draw(st.sampled_from(_seeds(name))))
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        index = draw(st.integers(0, len(data) - 1))
        data[index] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_random_bytes(name: str) -> None:
    target = TARGETS[name]

    @given(st.binary(max_size=400))
    def run(data: bytes) -> None:
        target(data)

    run()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_mutated_seeds(name: str) -> None:
    target = TARGETS[name]

    @given(_mutated(name))
    def run(data: bytes) -> None:
        target(data)

    run()
