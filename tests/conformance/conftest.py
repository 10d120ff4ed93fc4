"""Fixtures of the shared adapter conformance suite: one run per adapter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _harness import HARNESSES, Harness
from tlskit import TlsPair, make_tls


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    """Each test runs once per adapter (skipped when that adapter is not installed)."""
    name: str = request.param
    pytest.importorskip(f"dmproto_{name}")
    return HARNESSES[name]()


@pytest.fixture(scope="session")
def tls() -> TlsPair:
    """A throwaway CA with a server certificate for 127.0.0.1 and localhost."""
    return make_tls()
