"""`replayfmt carve`: every replay segment and sidecar envelope inside any bytes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import (
    EXIT_OK,
    UsageError,
    add_batch_arguments,
    add_force_argument,
    dumps,
    evidence,
    run_batch,
    say,
    wants_batch,
    write_output,
)

if TYPE_CHECKING:
    import argparse

    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "carve", help="find every replay segment and sidecar envelope inside any bytes",
        description="Scan a .mv2, disk image or memory dump for MV2RPLY! segments and MV2ACTIV "
                    "envelopes that fully decode. In a .mv2, the segment the TOC points at is "
                    "marked live. The input is opened read-only (mmap).")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="file to scan; several files or a directory: batch mode (JSON Lines)")
    p.add_argument("--out", metavar="DIR",
                   help="write each block's bytes into DIR, as SOURCE-KIND-OFFSET[-live].bin "
                        "or .session (an existing file is never replaced without --force)")
    add_force_argument(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_batch_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..forensics import carve, carve_path

    if len(args.files) > 1 or wants_batch(args, args.files):
        if args.out:
            raise UsageError("--out needs single-file mode (batch mode writes JSON Lines)")
        return run_batch(carve_path, args)
    args.file = args.files[0]
    with evidence(args.file) as data:
        blocks = carve(data)
        if args.out:
            out = Path(args.out)
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(f"cannot create {out}: {exc.strerror or exc}") from exc
            source = "stdin" if args.file == "-" else os.path.basename(args.file)
            for b in blocks:
                ext = "bin" if b.kind == "segment" else "session"
                name = f"{source}-{b.kind}-{b.offset:012d}{'-live' if b.live else ''}.{ext}"
                write_output(str(out / name), bytes(data[b.offset:b.end]), inputs=[args.file],
                             force=args.force)
    if args.json:
        sys.stdout.buffer.write(dumps([b.to_json() for b in blocks]))
        return EXIT_OK
    for b in blocks:
        flags = " live" if b.live else ""
        if b.duplicate_of is not None:
            flags += f" (same bytes as the block at {b.duplicate_of})"
        say(f"{b.kind:<15} offset {b.offset:>12}  size {b.size:>9}{flags}")
        for s in b.summaries:
            name = "(unnamed)" if s.name is None else repr(s.name)
            say(f"    session {s.session_id} {name}: {s.action_count} action(s), "
                f"{s.checkpoint_count} checkpoint(s)")
    say(f"{len(blocks)} block(s)" + (f" written to {args.out}" if args.out else ""))
    return EXIT_OK
