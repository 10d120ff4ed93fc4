"""Every Python example in README.md runs, in a fresh interpreter, and its asserts hold."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
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
