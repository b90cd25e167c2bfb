"""`replayfmt sessions`: the sessions a file holds; `--all`: every session ever saved in it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ._common import EXIT_OK, dumps, evidence, say

if TYPE_CHECKING:
    import argparse

    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "sessions", help="sessions of a file; --all: every session ever saved in it",
        description="List the sessions a file holds. With --all, every session in every "
                    "segment and envelope found in the file, live, superseded or deleted, "
                    "de-duplicated, with the blocks holding each (the memvid CLI only lists "
                    "the live segment's).")
    p.add_argument("file", metavar="FILE",
                   help=".mv2, segment, sidecar or any bytes holding them ('-': stdin)")
    p.add_argument("--all", action="store_true", help="include superseded and deleted ones")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..forensics import all_sessions

    with evidence(args.file) as data:
        records = all_sessions(data)
    if not args.all:
        records = [r for r in records if r.status in ("live", "active")]
    if args.json:
        sys.stdout.buffer.write(dumps([r.to_json() for r in records]))
        return EXIT_OK
    for r in records:
        s = r.session
        name = "(unnamed)" if s.name is None else repr(s.name)
        where = ", ".join(f"{b.kind}@{b.offset}{'*' if b.live else ''}" for b in r.blocks)
        say(f"{s.session_id} {r.status:<10} {name}: {len(s.actions)} action(s), "
            f"{len(s.checkpoints)} checkpoint(s), created {s.created_secs}, "
            f"ended {s.ended_secs}; in {where}")
    say(f"{len(records)} session(s)")
    return EXIT_OK
