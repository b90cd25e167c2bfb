"""The `replayfmt` command line: argument parsing, one exception boundary, exit codes.

Each command is a thin layer over library functions: results go to stdout (`--json` for
machines), diagnostics to stderr, `-` reads stdin or writes stdout. Exit codes: 0 ok, 1 bad
input (bytes or JSON that are not what they claim, a session that is not there), 2 usage or I/O.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import orjson

from . import __version__
from .codec import build_active_session, build_segment, parse_active_session, parse_segment
from .errors import ReplayFormatError
from .memvid_json import JSONShapeError, dumps, dumps_memvid, from_json, to_json, to_memvid_json
from .model import ActiveSession, ReplaySession, Segment
from . import mv2 as mv2mod
from . import schema

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unusable files (exit 2)."""


class InputError(Exception):
    """Input that is well-formed but not what was asked for (exit 1)."""


# --- input and output ------------------------------------------------------------------------

def read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def write_output(path: str, data: bytes) -> None:
    """Write atomically (temp file + rename) so a failed run never leaves half a file."""
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual new-file mode
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def detect_kind(data: bytes) -> str:
    """'segment', 'active_session' or 'mv2' from the leading magic; InputError otherwise."""
    head = bytes(data[:8])
    if head == schema.SEGMENT_MAGIC:
        return "segment"
    if head == schema.ACTIVE_MAGIC:
        return "active_session"
    if head[:4] == schema.MV2_MAGIC:
        return "mv2"
    raise InputError("not a replay segment (MV2RPLY!), active-session envelope (MV2ACTIV) "
                     "or .mv2 file (MV2\\0)")


