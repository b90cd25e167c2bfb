"""`replayfmt hexmap`: every field with offset, size, path and value, over the hex."""

from __future__ import annotations

import argparse
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
    output_stream,
    warn,
    write_text,
)

if TYPE_CHECKING:
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
    from ..hexmap import HexMapStream, error_text, stream_hexmap

    html_out = args.output or args.html or ("-" if args.html == "" else None)
    if html_out:
        check_output(html_out, inputs=[args.file], force=args.force)
    data = map_input(args.file)  # mapped: a huge sparse file is never copied whole
    name = "stdin" if args.file == "-" else args.file
    # The fields are rendered into temporary files as they come (a segment's, a sidecar's or
    # a .mv2's a few thousand fields at a time, within a session or the TOC too): memory does
    # not follow the session's size nor a .mv2's number of frames (a tuple per TOC-named
    # range is kept). Running out of it all the same is a resource limit, not a bug; the
    # error is raised once the handler has let go of the exception (and of the fields its
    # traceback holds).
    too_big = False
    st: HexMapStream | None = None
    try:
        st = stream_hexmap(data, KINDS[args.kind], text=not (html_out or args.json),
                           json=args.json,
                           html=f"{name} — replayfmt hexmap" if html_out else None,
                           raw_limit=args.raw_limit)
        if html_out:
            with output_stream(html_out, inputs=[args.file], force=args.force) as fh:
                fh.writelines(st.html())
        if args.json:
            sys.stdout.buffer.writelines(st.json())
        elif not html_out:
            for piece in st.text():
                write_text(piece)
    except ValueError as exc:  # an unknown --kind
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{args.file}: {exc}") from exc
    except MemoryError:
        too_big = True
    except OSError as exc:
        if html_out and html_out != "-" and exc.filename is None:
            raise UsageError(f"cannot write {html_out}: {exc.strerror or exc}") from exc
        raise
    finally:
        if st is not None:
            st.close()
    if too_big:
        raise _too_big(args.file, data)
    assert st is not None
    sys.stdout.flush()
    if st.hexmap.error is not None:
        warn(f"{args.file}: {error_text(st.hexmap)}")
        return EXIT_BAD_INPUT
    return EXIT_OK


def _too_big(name: str, data: Sized) -> UsageError:
    return UsageError(f"cannot map {name}: its {len(data)} bytes have more fields than fit in "
                      "memory (map one session: carve or salvage it to its own file)")
