"""Entry point of the ``dmproto`` command (``dmproto ...`` and ``python -m dmproto``).

Exit status: 0 on success, 2 for bad arguments, malformed input or an unreachable
peer (one line on stderr, never a traceback), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import DMError
from . import codec_cmds, demo, device, notify, security_cmds, server
from .common import UsageError

__all__ = ["main"]

#: Modules that contribute subcommands, in the order ``--help`` lists them.
_GROUPS = (codec_cmds, security_cmds, server, notify, demo, device)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="dmproto", description="OMA Device Management (SyncML DM) toolkit"
    )
    parser.add_argument("--version", action="version", version=f"dmproto {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for group in _GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for serve --workers
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        print("dmproto: interrupted", file=sys.stderr)
        return 130
    except (DMError, UsageError, OSError) as exc:
        print(f"dmproto {args.command}: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
