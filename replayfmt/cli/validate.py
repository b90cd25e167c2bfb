"""`replayfmt validate`: every problem in segments, sidecars and .mv2 files."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..errors import FileShrank
from ._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    KINDS,
    UsageError,
    add_batch_arguments,
    add_kind_argument,
    dumps,
    run_batch,
    say,
    wants_batch,
    warn,
)

if TYPE_CHECKING:
    import argparse

    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="every problem in segments, sidecars and .mv2 files",
        description="Report every problem found, each with a stable code, severity, byte "
                    "offset and length, and field path. Exit 0 clean, 1 errors (or warnings "
                    "with --strict), 2 unreadable file or bad usage.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="segment, sidecar or .mv2 ('-'), or a directory (batch mode)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="reports as JSON")
    fmt.add_argument("--sarif", action="store_true", help="SARIF 2.1.0")
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    add_kind_argument(p)
    add_batch_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import functools

    from ..stream import open_input
    from ..validate import ERROR, INFO, WARNING, to_sarif, validate, validate_path

    kind = KINDS[args.kind]
    if wants_batch(args, args.files):
        if args.sarif:
            raise UsageError("--sarif needs single-file mode (batch mode writes JSON Lines)")
        func = functools.partial(validate_path, kind=kind, strict=args.strict)
        return run_batch(func, args)
    reports = []
    status = EXIT_OK
    for path in args.files:
        try:
            with open_input(path) as data:
                report = validate(data, kind=kind)
        except FileShrank:  # said where the supervisor says it when a reader dies of SIGBUS
            raise
        except OSError as exc:
            warn(f"cannot read {path}: {exc.strerror or exc}")
            status = EXIT_USAGE
            continue
        report.file = path
        reports.append(report)
        if not report.ok(args.strict) and status == EXIT_OK:
            status = EXIT_BAD_INPUT
    if args.sarif:
        sys.stdout.buffer.write(dumps(to_sarif(reports)))
    elif args.json:
        sys.stdout.buffer.write(dumps([r.to_json() for r in reports]))
    else:
        for r in reports:
            for d in r.diagnostics:
                say(f"{r.file}: {d}")
            counts = ", ".join(f"{r.count(s)} {s}(s)" for s in (ERROR, WARNING, INFO))
            verdict = "ok" if r.ok(args.strict) else "FAILED"
            say(f"{r.file}: {r.kind}, {r.size} bytes: {counts}: {verdict}")
    return status
