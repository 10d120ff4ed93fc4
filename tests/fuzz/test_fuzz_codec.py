"""Run the codec fuzz targets (fuzz/codec_targets.py) for a bounded number of
Hypothesis examples: random bytes and mutated seeds from fuzz/corpus/."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from datapaths import FUZZ
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(FUZZ))

from codec_targets import TARGETS

NAMES = sorted(TARGETS)


def _seeds(name: str) -> list[bytes]:
    folder = FUZZ / "corpus" / name
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with a few byte-level edits: overwrite, delete, insert, duplicate."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not data:
            break
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        op = draw(st.sampled_from(["set", "delete", "insert", "splice"]))
        if op == "set":
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif op == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=16))]
        elif op == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b"<",
                        b"&",
                        b"]]>",
                        b"\x00",
                        b"\x01",
                        b"\xc3",
                        b"\x03",
                        b"\xc3\x7f",
                        b"<Data>",
                        b"</Item>",
                        b'xmlns:p="u"',
                        b"p:",
                    ]
                )
                | st.binary(max_size=8)
            )
        else:
            start = draw(st.integers(min_value=0, max_value=len(data) - 1))
            data[at:at] = data[start : start + draw(st.integers(min_value=1, max_value=64))]
    return bytes(data)


@pytest.mark.parametrize("name", NAMES)
def test_every_target_has_seeds(name: str) -> None:
    assert _seeds(name)


@pytest.mark.parametrize("name", NAMES)
def test_seeds_pass(name: str) -> None:
    for seed in _seeds(name):
        TARGETS[name](seed)


def _random_bytes_test(target: Callable[[bytes], None]) -> Callable[[], None]:
    @settings(max_examples=50)
    @given(st.binary(max_size=512))
    def run(data: bytes) -> None:
        target(data)

    return run


def _mutation_test(target: Callable[[bytes], None], seeds: list[bytes]) -> Callable[[], None]:
    @settings(max_examples=80)
    @given(mutated(seeds))
    def run(data: bytes) -> None:
        target(data)

    return run


@pytest.mark.parametrize("name", NAMES)
def test_random_bytes(name: str) -> None:
    _random_bytes_test(TARGETS[name])()


@pytest.mark.parametrize("name", NAMES)
def test_mutated_seeds(name: str) -> None:
    _mutation_test(TARGETS[name], _seeds(name))()


def test_targets_catch_a_non_malformed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The targets do not swallow other exceptions (else they could find nothing)."""
    import codec_targets

    def broken(*args: object, **kwargs: object) -> None:
        raise IndexError("bug")

    monkeypatch.setattr(codec_targets, "decode_message", broken)
    with pytest.raises(IndexError):
        codec_targets.decode_xml(b"<SyncML/>")
