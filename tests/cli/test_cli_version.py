"""``dmproto --version``: the version written once, in ``dmproto.__version__``."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import dmproto


def test_version_flag_prints_the_package_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dmproto", "--version"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"dmproto {dmproto.__version__}\n"
    # pyproject.toml reads the same attribute, so the installed metadata agrees.
    assert version("dmproto") == dmproto.__version__
