"""`replayfmt build`: JSON (memvid's or the readable form) back to a segment or a sidecar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._common import (
    EXIT_OK,
    InputError,
    UsageError,
    add_force_argument,
    check_output,
    opened,
    warn,
    write_output,
)

if TYPE_CHECKING:
    import argparse

    from ..mv2 import Data
    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("build", help="JSON (either form) back to a segment or a sidecar")
    p.add_argument("input", metavar="INPUT.json", help="JSON file ('-': stdin)")
    p.add_argument("-o", "--output", required=True, help="output file ('-': stdout)")
    add_force_argument(p)
    p.add_argument("--envelope", action="store_true",
                   help="write an MV2ACTIV active-session envelope (NAME.mv2.session)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..memvid_json import JSONShapeError, loads

    check_output(args.output, inputs=[args.input], force=args.force)
    with opened(args.input) as data:
        _not_json_at_all(args.input, data)
        try:
            raw = bytes(data)
        except MemoryError:
            raise UsageError(f"cannot read {args.input}: {len(data)} bytes of JSON do not fit "
                             "in memory") from None
    try:
        value = loads(raw)
    except ValueError as exc:
        raise InputError(f"{args.input} is not JSON: {exc}") from exc
    except MemoryError:
        raise UsageError(f"cannot read {args.input}: {len(raw)} bytes of JSON do not fit in "
                         "memory once parsed") from None
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


#: Inputs larger than this are looked at before they are read whole.
_LARGE = 64 << 20


def _not_json_at_all(name: str, data: Data) -> None:
    """A large input whose first byte that is not white space cannot open a record ({ or [),
    such as a sparse file of zeros, is refused from that byte, with the same message as a
    whole read gives, instead of reading gigabytes first."""
    if len(data) <= _LARGE:
        return
    from ..memvid_json import loads

    head = bytes(data[:1 << 16])
    k = len(head) - len(head.lstrip(b" \t\r\n"))
    if k < len(head) and head[k:k + 1] not in (b"{", b"["):
        try:
            loads(head[:k + 1])
        except ValueError as exc:
            raise InputError(f"{name} is not JSON: {exc}") from exc
        raise InputError(f"{name}: a segment, session or active session is a JSON object or "
                         "list")


def _build(args: argparse.Namespace, value: Any) -> bytes:  # value: decoded JSON
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
