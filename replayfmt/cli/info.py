"""`replayfmt info`: what each file is, and a summary per session."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_USAGE,
    InputError,
    UsageError,
    dumps,
    escape,
    opened,
    warn,
)

if TYPE_CHECKING:
    import argparse

    from ..files import FrameRefs, ReplayFile
    from ._common import Subparsers


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser("info", help="what a file is, and a summary per session",
                              description="Checks every byte (as a full decode does) without "
                                          "building the actions, and summarises each session.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="segment, sidecar or .mv2 ('-': stdin)")
    p.add_argument("--headers", action="store_true",
                   help="list only: read each session up to its action count and never touch "
                        "the actions (O(sessions); the containers and length prefixes are "
                        "still checked, the action bytes are not; no counts by type)")
    p.add_argument("--frames", action="store_true",
                   help="for a .mv2: the frames each Find/Ask action and checkpoint names, "
                        "resolved to their uri, title, kind and time from the TOC (decodes the "
                        "sessions; Put ids are write-ahead-log sequences and are not resolved)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=run)


def _when(secs: int | None) -> str:
    if secs is None:
        return "-"
    try:
        stamp = datetime.fromtimestamp(secs, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        stamp = "out of range"
    return f"{stamp} ({secs})"


_KINDS = {"segment": "replay segment (MV2RPLY!)",
          "active_session": "active-session envelope (MV2ACTIV)", "mv2": "memvid file (.mv2)"}


def info_text(info: dict[str, Any]) -> str:
    """`files.describe`'s dict as the terminal shows it."""
    lines = [f"{escape(info['file'])}: {_KINDS[info['kind']]}, {info['size']} bytes"]
    if info["kind"] == "mv2":
        live = info["live_segment"]
        if live is None:
            lines.append("  no live replay segment (TOC manifest is None)")
        else:
            lines.append(f"  live segment at offset {live['offset']}, {live['size']} bytes "
                         f"(TOC manifest tag at {live['manifest_tag_offset']})")
        if info.get("sidecar"):
            lines.append(f"  active session sidecar: {escape(info['sidecar'])}")
    if "segment" in info:
        seg = info["segment"]
        lines.append(f"  segment version {seg['version']}, {seg['session_count']} session(s), "
                     f"total_size {seg['total_size']}")
    if "envelope" in info:
        env = info["envelope"]
        cfg = env["config"]
        lines.append(f"  recording: next_checkpoint_id {env['next_checkpoint_id']}, "
                     f"actions_since_checkpoint {env['actions_since_checkpoint']}, "
                     f"auto_checkpoint_interval {cfg['auto_checkpoint_interval']}, "
                     f"max_actions_per_session {cfg['max_actions_per_session']}, "
                     f"auto_record {cfg['auto_record']}")
    for s in info["sessions"]:
        name = "(unnamed)" if s["name"] is None else repr(s["name"])
        lines.append(f"  session {s['session_id']} {name}")
        lines.append(f"    created {_when(s['created_secs'])}  ended {_when(s['ended_secs'])}")
        if "actions_by_type" in s:
            by_type = ", ".join(f"{k} {v}" for k, v in s["actions_by_type"].items()) or "none"
            lines.append(f"    actions {s['action_count']} ({by_type}), "
                         f"checkpoints {s['checkpoint_count']}")
        else:
            lines.append(f"    actions {s['action_count']}, "
                         f"checkpoints {s['checkpoint_count']}")
        if "frames" in s:
            lines.extend(_frames_text(s["frames"]))
    return escape("\n".join(lines) + "\n", newlines=True)


def _ids_text(ids: list[int]) -> str:
    """Frame ids in their order, runs of consecutive ids as first-last."""
    parts: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if j - i < 2 else f"{ids[i]}-{ids[j]}")
        if 0 < j - i < 2:
            parts.extend(str(x) for x in ids[i + 1:j + 1])
        i = j + 1
    return ", ".join(parts) or "none"


def _frames_text(refs: FrameRefs) -> list[str]:
    """The `--frames` lines of one session: who names which frame ids, then each frame."""
    if not refs["actions"] and not refs["checkpoints"]:
        return ["    frames: no Find, Ask or checkpoint in this session names a frame"]
    lines = ["    frames named (from the TOC's frame table):"]
    for a in refs["actions"]:
        lines.append(f"      actions[{a['index']}] {a['type']} {a['query']!r}: "
                     f"{_ids_text(a['frame_ids'])}")
    for c in refs["checkpoints"]:
        lines.append(f"      checkpoints[{c['index']}] (at sequence {c['at_sequence']}): "
                     f"{_ids_text(c['frame_ids'])}")
    for fid, f in refs["frames"].items():
        if f is None:
            lines.append(f"      frame {fid}: not in the TOC's frame table")
            continue
        kind = "-" if f["kind"] is None else repr(f["kind"])
        title = "-" if f["title"] is None else repr(f["title"])
        lines.append(f"      frame {fid}: {f['uri']!r} title {title} kind {kind} "
                     f"time {_when(f['time'])}")
    return lines


def _add_frames(info: dict[str, Any], loaded: ReplayFile) -> None:
    """`--frames`: each session of `info` gets the frames its actions and checkpoints name."""
    from ..files import describe_frames
    from ..timeline import frame_context

    lookup = frame_context(loaded.data, loaded.kind)
    if lookup is None:
        raise InputError("--frames needs a .mv2 whose TOC decodes (the frames are in its TOC)")
    for session, refs in zip(info["sessions"], describe_frames(loaded, lookup), strict=True):
        session["frames"] = refs


def run(args: argparse.Namespace) -> int:
    from ..errors import ReplayFormatError
    from ..files import ReplayFile, describe

    if args.frames and args.headers:
        raise UsageError("--frames reads the actions: it cannot go with --headers")
    status = EXIT_OK
    results = []
    for path in args.files:
        try:
            with opened(path) as data:  # one file open at a time
                loaded = ReplayFile(path, data, "head" if args.headers else "full")
                info = describe(loaded)
                if args.frames:
                    _add_frames(info, loaded)
        except (ReplayFormatError, InputError) as exc:
            warn(f"{path}: {exc}")
            status = max(status, EXIT_BAD_INPUT)
            continue
        except UsageError as exc:  # unreadable: say so, go on with the next file
            warn(str(exc))
            status = EXIT_USAGE
            continue
        results.append(info)
        if not args.json:
            sys.stdout.write(info_text(info))  # escaped
    if args.json and results:
        sys.stdout.buffer.write(dumps(results[0] if len(args.files) == 1 else results))
    return status
