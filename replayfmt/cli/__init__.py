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
import stat
import sys
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import BinaryIO

from .. import __version__
from ..errors import FileShrank, ReplayFormatError
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


def _command_module(name: str) -> ModuleType:
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

    def __init__(self, raw: BinaryIO) -> None:
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

    def write(self, data: bytes) -> int:  # type: ignore[override]  # the TextIOWrapper writes bytes
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
    """The command line. Called without `argv` (the `replayfmt` program itself), the command
    runs in a child process watched by this one (`_supervised`); with `argv` (tests, other
    Python code), in this process."""
    supervise = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if supervise and hasattr(os, "fork"):
        return _supervised(args)
    return _main(args)


def _main(args: argparse.Namespace) -> int:
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


# --- the watching parent ---------------------------------------------------------------------

#: Argument names that hold input paths (their sizes are noted, to say which one shrank).
_INPUT_ARGS = ("file", "files", "a", "b", "input", "paths")
#: Signals passed on to the command's process (Ctrl-C from a terminal reaches both).
_FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
#: Deaths that are replayfmt's own fault (exit 3).
_BUG_SIGNALS = ("SIGSEGV", "SIGABRT", "SIGILL", "SIGFPE")


def _input_sizes(args: argparse.Namespace) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for name in _INPUT_ARGS:
        value = getattr(args, name, None)
        for path in value if isinstance(value, list) else [value]:
            if isinstance(path, str) and path != "-":
                with contextlib.suppress(OSError):
                    st = os.stat(path)
                    if stat.S_ISREG(st.st_mode):
                        sizes[path] = st.st_size
    return sizes


def _journal_fd() -> int:
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            return os.memfd_create("replayfmt-journal", os.MFD_CLOEXEC)
    import tempfile

    with tempfile.TemporaryFile() as fh:  # unlinked already: the duplicate keeps it open
        return os.dup(fh.fileno())


def _leftovers(fd: int) -> list[str]:
    """The files the dead command created and did not finish or remove (its journal)."""
    size = os.fstat(fd).st_size
    data = os.pread(fd, size, 0) if size else b""
    alive: dict[bytes, None] = {}
    for entry in data.split(b"\0"):
        if entry[:1] == b"+":
            alive[entry[1:]] = None
        elif entry[:1] == b"-":
            alive.pop(entry[1:], None)
    return [os.fsdecode(p) for p in alive]


def _supervised(args: argparse.Namespace) -> int:
    """Run the command in a child process and wait for it.

    A file read through a memory map that shrinks meanwhile (truncated or rewritten by
    another program) kills the reader with SIGBUS: nothing in a Python process can catch
    that. Here the reader is the child: when it dies of a signal, this process removes the
    files it had started or written (from its journal), says what happened (which input
    shrank, for SIGBUS) and exits 2 (an input that could not be read), 3 for a crash, or
    128 + the signal for one sent from outside."""
    import signal

    from . import _common

    sizes = _input_sizes(args)
    try:
        jfd = _journal_fd()
    except OSError:  # no journal to be had: the command runs here, unwatched
        return _main(args)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:  # e.g. a process limit: the command runs here, unwatched
        os.close(jfd)
        return _main(args)
    if pid == 0:  # the command
        code = EXIT_BUG
        try:
            _common.JOURNAL = jfd
            signal.signal(signal.SIGINT, _interrupt_once)
            code = _main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 -- e.g. out of memory while reporting an error
            with contextlib.suppress(Exception):
                os.write(2, b"replayfmt: internal error (a bug): the command failed while "
                            b"reporting a problem (out of memory?)\n")
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)

    names = [n for n in _FORWARDED if hasattr(signal, n)]
    old = {n: signal.signal(getattr(signal, n), forward) for n in names}
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        for n, handler in old.items():
            signal.signal(getattr(signal, n), handler)
    try:
        if not os.WIFSIGNALED(status):
            return os.waitstatus_to_exitcode(status)
        sig = os.WTERMSIG(status)
        for path in _leftovers(jfd):
            with contextlib.suppress(OSError):
                os.unlink(path)
    finally:
        os.close(jfd)
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    if name == "SIGBUS":
        shrunk = []
        for path, size in sizes.items():
            try:
                now = os.stat(path).st_size
            except OSError:
                now = None
            if now is None or now < size:
                shrunk.append(f"{path}: the file shrank from {size} to "
                              f"{'nothing (removed)' if now is None else f'{now} bytes'} "
                              "while it was being read")
        for line in shrunk or ["an input file shrank or became unreadable while it was "
                               "being read (SIGBUS on its memory map)"]:
            warn(f"{line}: stopped (output files removed)")
        return EXIT_USAGE
    if name in _BUG_SIGNALS:
        warn(f"internal error (a bug): the command died of {name} (output files removed)")
        return EXIT_BUG
    warn(f"stopped by {name} (output files removed)")
    return 128 + sig


def _interrupt_once(signum: int, frame: FrameType | None) -> None:
    """SIGINT in the command's process: KeyboardInterrupt once; a second one (a terminal's
    Ctrl-C reaches both processes, and the parent passes its own on) is ignored."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    CREATED.clear()  # outputs of this run only (main may be called more than once in-process)
    try:
        run: Callable[[argparse.Namespace], int] = args.run  # the command's, from its parser
        return run(args)
    except ReplayFormatError as exc:
        warn(f"{getattr(args, 'file', None) or 'input'}: {exc}")
        return EXIT_BAD_INPUT
    except InputError as exc:
        warn(str(exc))
        return EXIT_BAD_INPUT
    except UsageError as exc:
        warn(str(exc))
        return EXIT_USAGE
    except FileShrank as exc:  # said as the supervisor says it when the reader dies of SIGBUS
        for path in CREATED:
            with contextlib.suppress(OSError):
                os.unlink(path)
        warn(f"{exc.filename}: {exc.strerror}: stopped (output files removed)")
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
