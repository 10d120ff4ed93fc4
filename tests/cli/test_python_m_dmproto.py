"""``python -m dmproto`` runs the command line and exits with its status (run
in-process with ``runpy``, as the interpreter runs it)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import dmproto


def _python_m_dmproto(monkeypatch: pytest.MonkeyPatch, *args: str) -> int | str | None:
    monkeypatch.setattr(sys, "argv", ["dmproto", *args])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("dmproto", run_name="__main__", alter_sys=True)
    return info.value.code


def test_python_m_dmproto_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _python_m_dmproto(monkeypatch, "--version") == 0
    assert capsys.readouterr().out == f"dmproto {dmproto.__version__}\n"


def test_python_m_dmproto_exits_with_the_cli_failure_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.xml"
    assert _python_m_dmproto(monkeypatch, "decode", str(missing)) == 2
    assert capsys.readouterr().err.startswith("dmproto decode: ")
