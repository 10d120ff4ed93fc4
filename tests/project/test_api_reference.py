"""The API reference (docs/api) lists the public API, and only it.

Its index page says that only what it lists is public; these checks keep that true:
every layer is listed, no private module is, every listed module says with
``__all__`` which of its names are public (autodoc documents exactly those), and the
version shown is the package's.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import dmproto

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "api"
DIRECTIVE = re.compile(r"^\.\. (?:automodule|py:module):: (\S+)", re.MULTILINE)

# The public packages and modules (dmproto.cli and dmproto_adapter_base are not).
REQUIRED = {
    "dmproto",
    "dmproto.errors",
    "dmproto.codes",
    "dmproto.limits",
    "dmproto.outcome",
    "dmproto.codec",
    "dmproto.codec.model",
    "dmproto.codec.tnds",
    "dmproto.security",
    "dmproto.notification",
    "dmproto.session",
    "dmproto.session.config",
    "dmproto.session.events",
    "dmproto.session.alerts",
    "dmproto.session.ui",
    "dmproto.session.snapshot",
    "dmproto.tree",
    "dmproto.bindings",
    "dmproto.bindings.http",
    "dmproto.bindings.client",
    "dmproto.bindings.server",
    "dmproto.bindings.push",
    "dmproto.bindings.steps",
    "dmproto.bindings.lockout",
    "dmproto.testing",
    "dmproto_sync",
    "dmproto_asyncio",
    "dmproto_trio",
}


def _listed() -> set[str]:
    return {m for page in API.glob("*.rst") for m in DIRECTIVE.findall(page.read_text("utf-8"))}


def test_every_public_module_is_listed() -> None:
    assert _listed() >= REQUIRED


def test_no_private_module_is_listed() -> None:
    for name in _listed():
        assert not any(part.startswith("_") for part in name.split(".")), name
        assert not name.startswith(("dmproto.cli", "dmproto_adapter_base")), name


def test_listed_modules_name_their_public_members() -> None:
    # dmproto.bindings only points at its modules; every other listed module has __all__.
    for name in _listed() - {"dmproto.bindings"}:
        module = importlib.import_module(name)
        assert isinstance(getattr(module, "__all__", None), list), name
        for member in module.__all__:
            assert hasattr(module, member), f"{name}.{member}"


def test_index_says_only_what_is_listed_is_public() -> None:
    index = (API / "index.rst").read_text("utf-8")
    assert "Only what this reference lists is" in index
    assert "public" in index


def test_reference_takes_its_version_from_the_package() -> None:
    conf = (API / "conf.py").read_text("utf-8")
    assert "dmproto.__version__" in conf
    assert dmproto.__version__ not in conf
