"""The session fuzz targets, run briefly under Hypothesis: arbitrary bytes and
mutated real messages as the next message, in every reachable state."""

from __future__ import annotations

import sys

import pytest
from datapaths import FUZZ
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(FUZZ))

from session_targets import SEEDS, TARGETS


def test_targets_cover_both_roles_and_several_states() -> None:
    assert any(n.startswith("client") for n in TARGETS)
    assert any(n.startswith("server") for n in TARGETS)
    assert len(TARGETS) >= 5


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_seed_messages_in_every_state(name: str) -> None:
    for seed in SEEDS:
        TARGETS[name](seed)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 128))]
    return bytes(data)


@pytest.mark.parametrize("name", sorted(TARGETS))
@settings(max_examples=int(__import__("os").environ.get("SESSION_FUZZ_EXAMPLES", "25")))
@given(data=st.one_of(st.binary(max_size=256), mutated()))
def test_fuzz_target(name: str, data: bytes) -> None:
    TARGETS[name](data)