class Loaded:
    """A decoded input file: what it is and the records in it."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.size = len(data)
        self.kind = detect_kind(data)
        self.segment: Segment | None = None
        self.active: ActiveSession | None = None
        self.live: mv2mod.LiveSegment | None = None
        self.layout: mv2mod.Mv2Layout | None = None
        if self.kind == "segment":
            self.segment = parse_segment(data)
        elif self.kind == "active_session":
            self.active = parse_active_session(data)
        else:
            try:
                self.layout = mv2mod.read_layout(data)
            except ValueError as exc:
                raise InputError(str(exc)) from exc
            self.live = mv2mod.live_segment(data)
            self.segment = self.live.segment if self.live else None

    @property
    def sessions(self) -> list[ReplaySession]:
        if self.active is not None:
            return [self.active.session]
        return list(self.segment.sessions) if self.segment else []

    def find_session(self, session_id: str) -> ReplaySession:
        for s in self.sessions:
            if str(s.session_id) == session_id.lower() or s.session_id.hex == session_id.lower():
                return s
        raise InputError(f"session {session_id} not found in {self.path}")


# --- info ------------------------------------------------------------------------------------

def session_summary(s: ReplaySession) -> dict:
    counts: dict[str, int] = {}
    for a in s.actions:
        name = a.action_type.DISPLAY
        counts[name] = counts.get(name, 0) + 1
    return {
        "session_id": str(s.session_id),
        "name": s.name,
        "created_secs": s.created_secs,
        "ended_secs": s.ended_secs,
        "action_count": len(s.actions),
        "checkpoint_count": len(s.checkpoints),
        "actions_by_type": counts,
    }


def info_json(loaded: Loaded) -> dict:
    out: dict = {"file": loaded.path, "kind": loaded.kind, "size": loaded.size}
    if loaded.kind == "mv2":
        lay = loaded.layout
        out["toc"] = {"offset": lay.footer_offset, "length": lay.toc_len,
                      "footer_offset": lay.footer_pos, "generation": lay.generation}
        if loaded.live is None:
            out["live_segment"] = None
        else:
            m = loaded.live.manifest
            out["live_segment"] = {"offset": loaded.live.offset, "size": loaded.live.size,
                                   "manifest_tag_offset": loaded.live.tag_pos,
                                   "manifest": {f: getattr(m, f) for f in (
                                       "segment_offset", "segment_size", "session_count",
                                       "total_actions", "version")}}
        sidecar = Path(loaded.path + ".session")
        out["sidecar"] = str(sidecar) if loaded.path != "-" and sidecar.exists() else None
    if loaded.segment is not None:
        seg = loaded.segment
        out["segment"] = {"version": seg.version, "session_count": seg.session_count,
                          "total_size": seg.total_size}
    if loaded.active is not None:
        a = loaded.active
        out["envelope"] = {"next_checkpoint_id": a.next_checkpoint_id,
                           "actions_since_checkpoint": a.actions_since_checkpoint,
                           "config": to_memvid_json(a.config)}
    out["sessions"] = [session_summary(s) for s in loaded.sessions]
    return out


def _when(secs: int | None) -> str:
    if secs is None:
        return "-"
    try:
        stamp = datetime.fromtimestamp(secs, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        stamp = "out of range"
    return f"{stamp} ({secs})"


def info_text(info: dict) -> str:
    lines = []
    kinds = {"segment": "replay segment (MV2RPLY!)",
             "active_session": "active-session envelope (MV2ACTIV)", "mv2": "memvid file (.mv2)"}
    lines.append(f"{info['file']}: {kinds[info['kind']]}, {info['size']} bytes")
    if info["kind"] == "mv2":
        live = info["live_segment"]
        if live is None:
            lines.append("  no live replay segment (TOC manifest is None)")
        else:
            lines.append(f"  live segment at offset {live['offset']}, {live['size']} bytes "
                         f"(TOC manifest tag at {live['manifest_tag_offset']})")
        if info.get("sidecar"):
            lines.append(f"  active session sidecar: {info['sidecar']}")
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
        by_type = ", ".join(f"{k} {v}" for k, v in s["actions_by_type"].items()) or "none"
        lines.append(f"    actions {s['action_count']} ({by_type}), "
                     f"checkpoints {s['checkpoint_count']}")
    return "\n".join(lines) + "\n"


def cmd_info(args) -> int:
    status = EXIT_OK
    results = []
    for path in args.files:
        try:
            loaded = Loaded(path, read_input(path))
        except (ReplayFormatError, InputError) as exc:
            print(f"replayfmt: {path}: {exc}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        info = info_json(loaded)
        results.append(info)
        if not args.json:
            sys.stdout.write(info_text(info))
    if args.json and results:
        sys.stdout.buffer.write(dumps(results[0] if len(args.files) == 1 else results))
    return status


# --- dump ------------------------------------------------------------------------------------

def cmd_dump(args) -> int:
    loaded = Loaded(args.file, read_input(args.file))
    if args.session:
        obj = loaded.find_session(args.session)
    elif loaded.active is not None:
        obj = loaded.active
    elif loaded.segment is not None:
        obj = loaded.segment
    else:
        raise InputError(f"{args.file} holds no live replay segment")
    if args.format == "memvid-json":
        out = dumps_memvid(obj)
    else:
        out = dumps(to_json(obj))
    write_output(args.output, out)
    return EXIT_OK


# --- build -----------------------------------------------------------------------------------

def cmd_build(args) -> int:
    raw = read_input(args.input)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{args.input} is not JSON: {exc}") from exc
    obj = from_json(value)
    if args.envelope:
        if not isinstance(obj, ActiveSession):
            raise InputError("--envelope needs an active session "
                             "({session, next_checkpoint_id, actions_since_checkpoint, config})")
        data = build_active_session(obj)
    else:
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
                    print(f"replayfmt: note: {field} {getattr(obj, field)} in the input was "
                          f"recomputed as {getattr(rebuilt, field)}", file=sys.stderr)
    write_output(args.output, data)
    return EXIT_OK


# --- entry point -----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replayfmt",
        description="Read, write and inspect memvid replay segments (MV2RPLY!), "
                    "active-session sidecars (MV2ACTIV) and the segments inside .mv2 files.")
    parser.add_argument("--version", action="version", version=f"replayfmt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", help="what a file is, and a summary per session")
    p.add_argument("files", nargs="+", metavar="FILE", help="segment, sidecar or .mv2 ('-': stdin)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("dump", help="a file's records as JSON")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=("memvid-json", "json"), default="memvid-json",
                   help="memvid-json: byte-identical to `memvid session view --format json`; "
                        "json: readable (hex hashes, internally tagged action types)")
    p.add_argument("--session", "-s", metavar="ID", help="only this session (UUID)")
    p.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    p.set_defaults(func=cmd_dump)

    p = sub.add_parser("build", help="JSON (either form) back to a segment or a sidecar")
    p.add_argument("input", metavar="INPUT.json", help="JSON file ('-': stdin)")
    p.add_argument("-o", "--output", required=True, help="output file ('-': stdout)")
    p.add_argument("--envelope", action="store_true",
                   help="write an MV2ACTIV active-session envelope (NAME.mv2.session)")
    p.set_defaults(func=cmd_build)

    for register in _EXTENSIONS:
        register(sub)
    return parser


#: Later modules add commands here: each item is register(subparsers).
_EXTENSIONS: list = []

from . import diff as _diff  # noqa: E402  (command modules import cli lazily)
from . import hexmap as _hexmap  # noqa: E402

_EXTENSIONS.append(_diff.register)
_EXTENSIONS.append(_hexmap.register)

from .forensics import register as _register_forensics  # noqa: E402
from .validate import register as _register_validate  # noqa: E402

_EXTENSIONS.append(_register_validate)
_EXTENSIONS.append(_register_forensics)

from .fuzz_target import register as _register_fuzz  # noqa: E402

_EXTENSIONS.append(_register_fuzz)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ReplayFormatError as exc:
        print(f"replayfmt: {getattr(args, 'file', None) or 'input'}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (JSONShapeError, InputError) as exc:
        print(f"replayfmt: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        print(f"replayfmt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except (ValueError, TypeError) as exc:  # a model value out of range while building
        print(f"replayfmt: cannot build: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
