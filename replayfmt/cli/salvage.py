"""`replayfmt salvage`: what a truncated or corrupted segment or sidecar still holds."""

from __future__ import annotations

import sys

from ._common import evidence, EXIT_BAD_INPUT, EXIT_OK, KINDS, InputError, UsageError, dumps, write_output


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "salvage", help="recover what a truncated or corrupted segment or sidecar still holds",
        description="Recover every complete session and, from a damaged one, every action and "
                    "checkpoint lying wholly before the damage. Exit 0 when nothing was lost, "
                    "1 when the input was damaged.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write a valid segment/sidecar of what was recovered ('-': stdout)")
    p.add_argument("--kind", choices=("auto", "segment", "active"), default="auto",
                   help="read as this container regardless of the magic")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..forensics import open_evidence, salvage

    with evidence(args.file) as data:
        result = salvage(data, KINDS[args.kind])
    if args.output:
        try:
            rebuilt = result.rebuild()
        except ValueError as exc:  # nothing recovered
            raise InputError(f"{args.file}: {exc}") from exc
        write_output(args.output, rebuilt)
    report_to = sys.stderr if args.output == "-" else sys.stdout
    if args.json:
        report_to.buffer.write(dumps(result.to_json()))
    else:
        for d in result.details:
            state = "complete" if d.complete else "damaged"
            print(f"session {d.session.session_id} ({state}): "
                  f"{len(d.session.actions)}/{d.declared_actions} action(s), "
                  f"{len(d.session.checkpoints)}/{d.declared_checkpoints} checkpoint(s) "
                  f"recovered, bytes {d.offset}..{d.end}", file=report_to)
        for e in result.errors:
            print(f"damage: {e}", file=report_to)
        if result.complete:
            print(f"complete: {result.size} bytes, nothing lost", file=report_to)
        else:
            print(f"decoding stopped at offset {result.stopped_at}; {result.unread} of "
                  f"{result.size} bytes not recovered", file=report_to)
        if result.envelope_reconstructed:
            print("envelope fields after the session were lost: next_checkpoint_id and "
                  "actions_since_checkpoint recomputed, config set to defaults", file=report_to)
    return EXIT_OK if result.complete else EXIT_BAD_INPUT
