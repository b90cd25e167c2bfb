"""`replayfmt fuzz`: crash and differential fuzzing of another program that reads these formats."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ._common import EXIT_BAD_INPUT, EXIT_OK, UsageError, escape, kind_value, read_input, say

if TYPE_CHECKING:
    import argparse

    from ._common import Subparsers

KINDS = ("segment", "sidecar", "mv2")  # `fuzz_target.KINDS` (a test keeps them equal)


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "fuzz", help="crash/differential fuzzing of another program that reads these formats",
        description="Generate valid and mutated inputs, run a target on each, record crashes "
                    "(signal, panic, unexpected exit, timeout) with minimised reproducers and "
                    "JSON reports under --out. Exit 0: no findings; 1: crashes (or, with "
                    "--compare, disagreements); 2: usage.")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--target", metavar="'COMMAND {file}'",
                     help="command to run per input; {file} is replaced by the input's path")
    how.add_argument("--recipe", choices=("memvid",),
                     help="ready recipe: the real memvid CLI (sidecar: session end; segment or "
                          "mv2: session list/view)")
    p.add_argument("--kind", type=kind_value, choices=KINDS, default="segment",
                   help="what to generate: a replay segment, an MV2ACTIV sidecar or a whole "
                        ".mv2 (mv2 needs --seeds)")
    p.add_argument("--runs", type=int, default=1000, metavar="N", help="inputs to run")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed: the same seed gives the same inputs")
    p.add_argument("--out", default="fuzz-out", metavar="DIR",
                   help="directory for reproducers and JSON reports")
    p.add_argument("--compare", action="store_true",
                   help="also compare the target's verdict (and memvid JSON) with replayfmt's")
    p.add_argument("--lenient", action="store_true",
                   help="with --compare, judge like memvid's reference reader (version, "
                        "total_size and trailing bytes not checked) instead of strictly")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="per-run time limit; a run over it is a finding")
    p.add_argument("--ok-exit", default=None, metavar="CODES",
                   help="exit codes that are normal, comma-separated (default 0,1; memvid "
                        "recipe 0,1,4)")
    p.add_argument("--seeds", nargs="+", metavar="FILE", help="seed inputs (default: generated)")
    p.add_argument("--memvid", metavar="BINARY", help="memvid binary for --recipe memvid")
    p.add_argument("--minimise-budget", type=int, default=200, metavar="RUNS",
                   help="target runs spent minimising each crash")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..fuzz_target import CommandTarget, MemvidRecipe, run_campaign

    if args.runs < 1:
        raise UsageError("--runs must be at least 1")
    normal: tuple[int, ...] | None = None
    if args.ok_exit is not None:
        try:
            normal = tuple(int(c) for c in args.ok_exit.split(",") if c.strip())
        except ValueError as exc:
            raise UsageError(f"--ok-exit: {exc}") from exc
    seeds = [read_input(f) for f in args.seeds] if args.seeds else None
    if args.kind == "mv2" and not seeds:
        raise UsageError("--kind mv2 needs --seeds FILE.mv2 ...")
    target: MemvidRecipe | CommandTarget
    try:
        if args.recipe:
            from ..peer import MemvidNotFound
            try:
                target = MemvidRecipe(args.kind, binary=args.memvid, timeout=args.timeout)
            except MemvidNotFound as exc:
                raise UsageError(str(exc)) from exc
        else:
            target = CommandTarget(args.target, timeout=args.timeout)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if normal is not None:
        target.normal_exits = normal

    def progress(msg: str) -> None:
        print(f"replayfmt fuzz: {escape(msg)}", file=sys.stderr)

    camp = run_campaign(target, args.kind, runs=args.runs, seed=args.seed, out=args.out,
                        compare=args.compare, seeds=seeds,
                        minimise_budget=args.minimise_budget, lenient=args.lenient,
                        progress=progress)
    say(f"{camp.runs} runs in {camp.seconds:.1f}s: {len(camp.crashes)} distinct crash(es), "
          f"{len(camp.mismatches)} disagreement(s); accepted {camp.accepted}, "
          f"rejected {camp.rejected}; reports in {args.out}")
    for c in camp.crashes:
        say(f"  {c.id}: {c.signature} (x{c.count}, first at run {c.run})")
    findings = camp.crashes or (args.compare and camp.mismatches)
    return EXIT_BAD_INPUT if findings else EXIT_OK
