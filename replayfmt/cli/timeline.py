"""`replayfmt timeline`: every event of every session ever saved in the files, in time order."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from ._common import EXIT_OK, EXIT_USAGE, UsageError, output_stream

if TYPE_CHECKING:
    from ._common import Subparsers

_BY_EXTENSION = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet"}
FORMATS = ("jsonl", "csv", "timesketch", "parquet")  # the library's (a test keeps them equal)


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "timeline", help="every session event, action and checkpoint of every session ever "
                         "saved, in time order (jsonl, csv, Timesketch, parquet)",
        description="One row per event (session created/ended, action, checkpoint) of every "
                    "session in every segment and sidecar envelope the files hold: in a .mv2 "
                    "the live session and the stale and deleted ones older segments still "
                    "hold, each row saying which (origin). Rows are ordered by time; equal "
                    "times keep the input order. Inputs are opened read-only. Exit 2 when a "
                    "file could not be read (the others are still written).")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="segment, sidecar, .mv2 or any file to carve; a directory: its files")
    p.add_argument("-r", "--recursive", action="store_true", help="walk directories recursively")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="jsonl (default; or from -o's extension .csv/.parquet), csv, "
                        "timesketch (JSONL with message, datetime, timestamp, timestamp_desc), "
                        "parquet (needs pyarrow: the timeline extra)")
    p.add_argument("-o", "--output", default="-", metavar="OUT",
                   help="output file (default stdout); written atomically")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                   help="read files in N processes (0: one per CPU)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..batch import iter_inputs
    from ..timeline import iter_timeline, write

    fmt = args.format or _BY_EXTENSION.get(os.path.splitext(args.output)[1].lower(), "jsonl")
    if fmt == "parquet":
        if args.output == "-" and sys.stdout.isatty():
            raise UsageError("parquet is binary: give -o FILE.parquet")
        try:
            import pyarrow  # type: ignore[import-untyped]  # noqa: F401 (no type information)
        except ImportError:
            raise UsageError("parquet output needs pyarrow: pip install 'replayfmt[timeline]'"
                             ) from None
    jobs = (os.cpu_count() or 1) if args.jobs <= 0 else args.jobs
    failed: list[str] = []

    def on_error(path: str, exc: OSError) -> None:
        failed.append(path)
        print(f"replayfmt: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)

    # the inputs are listed before the output exists, so it is never read as one
    files = list(iter_inputs(args.paths, args.recursive))
    with output_stream(args.output, files, args.force) as out:
        count = write(iter_timeline(files, jobs=jobs, progress=args.progress,
                                    on_error=on_error), fmt, out)
    if args.output != "-":
        print(f"{count} event(s) written to {args.output} ({fmt})", file=sys.stderr)
    return EXIT_USAGE if failed else EXIT_OK
