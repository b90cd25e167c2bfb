"""`replayfmt diff`: structural differences between two replay files."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ._common import EXIT_USAGE, InputError, UsageError, map_input, warn, write_text

if TYPE_CHECKING:
    import argparse

    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "diff", help="structural differences between two segments, sidecars or .mv2 files",
        description="Compare two replay files (segment, MV2ACTIV sidecar, or the live segment "
                    "of a .mv2): sessions by id, checkpoints by id, actions by sequence. "
                    "Exit 0 when equal, 1 when different, 2 when an input cannot be read.")
    p.add_argument("a", metavar="A", help="the old file ('-': stdin)")
    p.add_argument("b", metavar="B", help="the new file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 equal, 1 different, 2 when either input cannot be read or decoded."""
    from ..diff import diff_records, render_text
    from ..errors import ReplayFormatError
    from ..files import ReplayFile
    from ..memvid_json import dumps

    records = []
    for path in (args.a, args.b):
        try:
            records.append(ReplayFile(path, map_input(path)).record)
        except (ReplayFormatError, InputError, UsageError) as exc:
            warn(f"{path}: {exc}")
            return EXIT_USAGE
    d = diff_records(*records)
    if args.json:
        out = {"a": {"file": args.a}, "b": {"file": args.b}, **d.to_json()}
        sys.stdout.buffer.write(dumps(out))
    else:
        write_text(render_text(d, args.a, args.b))
    sys.stdout.flush()
    return 0 if d.equal else 1
