"""`replayfmt hexmap`: every field with offset, size, path and value, over the hex."""

from __future__ import annotations

import sys

from ._common import EXIT_BAD_INPUT, EXIT_OK, KINDS, InputError, read_input, write_output

RAW_LIMIT = 4096  # the library's default (`hexmap.RAW_LIMIT`; a test keeps them equal)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "hexmap", help="every field with offset, size, path and value, over the hex",
        description="Map every byte of a replay segment, MV2ACTIV sidecar or the live segment "
                    "of a .mv2 to its field. Damaged input: what decoded, then the rest raw, "
                    "and exit 1.")
    p.add_argument("file", metavar="FILE", help="segment, sidecar or .mv2 ('-': stdin)")
    p.add_argument("--html", metavar="OUT.html",
                   help="write a self-contained page (field tree beside the hex) instead of "
                        "the terminal view")
    p.add_argument("--json", action="store_true", help="the fields as JSON")
    p.add_argument("--kind", choices=("auto", "segment", "active"), default="auto",
                   help="read as this container regardless of the magic")
    p.add_argument("--raw-limit", type=int, default=RAW_LIMIT, metavar="N",
                   help=f"raw bytes shown after the decoded part (default {RAW_LIMIT})")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..hexmap import build_hexmap, error_text, hexmap_json, render_html, render_text
    from ..memvid_json import dumps

    data = read_input(args.file)
    try:
        hm = build_hexmap(data, KINDS[args.kind])
    except ValueError as exc:  # a .mv2 without a usable live segment
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{args.file}: {exc}") from exc
    if args.html:
        name = "stdin" if args.file == "-" else args.file
        page = render_html(hm, f"{name} — replayfmt hexmap", args.raw_limit)
        write_output(args.html, page.encode("utf-8"))
    if args.json:
        sys.stdout.buffer.write(dumps(hexmap_json(hm)))
    elif not args.html:
        sys.stdout.write(render_text(hm, args.raw_limit))
    sys.stdout.flush()
    if hm.error is not None:
        print(f"replayfmt: {args.file}: {error_text(hm)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK
