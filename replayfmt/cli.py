"""The `replayfmt` command line: argument parsing, one exception boundary, exit codes.

Each command is a thin layer over library functions: results go to stdout (`--json` for
machines), diagnostics to stderr, `-` reads stdin or writes stdout. Exit codes: 0 ok, 1 bad
input (bytes or JSON that are not what they claim, a session that is not there), 2 usage or I/O.
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from . import __version__
from . import _generated as G
from . import mv2 as mv2mod
from .codec import (
    _parse_in_block,
    build_active_session,
    build_segment,
    bulk,
    parse_active_session,
    parse_envelope,
    parse_segment,
)
from .errors import ReplayFormatError
from .stream import SessionSummary, scan_segment, session_memvid_json, summarize_active

if TYPE_CHECKING:  # the model and memvid_json are imported where used: reading starts faster
    from .model import ActiveSession, ReplaySession, Segment

EXIT_OK, EXIT_BAD_INPUT, EXIT_USAGE = 0, 1, 2


def dumps(value) -> bytes:
    """Pretty JSON text for an already JSON-ready value (`memvid_json.dumps`)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


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


def map_input(path: str):
    """The input as a read-only mmap (bytes for stdin and empty files): never read whole."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return b""
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def write_output(path: str, data) -> None:
    """Write atomically (temp file + rename) so a failed run never leaves half a file.

    `data` is bytes, or a list of bytes pieces written in order."""
    if isinstance(data, list):
        pieces = data
    else:
        pieces = [data]
    if path == "-":
        sys.stdout.buffer.writelines(pieces)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(pieces)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual new-file mode
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def detect_kind(data: bytes) -> str:
    """'segment', 'active_session' or 'mv2' from the leading magic; InputError otherwise."""
    head = bytes(data[:8])
    if head == G.SEGMENT_MAGIC:
        return "segment"
    if head == G.ACTIVE_MAGIC:
        return "active_session"
    if head[:4] == G.MV2_MAGIC:
        return "mv2"
    raise InputError("not a replay segment (MV2RPLY!), active-session envelope (MV2ACTIV) "
                     "or .mv2 file (MV2\\0)")


class Loaded:
    """An input file: what it is, checked on opening, decoded only on request.

    Opening checks the file with the generated skip-parsers to `depth` (see
    `stream.scan_segment`: "full" = the same checks as a full decode) and keeps a summary per
    session; `segment`, `active`, `sessions` and the JSON methods decode.
    """

    def __init__(self, path: str, data, depth: str = "full") -> None:
        self.path = path
        self.data = data
        self.size = len(data)
        self.kind = detect_kind(data)
        self.scan = None
        self.envelope: dict | None = None
        self.live: mv2mod.LiveSegment | None = None
        self.layout: mv2mod.Mv2Layout | None = None
        self.summaries: list[SessionSummary] = []
        self._segment: Segment | None = None
        self._active: ActiveSession | None = None
        if self.kind == "segment":
            self.scan = scan_segment(data, depth=depth)
        elif self.kind == "active_session":
            summary, self.envelope = summarize_active(data)
            self.summaries = [summary]
        else:
            try:
                self.layout = mv2mod.read_layout(data)
            except ValueError as exc:
                raise InputError(str(exc)) from exc
            self.live = mv2mod.live_segment(data, depth)
            self.scan = self.live.scan if self.live else None
        if self.scan is not None:
            self.summaries = list(self.scan.sessions)

    @property
    def segment(self) -> Segment | None:
        if self._segment is None and self.scan is not None:
            self._segment = (self.live.segment if self.live is not None
                             else parse_segment(self.data))
        return self._segment

    @property
    def active(self) -> ActiveSession | None:
        if self._active is None and self.kind == "active_session":
            self._active = parse_active_session(self.data)
        return self._active

    @property
    def sessions(self) -> list[ReplaySession]:
        if self.kind == "active_session":
            return [self.active.session]
        return list(self.segment.sessions) if self.segment else []

    def find_summary(self, session_id: str) -> SessionSummary:
        wanted = session_id.lower()
        for s in self.summaries:
            if str(s.session_id) == wanted or s.session_id.hex == wanted:
                return s
        raise InputError(f"session {session_id} not found in {self.path}")

    def find_session(self, session_id: str) -> ReplaySession:
        summary = self.find_summary(session_id)
        if self.kind == "active_session":
            return self.active.session
        return self.segment.sessions[summary.index]

    def session_memvid_json(self, session_id: str) -> list[bytes]:
        """One session as `memvid session view --format json` prints it (with the newline),
        as pieces to write in order."""
        summary = self.find_summary(session_id)
        if self.kind == "active_session":
            return [dumps(self.session_json(session_id))]
        return session_memvid_json(self.data, summary.offset, summary.offset + summary.length,
                                   f"sessions[{summary.index}]") + [b"\n"]

    def session_json(self, session_id: str) -> dict:
        """One session in memvid's JSON shape, decoded straight from its bytes."""
        summary = self.find_summary(session_id)
        with bulk():
            if self.kind == "active_session":
                return parse_envelope(self.data, G.json_ActiveSession)["session"]
            return _parse_in_block(G.json_ReplaySession, self.data, summary.offset,
                                   summary.offset + summary.length,
                                   f"sessions[{summary.index}]", "session")

    def memvid_json(self):
        """The whole file's records in memvid's JSON shape (see `to_memvid_json`)."""
        with bulk():
            if self.kind == "active_session":
                return parse_envelope(self.data, G.json_ActiveSession)
            if self.scan is None:
                return None
            sessions = [_parse_in_block(G.json_ReplaySession, self.data, s.offset,
                                        s.offset + s.length, f"sessions[{s.index}]", "session")
                        for s in self.scan.sessions]
        return {"version": self.scan.version, "session_count": self.scan.session_count,
                "total_size": self.scan.total_size, "sessions": sessions}


# --- info ------------------------------------------------------------------------------------

def session_summary(s: ReplaySession | SessionSummary) -> dict:
    if isinstance(s, SessionSummary):
        action_count, checkpoint_count = s.action_count, s.checkpoint_count
        counts = None if s.actions_by_type is None else dict(s.actions_by_type)
    else:
        counts = {}
        for a in s.actions:
            name = a.action_type.DISPLAY
            counts[name] = counts.get(name, 0) + 1
        action_count, checkpoint_count = len(s.actions), len(s.checkpoints)
    out = {
        "session_id": str(s.session_id),
        "name": s.name,
        "created_secs": s.created_secs,
        "ended_secs": s.ended_secs,
        "action_count": action_count,
        "checkpoint_count": checkpoint_count,
        "actions_by_type": counts,
    }
    if counts is None:
        del out["actions_by_type"]
    return out


def info_json(loaded: Loaded) -> dict:
    out: dict = {"file": loaded.path, "kind": loaded.kind, "size": loaded.size}
    if loaded.kind == "mv2":
        lay = loaded.layout
        out["toc"] = {"offset": lay.footer_offset, "length": lay.toc_len,
                      "footer_offset": lay.footer_pos, "generation": lay.generation}
        if loaded.live is None:
            out["live_segment"] = None
        else:
            m = loaded.live.manifest_values
            out["live_segment"] = {"offset": loaded.live.offset, "size": loaded.live.size,
                                   "manifest_tag_offset": loaded.live.tag_pos,
                                   "manifest": {f: m[f] for f in (
                                       "segment_offset", "segment_size", "session_count",
                                       "total_actions", "version")}}
        sidecar = Path(loaded.path + ".session")
        out["sidecar"] = str(sidecar) if loaded.path != "-" and sidecar.exists() else None
    if loaded.scan is not None:
        seg = loaded.scan
        out["segment"] = {"version": seg.version, "session_count": seg.session_count,
                          "total_size": seg.total_size}
    if loaded.envelope is not None:
        env = loaded.envelope
        out["envelope"] = {"next_checkpoint_id": env["next_checkpoint_id"],
                           "actions_since_checkpoint": env["actions_since_checkpoint"],
                           "config": env["config"]}  # already memvid's JSON shape
    out["sessions"] = [session_summary(s) for s in loaded.summaries]
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
        if "actions_by_type" in s:
            by_type = ", ".join(f"{k} {v}" for k, v in s["actions_by_type"].items()) or "none"
            lines.append(f"    actions {s['action_count']} ({by_type}), "
                         f"checkpoints {s['checkpoint_count']}")
        else:
            lines.append(f"    actions {s['action_count']}, "
                         f"checkpoints {s['checkpoint_count']}")
    return "\n".join(lines) + "\n"


