"""A replay file opened for the tools: what it is, checked on opening, decoded on request.

`ReplayFile(path, data)` sniffs the kind (segment, active-session sidecar, `.mv2`), checks the
bytes (see `stream.scan_segment`'s depths) and keeps a summary per session; `segment`,
`active`, `sessions` and the JSON methods decode. `describe(file)` is the JSON-ready summary
that `replayfmt info` prints. `InputError` is well-formed input that is not what was asked for
(an unknown kind, a session that is not there). Nothing here prints or writes files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from . import _generated as G
from . import framing
from . import mv2 as mv2mod
from .codec import (
    bulk,
    parse_active_session,
    parse_envelope,
    parse_segment,
)
from .stream import (
    SegmentScan,
    SessionSummary,
    check_mapped,
    release,
    scan_segment,
    session_memvid_json,
    summarize_active,
)

if TYPE_CHECKING:  # the model is imported where used: reading starts faster
    from .model import ActiveSession, ReplaySession, Segment
    from .mv2 import Data
    from .timeline import FrameInfo

__all__ = ["InputError", "ReplayFile", "detect_kind", "describe", "describe_frames",
           "session_summary", "dumps"]


class InputError(ValueError):
    """Input that is well-formed but not what was asked for (not a replay file, no such
    session, no live segment)."""


def dumps(value: object) -> bytes:
    """Pretty JSON text for an already JSON-ready value (`memvid_json.dumps`).

    A file name that is not UTF-8 (lone surrogates from surrogateescape) cannot be UTF-8 JSON
    text; such a value is written with ASCII escapes instead ("\\udcff"), losslessly."""
    import orjson  # here: a command that prints text does not pay for its import

    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"
    except orjson.JSONEncodeError:
        import json

        return json.dumps(value, indent=2, ensure_ascii=True).encode("ascii") + b"\n"


def detect_kind(data: Data) -> str:
    """'segment', 'active_session' or 'mv2' from the leading magic; InputError otherwise."""
    kind = framing.sniff(data)
    if kind is not None:
        return kind
    raise InputError("not a replay segment (MV2RPLY!), active-session envelope (MV2ACTIV) "
                     "or .mv2 file (MV2\\0)")


class ReplayFile:
    """An input file: what it is, checked on opening, decoded only on request.

    Opening checks the file with the generated skip-parsers to `depth` (see
    `stream.scan_segment`: "full" = the same checks as a full decode) and keeps a summary per
    session; `segment`, `active`, `sessions` and the JSON methods decode.
    """

    def __init__(self, path: str, data: Data, depth: str = "full") -> None:
        self.path = path
        self.data = data
        self.size = len(data)
        self.kind = detect_kind(data)
        self.scan: SegmentScan | None = None
        self.envelope: dict[str, Any] | None = None  # memvid's JSON shape
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
    def record(self) -> ActiveSession | Segment | None:
        """The file's record: the active session, or the segment (None for a .mv2 without a
        live segment)."""
        if self.active is not None:
            return self.active
        return self.segment

    @property
    def sessions(self) -> list[ReplaySession]:
        active = self.active  # None unless the file is an active session
        if active is not None:
            return [active.session]
        return list(self.segment.sessions) if self.segment else []

    def find_summary(self, session_id: str) -> SessionSummary:
        wanted = session_id.lower()
        for s in self.summaries:
            if str(s.session_id) == wanted or s.session_id.hex == wanted:
                return s
        raise InputError(f"session {session_id} not found in {self.path}")

    def find_session(self, session_id: str) -> ReplaySession:
        summary = self.find_summary(session_id)
        active = self.active  # None unless the file is an active session
        if active is not None:
            return active.session
        segment = self.segment
        assert segment is not None  # a summary was found: the file has a segment
        session: ReplaySession = segment.sessions[summary.index]
        return session

    def session_memvid_json(self, session_id: str) -> list[bytes]:
        """One session as `memvid session view --format json` prints it (with the newline),
        as pieces to write in order."""
        summary = self.find_summary(session_id)
        if self.kind == "active_session":
            return [dumps(self.session_json(session_id))]
        return session_memvid_json(self.data, summary.offset, summary.offset + summary.length,
                                   f"sessions[{summary.index}]") + [b"\n"]

    def session_json(self, session_id: str) -> dict[str, Any]:
        """One session in memvid's JSON shape, decoded straight from its bytes."""
        summary = self.find_summary(session_id)
        with bulk():
            if self.kind == "active_session":
                value: dict[str, Any] = parse_envelope(  # type: ignore[no-untyped-call, unused-ignore]  # codec: untyped
                    self.data, G.json_ActiveSession)["session"]
                return value
            value = framing.in_block(G.json_ReplaySession, self.data, summary.offset,
                                   summary.offset + summary.length,
                                   f"sessions[{summary.index}]", "session")
        return value

    def memvid_json(self) -> dict[str, Any] | None:
        """The whole file's records in memvid's JSON shape (see `to_memvid_json`)."""
        with bulk():
            if self.kind == "active_session":
                envelope: dict[str, Any] = parse_envelope(  # type: ignore[no-untyped-call, unused-ignore]  # codec: untyped
                    self.data, G.json_ActiveSession)
                return envelope
            if self.scan is None:
                return None
            sessions = [framing.in_block(G.json_ReplaySession, self.data, s.offset,
                                        s.offset + s.length, f"sessions[{s.index}]", "session")
                        for s in self.scan.sessions]
        return {"version": self.scan.version, "session_count": self.scan.session_count,
                "total_size": self.scan.total_size, "sessions": sessions}

    def memvid_json_pieces(self) -> Iterator[bytes] | None:
        """`dumps(self.memvid_json())`, the same bytes, as pieces to write in order: a
        segment's sessions are rendered one at a time (`stream.session_memvid_json`), so
        memory is bounded by the largest session, not the file. None when there is nothing
        to print (a .mv2 without a live segment). Errors are raised before the first piece
        only when the file was opened at depth "full" (every byte checked)."""
        if self.kind == "active_session":
            return iter([dumps(self.memvid_json())])
        if self.scan is None:
            return None
        return self._segment_pieces()

    def _segment_pieces(self) -> Iterator[bytes]:
        scan = self.scan
        assert scan is not None  # called for a file with a segment
        import orjson

        text = orjson.dumps({"version": scan.version, "session_count": scan.session_count,
                             "total_size": scan.total_size, "sessions": []},
                            option=orjson.OPT_INDENT_2)
        before, after = text.rsplit(b"[]", 1)
        if not scan.sessions:
            yield text + b"\n"
            return
        yield before + b"["
        for k, s in enumerate(scan.sessions):
            yield b",\n    " if k else b"\n    "
            check_mapped(self.data)  # a shrunk file is FileShrank here, not SIGBUS below
            yield from session_memvid_json(self.data, s.offset, s.offset + s.length,
                                           f"sessions[{s.index}]", nesting=2)
            release(self.data, s.offset, s.offset + s.length)  # a mapped file stays flat
        yield b"\n  ]" + after + b"\n"


