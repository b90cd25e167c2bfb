"""`replayfmt hexmap`: every field with offset, size, path and value, over the hex."""

from __future__ import annotations

import sys
from collections.abc import Sized
from typing import TYPE_CHECKING

from ._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    KINDS,
    InputError,
    UsageError,
    add_force_argument,
    add_kind_argument,
    check_output,
    map_input,
    warn,
    write_output,
    write_text,
)

if TYPE_CHECKING:
    import argparse

    from ._common import Subparsers

RAW_LIMIT = 4096  # the library's default (`hexmap.RAW_LIMIT`; a test keeps them equal)


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "hexmap", help="every field with offset, size, path and value, over the hex",
        description="Map every byte of a replay segment, MV2ACTIV sidecar or .mv2 (header, WAL, "
                    "frame payloads by frame id, live segment, TOC, footer) to its field. "
                    "Damaged input: what decoded, then the rest raw, and exit 1.")
    p.add_argument("file", metavar="FILE", help="segment, sidecar or .mv2 ('-': stdin)")
    p.add_argument("--html", nargs="?", const="", metavar="OUT.html",
                   help="a self-contained page (field tree beside the hex) instead of the "
                        "terminal view, written to OUT.html (or -o; default stdout)")
    p.add_argument("-o", "--output", metavar="OUT.html",
                   help="where the page goes (implies --html; '-': stdout)")
    add_force_argument(p)
    p.add_argument("--json", action="store_true", help="the fields as JSON")
    add_kind_argument(p)
    p.add_argument("--raw-limit", type=int, default=RAW_LIMIT, metavar="N",
                   help=f"raw bytes shown after the decoded part (default {RAW_LIMIT})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..hexmap import build_hexmap, error_text, hexmap_json, render_html, render_text
    from ..memvid_json import dumps

    html_out = args.output or args.html or ("-" if args.html == "" else None)
    if html_out:
        check_output(html_out, inputs=[args.file], force=args.force)
    data = map_input(args.file)  # mapped: a huge sparse file is never copied whole
    # Every field is held at once: running out of memory is a resource limit, not a bug. The
    # error is raised once the handler has let go of the exception (and of the fields its
    # traceback holds), so there is memory again to report it.
    too_big = False
    try:
        hm = build_hexmap(data, KINDS[args.kind])
    except ValueError as exc:  # an unknown --kind
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{args.file}: {exc}") from exc
    except MemoryError:
        too_big = True
    if too_big:
        raise _too_big(args.file, data)
    try:
        if html_out:
            name = "stdin" if args.file == "-" else args.file
            page = render_html(hm, f"{name} — replayfmt hexmap", args.raw_limit)
            write_output(html_out, page.encode("utf-8"), inputs=[args.file], force=args.force)
        if args.json:
            sys.stdout.buffer.write(dumps(hexmap_json(hm)))
        elif not html_out:
            write_text(render_text(hm, args.raw_limit))
    except MemoryError:
        too_big = True
    if too_big:
        del hm
        raise _too_big(args.file, data)
    sys.stdout.flush()
    if hm.error is not None:
        warn(f"{args.file}: {error_text(hm)}")
        return EXIT_BAD_INPUT
    return EXIT_OK


def _too_big(name: str, data: Sized) -> UsageError:
    return UsageError(f"cannot map {name}: its {len(data)} bytes have more fields than fit in "
                      "memory (map one session: carve or salvage it to its own file)")
