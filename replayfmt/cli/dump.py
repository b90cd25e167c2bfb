"""`replayfmt dump`: a file's records as JSON (memvid's exact bytes, or the readable form)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._common import (
    EXIT_OK,
    InputError,
    add_force_argument,
    check_output,
    dumps,
    map_input,
    output_stream,
    write_output,
)

if TYPE_CHECKING:
    import argparse

    from ..model import ActiveSession, ReplaySession, Segment
    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("dump", help="a file's records as JSON")
    p.add_argument("file", metavar="FILE", help="segment, sidecar or .mv2 ('-': stdin)")
    p.add_argument("--format", choices=("memvid-json", "json"), default="memvid-json",
                   help="memvid-json: byte-identical to `memvid session view --format json`; "
                        "json: readable (hex hashes, internally tagged action types)")
    # Which frame ids are resolved, and why Put's are not: docs/timeline.md.
    p.add_argument("--frames", action="store_true",
                   help="with --format json of a .mv2: the uri, title, kind and time of the "
                        "frames each Find/Ask action and checkpoint names (from the TOC)")
    p.add_argument("--session", "-s", metavar="ID", help="only this session (UUID)")
    p.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    add_force_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..files import ReplayFile

    check_output(args.output, inputs=[args.file], force=args.force)
    out = {"inputs": [args.file], "force": args.force}
    if args.frames and args.format != "json":
        raise InputError("--frames needs --format json")
    whole = args.format == "memvid-json" and not args.session
    # A whole file is written a session at a time: every byte is checked first ("full"), so
    # a damaged file prints nothing rather than the sessions before the damage.
    loaded = ReplayFile(args.file, map_input(args.file), "full" if whole else "head")
    if args.format == "memvid-json":
        # Straight from the bytes to memvid's JSON shapes: no model objects in between.
        if args.session:
            write_output(args.output, loaded.session_memvid_json(args.session), **out)
            return EXIT_OK
        pieces = loaded.memvid_json_pieces()
        if pieces is None:
            raise InputError(f"{args.file} holds no live replay segment")
        with output_stream(args.output, **out) as fh:
            for piece in pieces:
                fh.write(piece)
        return EXIT_OK
    obj: ReplaySession | ActiveSession | Segment
    if args.session:
        obj = loaded.find_session(args.session)
    elif loaded.active is not None:
        obj = loaded.active
    elif loaded.segment is not None:
        obj = loaded.segment
    else:
        raise InputError(f"{args.file} holds no live replay segment")
    from ..memvid_json import to_json

    value = to_json(obj)
    if args.frames:
        from ..timeline import file_kind, frame_context, with_frames

        frames = frame_context(loaded.data, file_kind(loaded.data))
        if frames is None:
            raise InputError(f"{args.file}: --frames needs a .mv2 whose TOC decodes "
                             "(the frames are in its TOC)")
        with_frames(value, frames)
    write_output(args.output, dumps(value), **out)
    return EXIT_OK