# --- info ------------------------------------------------------------------------------------

def session_summary(s: SessionSummary) -> dict[str, Any]:
    """What `info --json` shows of a session: the listing fields and, unless the listing
    stopped before the actions, the counts by type."""
    out: dict[str, Any] = s.listing()
    if s.actions_by_type is not None:
        out["actions_by_type"] = dict(s.actions_by_type)
    return out


def _sidecar(path: str) -> str | None:
    """NAME.mv2.session beside a .mv2, when there is one (a name too long for it: none)."""
    if path == "-":
        return None
    sidecar = path + ".session"
    try:
        return sidecar if Path(sidecar).exists() else None
    except OSError:  # ENAMETOOLONG and the like: there cannot be such a file
        return None


def describe(loaded: ReplayFile) -> dict[str, Any]:
    """The JSON-ready summary `replayfmt info` prints: file, kind, size, the .mv2's TOC, live
    segment and sidecar, the segment header, the envelope's fields, and each session."""
    out: dict[str, Any] = {"file": loaded.path, "kind": loaded.kind, "size": loaded.size}
    if loaded.kind == "mv2":
        lay = loaded.layout
        assert lay is not None  # read on opening a .mv2
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
        out["sidecar"] = _sidecar(loaded.path)
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


#: action types whose affected_frames are frame ids (`timeline.frame_context` says why Put's
#: are not: memvid records the put's write-ahead-log sequence there).
_RESOLVED = ("Find", "Ask")


class FrameAction(TypedDict):
    """A Find or Ask action of a session and the frame ids it names (`describe_frames`)."""

    index: int
    type: str
    query: str
    frame_ids: list[int]


class FrameCheckpoint(TypedDict):
    """A checkpoint of a session and the frame ids its snapshot holds (`describe_frames`)."""

    index: int
    id: int
    at_sequence: int
    frame_ids: list[int]


class FrameRefs(TypedDict):
    """What `info --frames` adds to a session (`describe_frames`)."""

    actions: list[FrameAction]
    checkpoints: list[FrameCheckpoint]
    frames: dict[str, dict[str, Any] | None]  # id as text -> FrameInfo's fields, or None


def describe_frames(loaded: ReplayFile, lookup: Callable[[int], FrameInfo | None]
                    ) -> list[FrameRefs]:
    """What `info --frames` adds to each session of `describe(loaded)`, in the same order:
    {"actions": [{"index", "type", "query", "frame_ids"}], "checkpoints": [{"index", "id",
    "at_sequence", "frame_ids"}], "frames": {id: {id, uri, title, kind, time} or None}}: the
    Find/Ask actions and checkpoints of the session with the frame ids they name, and each
    named frame once, resolved by `lookup` (id -> `timeline.FrameInfo` or None, e.g.
    `timeline.frame_context`; None when the TOC's frame table does not hold the id). The
    sessions are decoded to memvid's JSON shape (no model objects)."""
    value = loaded.memvid_json()
    sessions = [] if value is None else (
        [value["session"]] if loaded.kind == "active_session" else value["sessions"])
    out: list[FrameRefs] = []
    for session in sessions:
        actions: list[FrameAction] = []
        checkpoints: list[FrameCheckpoint] = []
        ids: dict[int, None] = {}  # in order met, once each
        for j, action in enumerate(session["actions"]):
            ((variant, fields),) = action["action_type"].items()
            if variant in _RESOLVED:
                actions.append({"index": j, "type": variant.upper(), "query": fields["query"],
                                "frame_ids": action["affected_frames"]})
                ids.update(dict.fromkeys(action["affected_frames"]))
        for k, cp in enumerate(session["checkpoints"]):
            frame_ids = cp["snapshot"]["frame_ids"]
            checkpoints.append({"index": k, "id": cp["id"], "at_sequence": cp["at_sequence"],
                                "frame_ids": frame_ids})
            ids.update(dict.fromkeys(frame_ids))
        frames: dict[str, dict[str, Any] | None] = {}
        for fid in sorted(ids):
            info = lookup(fid)
            frames[str(fid)] = None if info is None else info._asdict()
        out.append({"actions": actions, "checkpoints": checkpoints, "frames": frames})
    return out
