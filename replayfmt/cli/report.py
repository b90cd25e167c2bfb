"""`replayfmt report`: one self-contained HTML page about a file, and its hex map beside it.

`-o OUT.html` writes the report and, when there is something to map, the hex map page
`OUT.hexmap.html` next to it (`report.hexmap_sibling`); the report's diagnostics link into it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING

from ._common import EXIT_BAD_INPUT, EXIT_OK, evidence, output_stream

if TYPE_CHECKING:
    import argparse

    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="one self-contained HTML page: the file, every session with a chart "
                       "of its actions, the validation diagnostics",
        description="Write a self-contained HTML report (no network, no data in scripts): what "
                    "the file is, every session it holds (live, stale, recovered, sidecar) with "
                    "a timeline chart of its actions by type, and the validation diagnostics, "
                    "linked into the hex map page written beside it (OUT.hexmap.html). Exit 1 "
                    "when validation finds errors (the pages are still written).")
    p.add_argument("file", metavar="FILE", help="segment, sidecar, .mv2 or any file ('-': stdin)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.html",
                   help="the report page ('-': stdout, without the hex map page)")
    p.add_argument("--no-hexmap", action="store_true",
                   help="do not write the hex map page (diagnostics are not linked)")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..report import hexmap_page, hexmap_sibling, render_report
    from ..validate import validate

    name = "stdin" if args.file == "-" else args.file
    with evidence(args.file) as data:
        mapped = None if args.no_hexmap or args.output == "-" else hexmap_page(data, name)
        sibling = hexmap_sibling(args.output) if mapped else None
        validation = validate(data)
        page = render_report(data, name, hexmap=mapped[0] if mapped else None,
                             hexmap_href=os.path.basename(sibling) if sibling else None,
                             validation=validation)
    # both targets are checked before either is written
    with output_stream(args.output, [args.file], args.force) as out, \
            (output_stream(sibling, [args.file], args.force) if sibling is not None
             else contextlib.nullcontext()) as map_out:
        out.write(page.encode("utf-8"))
        if mapped and map_out is not None:
            map_out.write(mapped[1].encode("utf-8"))
    if args.output != "-":
        also = f" and {sibling}" if sibling else ""
        print(f"report written to {args.output}{also}", file=sys.stderr)
    return EXIT_BAD_INPUT if validation.errors else EXIT_OK
