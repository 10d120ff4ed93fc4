"""Copying the ``dmproto/`` folder into another project works.

The package is copied to ``<tmp>/myproject/_vendor/dmproto`` and imported under that
name in a fresh interpreter, which then runs a whole client/server session through
the pure HTTP binding (ClientDriver -> ServerEndpoint) from the copy. Any absolute
``import dmproto`` inside the package, or any reliance on installed package metadata,
would load or need the installed distribution instead, which the subprocess checks.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from datapaths import PACKAGE

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from myproject._vendor.dmproto.bindings.client import ClientDriver
    from myproject._vendor.dmproto.bindings.server import ServerEndpoint
    from myproject._vendor.dmproto.bindings.steps import Deliver, Send
    from myproject._vendor.dmproto.session import events as ev
    from myproject._vendor.dmproto.testing import MinimalServerApp, server_config, tree_device

    server_app = MinimalServerApp()
    endpoint = ServerEndpoint(server_config(random_bytes=os.urandom, server_uri="srv"))
    device = tree_device(
        "http://127.0.0.1/dm", dev_id="IMEI:v", mod="Vendored", random_bytes=os.urandom)
    driver = ClientDriver(device.session)
    for _ in range(100):
        step = driver.poll(time.monotonic())
        if isinstance(step, Deliver):
            device(device.session, step.event)
        elif isinstance(step, Send):
            response = endpoint.handle(step.request, server_app, time.monotonic)
            driver.handle_response(response, time.monotonic())
        else:
            break
    results = server_app.results
    assert results == ["Vendored"], results
    assert driver.ended is not None and driver.ended.reason is ev.EndReason.COMPLETED
    leaked = sorted(m for m in sys.modules if m == "dmproto" or m.startswith("dmproto."))
    assert not leaked, leaked
    print("vendored session ok")
    """
)


def test_vendored_copy_runs_a_session(tmp_path: Path) -> None:
    vendor = tmp_path / "myproject" / "_vendor"
    shutil.copytree(PACKAGE, vendor / "dmproto", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "myproject" / "__init__.py").write_text("")
    (vendor / "__init__.py").write_text("")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "vendored session ok" in result.stdout


def test_package_does_not_read_its_own_metadata_or_import_itself_absolutely() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top == "dmproto":
                    offenders.append(f"{path.relative_to(PACKAGE)}: absolute import {name}")
                if name.startswith("importlib.metadata") or top == "pkg_resources":
                    offenders.append(f"{path.relative_to(PACKAGE)}: reads package metadata")
    assert not offenders, offenders
