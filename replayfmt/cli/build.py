"""`replayfmt build`: JSON (memvid's or the readable form) back to a segment or a sidecar."""

from __future__ import annotations

from ._common import (
    EXIT_OK,
    InputError,
    add_force_argument,
    check_output,
    read_input,
    warn,
    write_output,
)


def register(subparsers) -> None:
    p = subparsers.add_parser("build", help="JSON (either form) back to a segment or a sidecar")
    p.add_argument("input", metavar="INPUT.json", help="JSON file ('-': stdin)")
    p.add_argument("-o", "--output", required=True, help="output file ('-': stdout)")
    add_force_argument(p)
    p.add_argument("--envelope", action="store_true",
                   help="write an MV2ACTIV active-session envelope (NAME.mv2.session)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..memvid_json import JSONShapeError, loads

    check_output(args.output, inputs=[args.input], force=args.force)
    raw = read_input(args.input)
    try:
        value = loads(raw)
    except ValueError as exc:
        raise InputError(f"{args.input} is not JSON: {exc}") from exc
    try:
        data = _build(args, value)
    except InputError:
        raise
    except JSONShapeError as exc:  # JSON not shaped like a record
        raise InputError(str(exc)) from exc
    except (ValueError, TypeError) as exc:  # a model value out of range while building
        raise InputError(f"cannot build: {exc}") from exc
    write_output(args.output, data, inputs=[args.input], force=args.force)
    return EXIT_OK


def _build(args, value) -> bytes:
    from ..codec import build_active_session, build_segment, parse_segment
    from ..memvid_json import from_json
    from ..model import ActiveSession, ReplaySession, Segment

    obj = from_json(value)
    if args.envelope:
        if not isinstance(obj, ActiveSession):
            raise InputError("--envelope needs an active session "
                             "({session, next_checkpoint_id, actions_since_checkpoint, config})")
        return build_active_session(obj)
    version = 1
    if isinstance(obj, Segment):
        sessions, version = obj.sessions, obj.version
    elif isinstance(obj, ReplaySession):
        sessions = [obj]
    elif isinstance(obj, list):
        sessions = obj
    else:
        raise InputError("a segment is built from a segment, a session or a list of "
                         "sessions (use --envelope for an active session)")
    data = build_segment(sessions, version=version)
    if isinstance(obj, Segment):
        rebuilt = parse_segment(data)
        for field in ("session_count", "total_size"):
            if getattr(obj, field) != getattr(rebuilt, field):
                warn(f"note: {field} {getattr(obj, field)} in the input was "
                     f"recomputed as {getattr(rebuilt, field)}")
    return data
