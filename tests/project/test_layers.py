"""The import contracts of pyproject.toml (``lint-imports``, docs/layers.md) hold, can
fail, and cover what they claim to cover."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ["base", "dmproto_sync", "dmproto_asyncio", "dmproto_trio", "dmproto_server"]


def _lint_imports() -> str:
    # The one installed beside this interpreter first (a venv not on PATH), then PATH.
    here = Path(sys.executable).parent / "lint-imports"
    found = str(here) if here.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.skip("lint-imports is not installed (pip install -e '.[test]' brings it)")
    return found


def _run(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the checkout (or a copy of it) at ``tree``: its pyproject.toml,
    its packages (ahead of any installed ones)."""
    path = [str(tree), *(str(tree / "adapters" / a) for a in ADAPTERS)]
    return subprocess.run(
        [_lint_imports(), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _contracts() -> dict[str, dict[str, Any]]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: import-linter brings tomli
        tomllib = pytest.importorskip("tomli")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_the_contracts_hold() -> None:
    done = _run(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


# A deliberate wrong import, the file it goes into, and what lint-imports must say.
WRONG = [
    pytest.param(
        "dmproto/codec/element.py",
        "from dmproto.session import events as _upward",
        "dmproto.codec is not allowed to import dmproto.session",
        id="codec-imports-session",
    ),
    pytest.param(
        "dmproto/tree/node.py",
        "from dmproto.session import events as _sideways",
        "dmproto.tree is not allowed to import dmproto.session",
        id="tree-imports-session",
    ),
    pytest.param(
        "dmproto/security/nonce.py",
        "import time as _clock",
        "dmproto.security is not allowed to import time",
        id="core-reads-the-clock",
    ),
    pytest.param(
        "adapters/dmproto_sync/dmproto_sync/_dm.py",
        "from dmproto.session import _machine",
        "dmproto_sync is not allowed to import dmproto.session._machine",
        id="adapter-imports-a-private-module",
    ),
    pytest.param(
        "dmproto/bindings/steps.py",
        "from dmproto import Item as _from_the_root",
        "dmproto.bindings.steps -> dmproto ",
        id="layer-imports-the-package-root",
    ),
]


@pytest.mark.parametrize(("path", "line", "message"), WRONG)
def test_a_wrong_import_breaks_a_contract(
    tmp_path: Path, path: str, line: str, message: str
) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "dmproto", tmp_path / "dmproto", ignore=ignore)
    shutil.copytree(ROOT / "adapters", tmp_path / "adapters", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert _run(tmp_path).returncode == 0  # the copy itself is clean
    with (tmp_path / path).open("a", encoding="utf-8") as f:
        f.write(f"\n{line}\n")
    done = _run(tmp_path)
    assert done.returncode != 0
    assert message in done.stdout, done.stdout


def _modules(package: Path) -> set[str]:
    """Every module name in the package at ``package``."""
    names = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names.add(".".join(parts).removesuffix(".__init__"))
    return names


def test_the_private_module_list_is_complete() -> None:
    # A new _module must be listed, or nothing stops another package importing it.
    adapters = [p for a in ADAPTERS for p in (ROOT / "adapters" / a).glob("dmproto_*/")]
    packages = [ROOT / "dmproto", *(p for p in adapters if (p / "__init__.py").exists())]
    private = {
        m
        for package in packages
        for m in _modules(package)
        if any(part.startswith("_") and not part.startswith("__") for part in m.split("."))
    }
    assert private, "no private modules found: the scan is broken"
    assert set(_contracts()["public-api"]["forbidden_modules"]) == private


def test_every_layer_is_a_source_of_the_core_contracts() -> None:
    contracts = _contracts()
    layers = {
        f"dmproto.{name.strip()}"
        for layer in contracts["layers"]["layers"]
        for name in layer.split("|")
    }
    public_api = set(contracts["public-api"]["source_modules"])
    assert layers <= public_api
    core = layers - {"dmproto.__main__", "dmproto.cli"}
    assert set(contracts["sans-io"]["source_modules"]) == core


def test_the_no_io_test_and_the_contract_forbid_the_same_packages() -> None:
    # tests/**/test_no_io.py also checks submodules (urllib.request) and calls
    # (os.urandom); every whole package it forbids is forbidden here too.
    [no_io] = ROOT.glob("tests/**/test_no_io.py")
    tree = ast.parse(no_io.read_text(encoding="utf-8"))
    [value] = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "FORBIDDEN" for t in node.targets)
    ]
    whole = {name for name in ast.literal_eval(value) if "." not in name}
    assert whole
    assert whole <= set(_contracts()["sans-io"]["forbidden_modules"])
