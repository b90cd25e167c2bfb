"""What the command modules share: exit codes, errors that map to them, input and output glue.

Nothing here is format logic: commands call library functions and use these helpers to read
their inputs, write their outputs and pick the exit code.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sys
import tempfile
from pathlib import Path

from ..files import InputError, dumps

__all__ = ["EXIT_OK", "EXIT_BAD_INPUT", "EXIT_USAGE", "EXIT_BUG", "EXIT_INTERRUPTED",
           "UsageError", "InputError", "dumps", "read_input", "map_input", "write_output", "evidence",
           "add_batch_arguments", "wants_batch", "KINDS"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: `--kind` values -> the library's container names (None: from the magic).
KINDS = {"auto": None, "segment": "segment", "active": "active_session", "mv2": "mv2"}


class UsageError(Exception):
    """Bad arguments or unusable files (exit 2)."""


def read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def map_input(path: str):
    """The input as a read-only mmap (bytes for stdin and empty files): never read whole."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return b""
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def write_output(path: str, data) -> None:
    """Write atomically (temp file + rename) so a failed run never leaves half a file.

    `data` is bytes, or a list of bytes pieces written in order."""
    if isinstance(data, list):
        pieces = data
    else:
        pieces = [data]
    if path == "-":
        sys.stdout.buffer.writelines(pieces)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(pieces)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual new-file mode
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def evidence(path: str):
    """`forensics.open_evidence` (read-only mmap, stdin for "-") with OSError as UsageError."""
    from ..forensics import open_evidence

    try:
        cm = open_evidence(path)
        data = cm.__enter__()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        yield data
    finally:
        cm.__exit__(None, None, None)


# --- batch mode ------------------------------------------------------------------------------

def add_batch_arguments(parser) -> None:
    """The batch options a command gets: -r, -j, --jsonl, --progress/--no-progress."""
    import argparse

    parser.add_argument("-r", "--recursive", action="store_true",
                        help="walk directories recursively (batch mode, JSON Lines)")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="worker processes (0: one per CPU); more than 1 means batch mode")
    parser.add_argument("--jsonl", action="store_true",
                        help="batch mode: one JSON object per file on stdout")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")


def wants_batch(args, paths: list[str]) -> bool:
    """Batch mode: asked for (-r, -j > 1, --jsonl) or a directory among the inputs."""
    return (args.recursive or args.jobs != 1 or args.jsonl
            or any(p != "-" and os.path.isdir(p) for p in paths))
