"""``python -m dmproto.session > docs/session-states.md`` writes the state diagrams
generated from the transition tables (run in-process with ``runpy``); importing the
module writes nothing."""

from __future__ import annotations

import importlib
import runpy
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "session-states.md"


def test_python_m_dmproto_session_writes_the_state_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runpy.run_module("dmproto.session", run_name="__main__")
    assert capsys.readouterr().out == DOC.read_text(encoding="utf-8")


def test_importing_the_module_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    name = "dmproto.session.__main__"
    sys.modules.pop(name, None)
    try:
        importlib.import_module(name)
    finally:
        # (left imported, it would make runpy warn when the test above runs later)
        sys.modules.pop(name, None)
    assert capsys.readouterr().out == ""
