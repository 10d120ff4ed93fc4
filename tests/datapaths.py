"""Where the test data lives (import as ``from datapaths import CORPUS``).

Kept out of ``conftest.py`` because ``tests/conformance/`` has a conftest of its own and
``from conftest import ...`` would then depend on collection order.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"