def cmd_info(args) -> int:
    status = EXIT_OK
    results = []
    for path in args.files:
        try:
            loaded = Loaded(path, map_input(path), "head" if args.headers else "full")
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
    loaded = Loaded(args.file, map_input(args.file), "head")
    if args.format == "memvid-json":
        # Straight from the bytes to memvid's JSON shapes: no model objects in between.
        if args.session:
            write_output(args.output, loaded.session_memvid_json(args.session))
            return EXIT_OK
        else:
            value = loaded.memvid_json()
            if value is None:
                raise InputError(f"{args.file} holds no live replay segment")
        write_output(args.output, dumps(value))
        return EXIT_OK
    if args.session:
        obj = loaded.find_session(args.session)
    elif loaded.active is not None:
        obj = loaded.active
    elif loaded.segment is not None:
        obj = loaded.segment
    else:
        raise InputError(f"{args.file} holds no live replay segment")
    from .memvid_json import dumps_memvid, to_json

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
    from .memvid_json import from_json
    from .model import ActiveSession, ReplaySession, Segment

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

def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `argv` naming a core command the extensions stay unloaded."""
    if argv is None or _needs_extensions(argv):
        _load_extensions()
    parser = argparse.ArgumentParser(
        prog="replayfmt",
        description="Read, write and inspect memvid replay segments (MV2RPLY!), "
                    "active-session sidecars (MV2ACTIV) and the segments inside .mv2 files.")
    parser.add_argument("--version", action="version", version=f"replayfmt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("info", help="what a file is, and a summary per session",
                       description="Checks every byte (as a full decode does) without building "
                                   "the actions, and summarises each session.")
    p.add_argument("files", nargs="+", metavar="FILE", help="segment, sidecar or .mv2 ('-': stdin)")
    p.add_argument("--headers", action="store_true",
                   help="list only: read each session up to its action count and never touch "
                        "the actions (O(sessions); the containers and length prefixes are "
                        "still checked, the action bytes are not; no counts by type)")
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

#: Command modules, imported only when the command line needs them (see `_load_extensions`):
#: `info`, `dump` and `build` start without importing them (or Construct).
_EXTENSION_MODULES = ("diff", "hexmap", "validate", "forensics", "fuzz_target",
                      "_cmd_timeline", "_cmd_report")
_CORE_COMMANDS = {"info", "dump", "build"}
_loaded = False


def _load_extensions() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for name in _EXTENSION_MODULES:
        register = importlib.import_module(f".{name}", __package__).register
        if register not in _EXTENSIONS:
            _EXTENSIONS.append(register)


def _needs_extensions(argv: list[str]) -> bool:
    command = next((a for a in argv if not a.startswith("-")), None)
    return command not in _CORE_COMMANDS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ReplayFormatError as exc:
        print(f"replayfmt: {getattr(args, 'file', None) or 'input'}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as exc:
        print(f"replayfmt: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        print(f"replayfmt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except (ValueError, TypeError) as exc:  # a model value out of range while building
        shape = getattr(sys.modules.get("replayfmt.memvid_json"), "JSONShapeError", None)
        if shape is not None and isinstance(exc, shape):  # JSON not shaped like a record
            print(f"replayfmt: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"replayfmt: cannot build: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
