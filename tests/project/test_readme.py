"""Every Python example in README.md runs, in a fresh interpreter, and its asserts hold."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from datapaths import CORPUS, README

CONTINUED = "# ...continued"


def _blocks() -> list[str]:
    """The README's Python blocks; a block starting with ``# ...continued`` runs after the
    last block that did not (the shared setup it builds on)."""
    blocks: list[str] = []
    base = ""
    for block in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        if block.startswith(CONTINUED):
            blocks.append(base + block)
        else:
            base = block
            blocks.append(block)
    return blocks


BLOCKS = _blocks()


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_readme_starts_with_the_two_commands() -> None:
    commands = re.findall(r"^    (\S.*)$", README.read_text(encoding="utf-8"), re.M)
    assert commands[0].endswith("&& dmproto demo")
    assert commands[1] == "python -m pytest -q"


#: Tool lines run with a live server by test_cli_serve.py (they need one or its database).
_NEEDS_A_SERVER = ("dmproto serve ", "dmproto device ", "dmproto outcomes ", "dmproto queue ")


def _command_lines() -> list[str]:
    block = re.search(
        r"## The command line\n\n```\n(.*?)```", README.read_text(encoding="utf-8"), re.S
    )
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.startswith("dmproto ")]


def test_readme_command_lines_run(tmp_path: Path) -> None:
    # The other tool lines of the README, in order, in a shell (their redirections
    # make the files later lines read); msg.xml/msg.wbxml come from the corpus.
    corpus = CORPUS / "aosp-dm12"
    (tmp_path / "msg.xml").write_bytes((corpus / "testalertconfirm.xml").read_bytes())
    (tmp_path / "msg.wbxml").write_bytes((corpus / "testadd.wbxml").read_bytes())
    lines = [line for line in _command_lines() if not line.startswith(_NEEDS_A_SERVER)]
    assert len(lines) >= 8, lines
    for line in lines:
        command = line.split("  #")[0].replace("dmproto ", f"{sys.executable} -m dmproto ", 1)
        result = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, (line, result.stdout + result.stderr)
        assert result.stdout or ">" in line, line  # every line says or writes something
