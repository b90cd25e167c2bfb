"""`replayfmt timeline`: every event of every session ever saved in the files, in time order.

A thin command over `replayfmt.timeline` (moves to `replayfmt/cli/timeline.py` with the
command package): parse arguments, merge the files' rows, write them in the chosen format.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile

EXIT_OK, EXIT_USAGE = 0, 2
_BY_EXTENSION = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@contextlib.contextmanager
def atomic_output(path: str, inputs: list[str], force: bool = False):
    """A binary stream for `path` ("-": stdout): written to a temporary file beside it and
    renamed into place only when the block ends normally, so a failed or interrupted run
    leaves nothing. Refuses an output that is one of the inputs, or that exists (unless
    `force`): evidence is never overwritten."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if any(_same(src, path) for src in inputs):
        raise FileExistsError(f"{path} is an input; refusing to overwrite evidence")
    if os.path.exists(path) and not force:
        raise FileExistsError(f"{path} exists (use --force to replace it)")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _same(a: str, b: str) -> bool:
    try:
        return a != "-" and os.path.samefile(a, b)
    except OSError:
        return False


def run(args) -> int:
    from .batch import iter_inputs
    from .timeline import iter_timeline, write

    fmt = args.format
    if fmt is None:
        fmt = _BY_EXTENSION.get(os.path.splitext(args.output)[1].lower(), "jsonl")
    if fmt == "parquet" and args.output == "-" and sys.stdout.isatty():
        print("replayfmt: parquet is binary: give -o FILE.parquet", file=sys.stderr)
        return EXIT_USAGE
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            print("replayfmt: parquet output needs pyarrow: pip install 'replayfmt[timeline]'",
                  file=sys.stderr)
            return EXIT_USAGE
    failed: list[str] = []

    def on_error(path: str, exc: OSError) -> None:
        failed.append(path)
        print(f"replayfmt: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)

    # the inputs are listed before the output exists, so it is never read as one
    files = list(iter_inputs(args.paths, args.recursive))
    try:
        with atomic_output(args.output, files, args.force) as out:
            rows = iter_timeline(files, jobs=args.jobs, progress=args.progress,
                                 on_error=on_error)
            count = write(rows, fmt, out)
    except OSError as exc:
        print(f"replayfmt: {exc.strerror or exc}" if not isinstance(exc, FileExistsError)
              else f"replayfmt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.output != "-":
        print(f"{count} event(s) written to {args.output} ({fmt})", file=sys.stderr)
    return EXIT_USAGE if failed else EXIT_OK


def register(subparsers) -> None:
    from .timeline import FORMATS

    p = subparsers.add_parser(
        "timeline", help="every session event, action and checkpoint of every session ever "
                         "saved, in time order (jsonl, csv, Timesketch, parquet)",
        description="One row per event (session created/ended, action, checkpoint) of every "
                    "session in every segment and sidecar envelope the files hold: in a .mv2 "
                    "the live session and the stale and deleted ones older segments still "
                    "hold, each row saying which (origin). Rows are ordered by time; equal "
                    "times keep the input order. Inputs are opened read-only.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="segment, sidecar, .mv2 or any file to carve; a directory: its files")
    p.add_argument("-r", "--recursive", action="store_true", help="walk directories recursively")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="jsonl (default; or from -o's extension .csv/.parquet), csv, "
                        "timesketch (JSONL with message, datetime, timestamp, timestamp_desc), "
                        "parquet (needs pyarrow)")
    p.add_argument("-o", "--output", default="-", metavar="OUT",
                   help="output file (default stdout); written atomically")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                   help="read files in N processes (0: one per CPU)")
    p.add_argument("--progress", action=_bool_action(), default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(func=_run_jobs, run=_run_jobs)


def _run_jobs(args) -> int:
    if args.jobs <= 0:
        args.jobs = os.cpu_count() or 1
    return run(args)


def _bool_action():
    import argparse

    return argparse.BooleanOptionalAction
