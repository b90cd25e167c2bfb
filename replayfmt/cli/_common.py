"""What the command modules share: exit codes, errors that map to them, input and output glue.

Nothing here is format logic: commands call library functions and use these helpers to read
their inputs, write their outputs and pick the exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, BinaryIO, TextIO

from ..files import InputError, dumps
from ..text import escape

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..batch import FileFunc
    from ..mv2 import Data

    #: What `add_subparsers` returns: each command module's `register` adds its parser to it.
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_BUG",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "KINDS",
    "InputError",
    "UsageError",
    "add_batch_arguments",
    "add_kind_argument",
    "dumps",
    "escape",
    "evidence",
    "kind_value",
    "map_input",
    "output_stream",
    "read_input",
    "say",
    "wants_batch",
    "warn",
    "write_output",
    "write_text",
]

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: `--kind` values (the same in every command) -> the library's container names (None: from
#: the magic). "active" is still accepted for "sidecar".
KINDS = {"auto": None, "segment": "segment", "sidecar": "active_session", "mv2": "mv2"}


def kind_value(text: str) -> str:
    """argparse type for `--kind`: one of KINDS ("active" is read as "sidecar")."""
    return "sidecar" if text == "active" else text


def add_kind_argument(parser: argparse.ArgumentParser, choices: Iterable[str] = tuple(KINDS),
                      default: str = "auto",
                      help: str = "read as this container regardless of the magic") -> None:
    parser.add_argument("--kind", type=kind_value, choices=choices, default=default,
                        help=help)


class UsageError(Exception):
    """Bad arguments or unusable files (exit 2)."""


def say(line: str = "", file: TextIO | None = None) -> None:
    """Print one line of text output (stdout by default) with what came from files escaped."""
    print(escape(line), file=file or sys.stdout)


def write_text(text: str) -> None:
    """Text output of several lines, escaped (line feeds kept)."""
    sys.stdout.write(escape(text, newlines=True))


def warn(message: str) -> None:
    """`replayfmt: MESSAGE` on stderr, escaped."""
    print(f"replayfmt: {escape(message)}", file=sys.stderr)


#: Inputs opened by `map_input`, closed when the command is done (`main`).
OPENED = contextlib.ExitStack()


def _cannot_read(path: str, exc: OSError) -> UsageError:
    return UsageError(f"cannot read {path}: {exc.strerror or exc}")


def read_input(path: str) -> bytes:
    """The whole input as bytes, through the bounded opener (`stream.open_input`)."""
    from ..stream import open_input

    try:
        with open_input(path) as data:
            return bytes(data)
    except OSError as exc:
        raise _cannot_read(path, exc) from exc


@contextlib.contextmanager
def _open_with(opener: Callable[[str], AbstractContextManager[Data]], path: str
               ) -> Iterator[Data]:
    """`opener(path)` (a context manager) with an OSError on opening as UsageError (exit 2);
    errors raised inside the block pass through unchanged."""
    try:
        cm = opener(path)
        data = cm.__enter__()
    except OSError as exc:
        raise _cannot_read(path, exc) from exc
    try:
        yield data
    finally:
        cm.__exit__(None, None, None)


def opened(path: str) -> AbstractContextManager[Data]:
    """`stream.open_input(path)` with OSError as UsageError (exit 2)."""
    from ..stream import open_input

    return _open_with(open_input, path)


def map_input(path: str) -> Data:
    """The input through the bounded opener: a read-only mmap of a regular file (never read
    whole), the bytes of a pipe or stdin; open until the command is done."""
    from ..stream import open_input

    try:
        data: Data = OPENED.enter_context(open_input(path))
    except OSError as exc:
        raise _cannot_read(path, exc) from exc
    return data


#: Files this run has created, removed again if it is interrupted (see `main`).
CREATED: list[str] = []

#: A file descriptor where the files this process creates are noted ("+path" when a file
#: appears, "-path" when a temporary one is gone again), read by the supervising process
#: (`cli.main`) when this one dies of a signal, to remove them; None when not supervised.
JOURNAL: int | None = None


def journal(sign: str, path: str) -> None:
    """Note a file this run created ("+") or a temporary one that is gone again ("-")."""
    if JOURNAL is not None:
        with contextlib.suppress(OSError):
            os.write(JOURNAL, sign.encode() + os.fsencode(os.path.abspath(path)) + b"\0")


def created(path: str) -> None:
    """An output of this run is complete: removed again if the run is interrupted."""
    CREATED.append(path)
    journal("+", path)


def _same_file(st: os.stat_result, other: os.stat_result) -> bool:
    return (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)


def check_output(path: str, *, inputs: Iterable[str] = (), force: bool = False) -> None:
    """Refuse an output that is one of the inputs (same device and inode: a hard link or
    another spelling of the name included), even with --force; refuse an existing file
    without --force. UsageError (exit 2) either way; evidence is never replaced."""
    if path == "-":
        return
    try:
        target = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    for source in inputs:
        try:
            st = os.fstat(sys.stdin.fileno()) if source == "-" else os.stat(source)
        except (OSError, ValueError):
            continue
        if _same_file(st, target):
            raise UsageError(f"refusing to write {path}: it is the input "
                             f"{'(stdin)' if source == '-' else source}")
    if not force:
        raise UsageError(f"refusing to replace {path}: it exists (--force replaces it)")


def write_output(path: str, data: bytes | list[bytes], *, inputs: Iterable[str] = (),
                 force: bool = False) -> None:
    """Write `data` (bytes, or a list of bytes pieces written in order) to `path` ("-":
    stdout), checked by `check_output` first.

    The file appears whole or not at all: the bytes go to a temporary file in the target's
    directory, which is then linked to the name (never replacing a file that appeared in the
    meantime) or, with --force, renamed over it. A failed or interrupted write removes the
    temporary file."""
    pieces = data if isinstance(data, list) else [data]
    if path == "-":
        sys.stdout.buffer.writelines(pieces)
        sys.stdout.buffer.flush()
        return
    check_output(path, inputs=inputs, force=force)
    import tempfile  # here, not at the top: reading commands start faster
    from pathlib import Path

    target = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=".partial")
        journal("+", tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(pieces)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual new-file mode
        if force:
            check_output(path, inputs=inputs, force=True)  # still never over an input
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if the name exists: no race can overwrite
            except FileExistsError:
                raise UsageError(f"refusing to replace {path}: it exists "
                                 "(--force replaces it)") from None
            except OSError:  # no hard links here (some file systems): check, then rename
                check_output(path, inputs=inputs)
                os.replace(tmp, target)
            else:
                os.unlink(tmp)
        journal("-", tmp)
        tmp = None
        created(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            journal("-", tmp)


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="replace an existing output file (never one of the inputs)")


@contextlib.contextmanager
def output_stream(path: str, inputs: Iterable[str] = (), force: bool = False
                  ) -> Iterator[BinaryIO]:
    """A binary stream for `path` ("-": stdout) for outputs written piece by piece: a
    temporary file beside it, renamed into place only when the block ends normally, so a
    failed or interrupted run leaves nothing. Refuses (UsageError) an output that is one of
    `inputs`, or that exists unless `force`: evidence is never overwritten."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    check_output(path, inputs=inputs, force=force)
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    journal("+", tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        if force:
            check_output(path, inputs=inputs, force=True)  # still never over an input
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the name appeared meanwhile: nothing is replaced
            except FileExistsError:
                raise UsageError(f"refusing to replace {path}: it exists "
                                 "(--force replaces it)") from None
            except OSError:  # no hard links on this file system: check, then rename
                check_output(path, inputs=inputs)
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
        journal("-", tmp)
        created(path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        journal("-", tmp)
        raise


def evidence(path: str) -> AbstractContextManager[Data]:
    """`forensics.open_evidence` (read-only mmap, stdin for "-") with OSError as UsageError."""
    from ..forensics import open_evidence

    return _open_with(open_evidence, path)


# --- batch mode ------------------------------------------------------------------------------

def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """The batch options a command gets: -r, -j, --jsonl, --progress/--no-progress."""
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="walk directories recursively (batch mode, JSON Lines)")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="worker processes (0: one per CPU); more than 1 means batch mode")
    parser.add_argument("--jsonl", action="store_true",
                        help="batch mode: one JSON object per file on stdout")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")
    parser.add_argument("--ordered", action="store_true",
                        help="batch mode: lines in input order (default: as files finish)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="batch mode: a file taking longer becomes an error line "
                             "(default 600; 0: no limit)")


def run_batch(func: FileFunc, args: argparse.Namespace) -> int:
    """`batch.run` with the batch options of `args`; returns the exit status."""
    from .. import batch

    return batch.run(func, args.files, recursive=args.recursive, jobs=args.jobs,
                     progress=args.progress, ordered=args.ordered,
                     timeout=args.timeout).exit_status


def wants_batch(args: argparse.Namespace, paths: list[str]) -> bool:
    """Batch mode: asked for (-r, -j > 1, --jsonl) or a directory among the inputs."""
    return bool(args.recursive or args.jobs != 1 or args.jsonl
            or any(p != "-" and os.path.isdir(p) for p in paths))
