"""The distributions: what the wheel and the sdist hold, and that the wheel installs.

The checkout is copied to a temporary folder and built there with ``python -m build``
(sdist, then the wheel from the sdist, as a packager would). The wheel is installed
into a fresh virtual environment, first without extras (the CLI then names the
command that makes an adapter usable, and that command works), then with ``[all]``.
Needs the package index pip is configured with (for setuptools and the dependencies).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from datapaths import ROOT

import dmproto

ADAPTERS = (
    "dmproto_adapter_base",
    "dmproto_sync",
    "dmproto_asyncio",
    "dmproto_trio",
    "dmproto_server",
)
_JUNK = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", "build", "dist", "*.egg-info", ".*_cache", ".hypothesis"
)

pytestmark = pytest.mark.slow


def _run(
    *cmd: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, str]:
    """(source copy, wheel, sdist, build output) built once for the module."""
    base = tmp_path_factory.mktemp("pkg")
    source = base / "src"
    shutil.copytree(ROOT, source, ignore=_JUNK)
    out = _run(sys.executable, "-m", "build", "--outdir", base / "dist", source, cwd=base)
    assert out.returncode == 0, out.stdout + out.stderr
    (wheel,) = (base / "dist").glob("*.whl")
    (sdist,) = (base / "dist").glob("*.tar.gz")
    return source, wheel, sdist, out.stdout + out.stderr


def test_build_has_no_deprecation_warnings(built: tuple[Path, Path, Path, str]) -> None:
    log = built[3]
    assert "Deprecat" not in log, log


def test_wheel_holds_the_packages_and_no_tests(built: tuple[Path, Path, Path, str]) -> None:
    _, wheel, _, _ = built
    assert wheel.name.startswith(f"dmproto-{dmproto.__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"dmproto-{dmproto.__version__}.dist-info/METADATA").decode()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"dmproto", *ADAPTERS, f"dmproto-{dmproto.__version__}.dist-info"}
    for package in ("dmproto", *ADAPTERS):
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert "dmproto/cli/main.py" in names
    assert not [n for n in names if "tests/" in n or "__pycache__" in n]
    info = f"dmproto-{dmproto.__version__}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M))
    assert {"sync", "asyncio", "trio", "server", "all"} <= extras
    assert re.search(r"^Requires-Dist: trio.*extra == \"all\"", metadata, re.M)


def test_sdist_holds_what_the_tests_need(built: tuple[Path, Path, Path, str]) -> None:
    source, _, sdist, _ = built
    prefix = f"dmproto-{dmproto.__version__}/"
    with tarfile.open(sdist) as archive:
        names = {n.removeprefix(prefix) for n in archive.getnames()}
    wanted = {"README.md", "LICENSE", "pyproject.toml", "MANIFEST.in", ".ci/run"}
    for folder in ("tests", "docs", "examples", "adapters", "dmproto"):
        wanted |= {
            p.relative_to(source).as_posix() for p in (source / folder).rglob("*") if p.is_file()
        }
    assert not wanted - names, sorted(wanted - names)[:20]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def _venv_env(venv: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def test_wheel_installs_and_runs(built: tuple[Path, Path, Path, str], tmp_path: Path) -> None:
    _, wheel, _, _ = built
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    env = _venv_env(venv)
    python = venv / "bin" / "python"
    pip = (python, "-m", "pip", "install", "-q")
    installed = _run(*pip, wheel, env=env)
    assert installed.returncode == 0, installed.stderr

    version = _run(venv / "bin" / "dmproto", "--version", env=env, cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"dmproto {dmproto.__version__}\n"

    # Without the extras the adapters' libraries are missing: one line naming a
    # command that fixes it, and running that command does.
    missing = _run(venv / "bin" / "dmproto", "demo", env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert len(missing.stderr.splitlines()) == 1, missing.stderr
    hint = re.search(r"\((pip install [^)]*)\)", missing.stderr)
    assert hint is not None, missing.stderr
    fixed = _run("sh", "-c", f"python -m {hint.group(1)}", env=env, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr

    with_all = _run(*pip, f"{wheel}[all]", env=env)
    assert with_all.returncode == 0, with_all.stderr
    imports = "import dmproto_sync, dmproto_asyncio, dmproto_trio, h11, trio"
    assert _run(python, "-c", imports, env=env, cwd=tmp_path).returncode == 0
    demo = _run(venv / "bin" / "dmproto", "demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
