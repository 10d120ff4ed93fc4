"""Run one fuzz target under atheris (libFuzzer for Python).

Usage::

    python fuzz/atheris_main.py TARGET [libFuzzer args...]
    python fuzz/atheris_main.py decode_xml fuzz/corpus/decode_xml -max_total_time=60
    python fuzz/atheris_main.py --list

Targets come from every ``fuzz/*_targets.py`` module that exists, each exposing
``TARGETS: dict[str, Callable[[bytes], None]]``; they are merged by name (a name
defined twice is an error).
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
_TARGET_ENV = "DMPROTO_FUZZ_TARGET"


def load_targets() -> dict[str, Callable[[bytes], None]]:
    """Import every ``*_targets.py`` next to this file and merge their TARGETS."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    merged: dict[str, Callable[[bytes], None]] = {}
    for path in sorted(HERE.glob("*_targets.py")):
        module = importlib.import_module(path.stem)
        for name, target in getattr(module, "TARGETS", {}).items():
            if name in merged:
                raise SystemExit(f"fuzz target {name!r} defined twice ({path.name})")
            merged[name] = target
    return merged


def main(argv: list[str]) -> int:
    """Parse ``TARGET [libFuzzer args]`` and hand over to atheris."""
    if len(argv) < 2 or argv[1] in ("-h", "--help", "--list"):
        names = ", ".join(sorted(load_targets()))
        print(f"usage: {Path(argv[0]).name} TARGET [libFuzzer args]\ntargets: {names}")
        return 0 if len(argv) >= 2 else 2
    import atheris  # type: ignore[import-untyped]

    with atheris.instrument_imports():
        targets = load_targets()
    # libFuzzer re-runs this script for -merge=1 and -jobs with its own arguments and
    # without the target name: the name travels to those children in the environment.
    # libFuzzer starts those children through the shell with argv[0] as the command,
    # so argv[0] names this interpreter and this script.
    if argv[1] not in targets and _TARGET_ENV in os.environ:
        name, rest = os.environ[_TARGET_ENV], argv[1:]
    else:
        name, rest = argv[1], argv[2:]
    if name not in targets:
        print(f"unknown target {name!r}; known: {', '.join(sorted(targets))}", file=sys.stderr)
        return 2
    os.environ[_TARGET_ENV] = name
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(argv[0]).resolve()))}"
    atheris.Setup([command, *rest], targets[name])
    atheris.Fuzz()
    return 0  # pragma: no cover - atheris.Fuzz() does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv))
