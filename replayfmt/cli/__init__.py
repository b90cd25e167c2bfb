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
import contextlib
import importlib
import io
import os
import sys

from .. import __version__
from ..errors import ReplayFormatError
from ._common import (
    CREATED,
    EXIT_BAD_INPUT,
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    OPENED,
    InputError,
    UsageError,
    warn,
)

__all__ = ["COMMANDS", "build_parser", "main"]

#: The command modules, in the order the help lists them.
COMMANDS = ("info", "dump", "build", "diff", "hexmap", "validate", "carve", "sessions",
            "salvage", "timeline", "report", "fuzz")


EPILOG = """\
exit codes:
  0    ok
  1    findings, or bad input (the message gives the byte offset and field path)
  2    usage or I/O error (a file that cannot be read or written)
  3    internal error: a bug in replayfmt (the message says so; a traceback follows)
  130  interrupted (Ctrl-C); partial outputs are removed"""


def _command_module(name: str):
    return importlib.import_module(f".{name}", __name__)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `argv` naming a command, only that command's module loads."""
    parser = argparse.ArgumentParser(
        prog="replayfmt",
        description="Read, write and inspect memvid replay segments (MV2RPLY!), "
                    "active-session sidecars (MV2ACTIV) and the segments inside .mv2 files.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"replayfmt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = None if argv is None else next((a for a in argv if not a.startswith("-")), None)
    for name in (command,) if command in COMMANDS else COMMANDS:
        _command_module(name).register(sub)
    return parser


class _PipeGuard(io.BufferedIOBase):
    """stdout that outlives its reader: once the pipe is closed (`replayfmt validate DIR |
    head`), further output is dropped, so the command finishes and exits with its real code."""

    def __init__(self, raw) -> None:
        super().__init__()
        self.raw = raw
        self.broken = False

    def writable(self) -> bool:
        return True

    def _closed_pipe(self) -> None:
        self.broken = True
        try:  # later flushes (ours and the interpreter's at exit) go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.raw.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, data) -> int:
        if not self.broken:
            try:
                self.raw.write(data)
            except BrokenPipeError:
                self._closed_pipe()
        return len(data)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.raw.flush()
            except BrokenPipeError:
                self._closed_pipe()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    CREATED.clear()  # the files of this run only (Ctrl-C removes them)
    stdout = sys.stdout
    guard = _PipeGuard(stdout.buffer)
    sys.stdout = io.TextIOWrapper(guard, encoding=stdout.encoding, errors=stdout.errors,
                                  write_through=True)
    try:
        return _run(args)
    finally:
        try:
            sys.stdout.flush()
        finally:
            sys.stdout = stdout
            guard.flush()
            OPENED.close()


def _run(args) -> int:
    CREATED.clear()  # outputs of this run only (main may be called more than once in-process)
    try:
        return args.run(args)
    except ReplayFormatError as exc:
        warn(f"{getattr(args, 'file', None) or 'input'}: {exc}")
        return EXIT_BAD_INPUT
    except InputError as exc:
        warn(str(exc))
        return EXIT_BAD_INPUT
    except UsageError as exc:
        warn(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename is not None else ""
        warn(f"{name}{exc.strerror or exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        for path in CREATED:  # what this run wrote is incomplete as a whole
            with contextlib.suppress(OSError):
                os.unlink(path)
        warn("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 -- the boundary: anything else is a bug
        import traceback

        warn(f"internal error (a bug): {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return EXIT_BUG
