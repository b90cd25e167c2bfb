"""`replayfmt salvage`: what a truncated or corrupted segment or sidecar still holds."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    KINDS,
    InputError,
    add_force_argument,
    add_kind_argument,
    check_output,
    dumps,
    evidence,
    say,
    write_output,
)

if TYPE_CHECKING:
    import argparse

    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "salvage", help="recover what a truncated or corrupted segment or sidecar still holds",
        description="Recover every complete session and, from a damaged one, every action and "
                    "checkpoint lying wholly before the damage. Exit 0 when nothing was lost, "
                    "1 when the input was damaged.")
    p.add_argument("file", metavar="FILE",
                   help="segment, sidecar or .mv2 (its live segment) to recover from ('-': stdin)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write a valid segment/sidecar of what was recovered ('-': stdout)")
    add_force_argument(p)
    add_kind_argument(p, help="read as this container regardless of the magic (mv2: the "
                              "live segment the TOC manifest points at)")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import mv2
    from ..forensics import salvage

    if args.output:
        check_output(args.output, inputs=[args.file], force=args.force)
    kind, live = KINDS[args.kind], None
    with evidence(args.file) as data:
        if kind == "mv2" or (kind is None and mv2.is_mv2(data)):
            live = mv2.live_segment(data, "head")  # containers and session heads decode
            if live is None:
                raise InputError(f"{args.file}: no live replay segment found through the TOC "
                                 "manifest (carve finds every segment in the file)")
            result = salvage(data[live.offset:live.offset + live.size], "segment")
        else:
            result = salvage(data, kind)
    if args.output:
        try:
            rebuilt = result.rebuild()
        except ValueError as exc:  # nothing recovered
            raise InputError(f"{args.file}: {exc}") from exc
        write_output(args.output, rebuilt, inputs=[args.file], force=args.force)
    report_to = sys.stderr if args.output == "-" else sys.stdout
    if args.json:
        report = result.to_json()
        if live is not None:
            report = {"mv2_live_segment": {"offset": live.offset, "size": live.size}, **report}
        report_to.buffer.write(dumps(report))
    else:
        if live is not None:
            say(f"live segment at offset {live.offset}, {live.size} bytes (offsets below are "
                  "relative to it)", file=report_to)
        for d in result.details:
            state = "complete" if d.complete else "damaged"
            say(f"session {d.session.session_id} ({state}): "
                  f"{len(d.session.actions)}/{d.declared_actions} action(s), "
                  f"{len(d.session.checkpoints)}/{d.declared_checkpoints} checkpoint(s) "
                  f"recovered, bytes {d.offset}..{d.end}", file=report_to)
        for e in result.errors:
            say(f"damage: {e}", file=report_to)
        if result.complete:
            say(f"complete: {result.size} bytes, nothing lost", file=report_to)
        else:
            say(f"decoding stopped at offset {result.stopped_at}; {result.unread} of "
                  f"{result.size} bytes not recovered", file=report_to)
        if result.envelope_reconstructed:
            say("envelope fields after the session were lost: next_checkpoint_id and "
                  "actions_since_checkpoint recomputed, config set to defaults", file=report_to)
    return EXIT_OK if result.complete else EXIT_BAD_INPUT
