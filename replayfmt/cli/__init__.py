"""The `replayfmt` command line: the parser, the command modules and the one exception boundary.

Each command lives in its own module (`replayfmt/cli/<command>.py`) with `register(subparsers)`
and a thin `run(args) -> int` over library functions; only the module of the command asked for
is imported (the top-level help imports them all, and they import the library lazily). Results
go to stdout (`--json` for machines), diagnostics to stderr, `-` reads stdin or writes stdout.

The boundary (`main`) maps what escapes a command to an exit code: ReplayFormatError or bad
input -> 1 (one line with offset and path); OSError or bad usage -> 2 (one line);
KeyboardInterrupt -> 130 (no traceback); anything else is a bug: it says so, prints the
traceback and exits 3. Nothing outside this package imports it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import ReplayFormatError
from ._common import (
    EXIT_BAD_INPUT,
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    InputError,
    UsageError,
)

__all__ = ["main", "build_parser", "COMMANDS"]

#: The command modules, in the order the help lists them.
COMMANDS = ("info", "dump", "build", "diff", "hexmap", "validate", "carve", "sessions",
            "salvage", "fuzz")


def _command_module(name: str):
    return importlib.import_module(f".{name}", __name__)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `argv` naming a command, only that command's module loads."""
    parser = argparse.ArgumentParser(
        prog="replayfmt",
        description="Read, write and inspect memvid replay segments (MV2RPLY!), "
                    "active-session sidecars (MV2ACTIV) and the segments inside .mv2 files.")
    parser.add_argument("--version", action="version", version=f"replayfmt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = None if argv is None else next((a for a in argv if not a.startswith("-")), None)
    for name in (command,) if command in COMMANDS else COMMANDS:
        _command_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ReplayFormatError as exc:
        print(f"replayfmt: {getattr(args, 'file', None) or 'input'}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as exc:
        print(f"replayfmt: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        print(f"replayfmt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"replayfmt: {name}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("replayfmt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        import traceback

        print(f"replayfmt: internal error (a bug): {type(exc).__name__}: {exc}",
              file=sys.stderr)
        traceback.print_exc()
        return EXIT_BUG
