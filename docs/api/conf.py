"""Sphinx configuration of the API reference (``sphinx-build -W -b html docs/api OUT``).

The reference is generated from the docstrings; the version is read from
``dmproto.__version__``, the one place it is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The core and the adapter packages, importable without an install.
for folder in (
    "adapters/dmproto_server",
    "adapters/dmproto_trio",
    "adapters/dmproto_asyncio",
    "adapters/dmproto_sync",
    "adapters/base",
    ".",
):
    sys.path.insert(0, str(ROOT / folder))

import dmproto  # noqa: E402

project = "dmproto"
author = "the dmproto authors"
copyright = "the dmproto authors, Apache-2.0"
version = release = dmproto.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = f"dmproto {release} API reference"
