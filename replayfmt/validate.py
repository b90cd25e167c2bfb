"""Validation: every problem in a segment, sidecar or `.mv2`, as diagnostics with byte ranges.

`validate(data) -> Report`. A diagnostic has a stable code (`RULES`), a severity (error,
warning, info), the absolute offset and length of the bytes concerned, the field path and a
message. Validation goes on after a problem whenever the structure allows: session blocks are
length-prefixed, so a damaged session does not hide the next one, and the records decoded
before the damage are still checked.

Offsets and paths come from `trace` (the tracing parse) and `forensics.salvage_session_block`
(record-by-record decoding); this module never decodes bytes itself. `to_sarif` renders reports
as SARIF 2.1.0 with byteOffset/byteLength regions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from . import accel, framing, hashes
from . import mv2 as mv2mod
from . import toc as toc_mod
from .accel import G
from .codec import (
    ENVELOPE_HEADER_SIZE,
    snapshot_state_hash,
)
from .errors import ErrorKind as K
from .errors import ReplayFormatError
from .framing import segment_blocks
from .hashes import OVERSIZE_HASH
from .scan import SegmentScan, SessionSummary, release, scan_segment, summarize_active
from .scan import _summary as scan_summary

if TYPE_CHECKING:  # the tracing and salvage layers are imported when a finding needs them
    from .forensics import SalvagedSession
    from .trace import Span, Trace

__all__ = ["Diagnostic", "Report", "RULES", "validate", "to_sarif", "validate_path",
           "ERROR", "WARNING", "INFO"]

ERROR, WARNING, INFO = "error", "warning", "info"
PREVIEW_MAX_CHARS = 512
#: Diagnostics a report lists per input; the rest are counted (one RF015 says how many).
MAX_DIAGNOSTICS = 1000

#: code -> (name, severity, what it means). Codes are stable; never reuse a retired one.
RULES: dict[str, tuple[str, str, str]] = {
    "RF001": ("unrecognized-input", ERROR,
              "not a replay segment, active-session envelope or .mv2 file"),
    "RF002": ("bad-magic", ERROR, "the magic bytes are wrong"),
    "RF003": ("unsupported-version", ERROR, "segment header version is not 1"),
    "RF004": ("truncated", ERROR, "a fixed-size field runs past the end of its block"),
    "RF005": ("length-overflow", ERROR, "a declared length or count exceeds the bytes left"),
    "RF006": ("invalid-utf8", ERROR, "a string is not valid UTF-8"),
    "RF007": ("invalid-option-tag", ERROR, "an Option tag is not 0 or 1"),
    "RF008": ("invalid-bool", ERROR, "a bool byte is not 0 or 1"),
    "RF009": ("unknown-variant", ERROR, "an ActionType index is not 0..7"),
    "RF010": ("bad-uuid-length", ERROR, "a Uuid's length prefix is not 16"),
    "RF011": ("session-count-mismatch", ERROR, "segment session_count disagrees with the data"),
    "RF012": ("total-size-mismatch", ERROR, "segment total_size disagrees with the data"),
    "RF013": ("trailing-bytes", ERROR, "bytes after a record, the last session or the envelope"),
    "RF014": ("duplicate-metadata-key", ERROR, "a metadata key appears twice"),
    "RF015": ("diagnostics-capped", INFO,
              "more diagnostics than a report lists: the rest are only counted, by severity"),
    "RF101": ("sequence-not-contiguous", ERROR, "action sequence numbers are not 0..n-1"),
    "RF102": ("timestamp-out-of-range", WARNING,
              "an action or checkpoint timestamp lies outside [created_secs, ended_secs]"),
    "RF103": ("ended-before-created", ERROR, "ended_secs is before created_secs"),
    "RF104": ("session-version", WARNING, "session version is not 1"),
    "RF105": ("duplicate-session-id", ERROR, "two sessions in one segment share an id"),
    "RF201": ("checkpoint-id-sequence", ERROR, "checkpoint ids are not 0..k-1"),
    "RF202": ("checkpoint-beyond-actions", ERROR, "checkpoint at_sequence names no action"),
    "RF203": ("missing-checkpoint", ERROR, "a Checkpoint action names a checkpoint not stored"),
    "RF204": ("state-hash-mismatch", ERROR,
              "state_hash is not BLAKE3 of the snapshot's standard (varint) encoding"),
    "RF301": ("oversize-hash-sentinel", INFO,
              "hash is all 0xFF: the input or output was over 10 MiB"),
    "RF302": ("preview-too-long", WARNING,
              "preview longer than 512 characters (memvid never writes one)"),
    "RF303": ("preview-control-chars", WARNING,
              "preview holds control characters other than \\n and \\t (memvid drops them)"),
    "RF304": ("find-result-count", WARNING, "Find.result_count != len(affected_frames)"),
    "RF305": ("put-many-count", WARNING, "PutMany.count != len(frame_ids)"),
    "RF306": ("content-hash-mismatch", ERROR,
              "input_hash or output_hash is not BLAKE3 of the bytes the action proves it "
              "recorded (a Find or Ask query; an empty input)"),
    "RF307": ("query-preview-mismatch", ERROR,
              "a Find or Ask input_preview is not what memvid makes of the action's query"),
    "RF401": ("next-checkpoint-id", ERROR,
              "envelope next_checkpoint_id disagrees with the session's checkpoints"),
    "RF402": ("actions-since-checkpoint", ERROR,
              "envelope actions_since_checkpoint disagrees with the session's actions"),
    "RF501": ("mv2-layout", ERROR, "the .mv2 header or footer is missing or inconsistent"),
    "RF502": ("manifest-target-invalid", ERROR,
              "the TOC manifest points at bytes that are not a valid segment"),
    "RF503": ("manifest-size", ERROR, "TOC manifest segment_size disagrees with the segment"),
    "RF504": ("manifest-session-count", ERROR,
              "TOC manifest session_count disagrees with the segment"),
    "RF505": ("manifest-total-actions", ERROR,
              "TOC manifest total_actions disagrees with the segment"),
    "RF506": ("manifest-version", ERROR, "TOC manifest version disagrees with the segment"),
    "RF507": ("no-live-segment", INFO, "the TOC manifest is None: no live replay segment"),
    "RF508": ("stale-segment", INFO,
              "a valid segment the TOC does not point at (a stale save, or a copy inside a "
              "frame's payload or elsewhere: the message says which)"),
    "RF509": ("toc-undecodable", ERROR,
              "the TOC does not decode in any layout memvid wrote: no replay manifest can be read"),
    "RF510": ("footer-toc-hash", ERROR, "the footer's toc_hash is not BLAKE3 of the TOC bytes"),
    "RF511": ("toc-checksum", ERROR,
              "the TOC's toc_checksum is not BLAKE3 of the TOC with its last 32 bytes zeroed"),
    "RF512": ("header-toc-checksum", WARNING,
              "header bytes 48..80 differ from the TOC's toc_checksum (memvid does not check it)"),
    "RF513": ("frame-checksum", ERROR,
              "a frame's checksum is not BLAKE3 of its stored payload bytes"),
    "RF514": ("frame-payload-range", ERROR,
              "a frame's payload lies outside the data region between header and TOC"),
}

_ORIGIN_TEXT = {
    "stale": "stale replay save",
    "frame-payload": "segment copy inside a stored frame's payload",
    "unreferenced": "segment bytes no save, frame or index accounts for (e.g. write-ahead log)",
}

_CHECK_CODES = {
    "footer_toc_hash": "RF510", "toc_checksum": "RF511", "header_toc_checksum": "RF512",
    "frame_checksum": "RF513", "frame_payload_range": "RF514",
}

_KIND_CODES = {
    K.BAD_MAGIC: "RF002", K.UNSUPPORTED_VERSION: "RF003", K.TRUNCATED: "RF004",
    K.LENGTH_OVERFLOW: "RF005", K.INVALID_UTF8: "RF006", K.INVALID_TAG: "RF007",
    K.INVALID_BOOL: "RF008", K.UNKNOWN_VARIANT: "RF009", K.BAD_UUID_LENGTH: "RF010",
    K.COUNT_MISMATCH: "RF011", K.SIZE_MISMATCH: "RF012", K.TRAILING_BYTES: "RF013",
    K.DUPLICATE_KEY: "RF014",
}
_KIND_LENGTH = {
    K.BAD_MAGIC: 8, K.UNSUPPORTED_VERSION: 4, K.LENGTH_OVERFLOW: 8, K.INVALID_UTF8: 1,
    K.INVALID_TAG: 1, K.INVALID_BOOL: 1, K.UNKNOWN_VARIANT: 4, K.BAD_UUID_LENGTH: 8,
    K.COUNT_MISMATCH: 4, K.SIZE_MISMATCH: 8,
}


def salvage_session_block(b: Any, start: int, stop: int, path: str) -> SalvagedSession | None:
    """`forensics.salvage_session_block` (imported on first use: a clean file never needs
    it on the compiled path)."""
    from .forensics import salvage_session_block as salvage

    return salvage(b, start, stop, path)


def trace_record(name: str, data: Any, start: int, end: int, path: str) -> Trace:
    """`trace.trace_record`, imported on first use (as the other tracing entry points)."""
    from .trace import trace_record as trace

    return trace(name, data, start, end, path)


def trace_segment(data: Any) -> Trace:
    from .trace import trace_segment as trace

    return trace(data)


def trace_active_session(data: Any) -> Trace:
    from .trace import trace_active_session as trace

    return trace(data)


class Diagnostic:
    """One finding: stable `code`, `severity`, absolute `offset` and `length`, field `path`.
    Immutable; equal when every field is."""

    __slots__ = ("code", "severity", "offset", "length", "path", "message")
    code: str
    severity: str
    offset: int
    length: int
    path: str
    message: str

    def __init__(self, code: str, severity: str, offset: int, length: int, path: str,
                 message: str) -> None:
        for name, value in zip(self.__slots__, (code, severity, offset, length, path, message),
                               strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Diagnostic is immutable: cannot set {name}")

    def _key(self) -> tuple[str, str, int, int, str, str]:
        return (self.code, self.severity, self.offset, self.length, self.path, self.message)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Diagnostic)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[type[Diagnostic], tuple[str, str, int, int, str, str]]:
        return (Diagnostic, self._key())  # pickle and copy rebuild it through __init__

    def __repr__(self) -> str:
        return "Diagnostic(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__) + ")"

    @property
    def name(self) -> str:
        return RULES[self.code][0]

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "severity": self.severity,
                "offset": self.offset, "length": self.length, "path": self.path,
                "message": self.message}

    def __str__(self) -> str:
        where = self.path or "<input>"
        return (f"{self.severity}: {self.code} {self.name}: {where} at offset {self.offset} "
                f"(0x{self.offset:x}), {self.length} bytes: {self.message}")


class Report:
    """All diagnostics for one input. `kind`: segment, active_session, mv2 or unknown."""

    def __init__(self, kind: str, size: int, diagnostics: list[Diagnostic] | None = None,
                 file: str | None = None, omitted: dict[str, int] | None = None) -> None:
        self.kind = kind
        self.size = size
        self.diagnostics: list[Diagnostic] = [] if diagnostics is None else diagnostics
        self.file = file
        #: severity -> diagnostics found beyond MAX_DIAGNOSTICS and not listed (RF015 says so)
        self.omitted: dict[str, int] = {} if omitted is None else omitted

    def _fields(self) -> tuple[Any, ...]:
        return (self.kind, self.size, self.diagnostics, self.file, self.omitted)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Report)
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (f"Report(kind={self.kind!r}, size={self.size!r}, "
                f"diagnostics={self.diagnostics!r}, file={self.file!r}, "
                f"omitted={self.omitted!r})")

    def of(self, severity: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == severity]

    def count(self, severity: str) -> int:
        """Diagnostics of this severity, listed or not."""
        return len(self.of(severity)) + self.omitted.get(severity, 0)

    @property
    def errors(self) -> list[Diagnostic]:
        return self.of(ERROR)

    @property
    def warnings(self) -> list[Diagnostic]:
        return self.of(WARNING)

    @property
    def infos(self) -> list[Diagnostic]:
        return self.of(INFO)

    @property
    def codes(self) -> set[str]:
        return {d.code for d in self.diagnostics}

    def ok(self, strict: bool = False) -> bool:
        """No errors (and, when strict, no warnings)."""
        return not self.count(ERROR) and not (strict and self.count(WARNING))

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "kind": self.kind, "size": self.size,
                "summary": {s: self.count(s) for s in (ERROR, WARNING, INFO)},
                "diagnostics": [d.to_json() for d in self.diagnostics]}


class _Collector:
    """Diagnostics for one input; drops exact repeats (same code, offset and path). Lists the
    first `limit`; beyond them only counts by severity (dropping a repeat of the one just
    before), so a flood of findings costs no memory per finding."""

    def __init__(self, base: int = 0, limit: int | None = None) -> None:
        self.items: list[Diagnostic] = []
        self.seen: set[tuple[str, int | None, str]] = set()
        self.base = base
        self.limit = MAX_DIAGNOSTICS if limit is None else limit
        self.omitted: dict[str, int] = {}
        self.last: tuple[str, int | None, str] | None = None

    def add(self, code: str, offset: int, length: int, path: str, message: str) -> None:
        key = (code, offset + self.base, path)
        if key in self.seen or key == self.last:
            return
        if len(self.items) >= self.limit:
            if (code, None, path) == self.last:  # the same finding, counted unlocated
                return
            self.last = key
            severity = RULES[code][1]
            self.omitted[severity] = self.omitted.get(severity, 0) + 1
            return
        self.seen.add(key)
        self.items.append(Diagnostic(code, RULES[code][1], offset + self.base, max(0, length),
                                     path, message))

    def full(self) -> bool:
        """True once `limit` diagnostics are listed: the rest are only counted."""
        return len(self.items) >= self.limit

    def count(self, code: str, path: str) -> None:
        """A finding past the limit, counted without its location (a field path names one
        place: a repeat of the finding just before, located or not, is dropped as in add)."""
        if self.last is not None and self.last[0] == code and self.last[2] == path:
            return
        self.last = (code, None, path)
        severity = RULES[code][1]
        self.omitted[severity] = self.omitted.get(severity, 0) + 1

    def capped(self) -> list[Diagnostic]:
        """The listed diagnostics, and one RF015 counting the rest when there are any."""
        if not self.omitted:
            return self.items
        total = sum(self.omitted.values())
        by = ", ".join(f"{self.omitted[s]} {s}(s)" for s in (ERROR, WARNING, INFO)
                       if s in self.omitted)
        return [*self.items, Diagnostic("RF015", INFO, self.base, 0, "",
                                        f"{total} more diagnostic(s) not listed ({by}); "
                                        f"the first {self.limit} are")]

    def error(self, err: ReplayFormatError, size: int) -> None:
        code = _KIND_CODES.get(err.kind, "RF004")
        if err.kind == K.TRUNCATED:
            # the bytes of the cut field that are there (its block may end before the file)
            left = max(0, size - err.offset)
            length = (min(err.actual, left) if isinstance(err.actual, int) and err.actual >= 0
                      else max(1, left) if left else 0)
        elif err.kind == K.TRAILING_BYTES:
            length = err.actual if isinstance(err.actual, int) else size - err.offset
        else:
            length = _KIND_LENGTH.get(err.kind, 8)
        self.add(code, err.offset, length, err.path, str(err).split(": ", 1)[-1])


# --- locating fields -------------------------------------------------------------------------

class _Locator:
    """Field path -> Span, from traces; records decoded beyond a trace's stop are traced alone."""

    def __init__(self, data: Any, traces: Iterable[Trace]) -> None:
        self.data = data
        self.spans: dict[str, Span] = {}
        for t in traces:
            self._index(t)
        self.records: dict[str, tuple[str, int, int]] = {}
        self.sessions: dict[str, SalvagedSession] = {}  # prefix -> its records' byte ranges

    def _index(self, t: Trace) -> None:
        for s in t.fields:
            if s.complete and s.path not in self.spans:
                self.spans[s.path] = s

    def record(self, path: str, name: str, start: int, end: int) -> None:
        """Register a record decoded at data[start:end] whose path is `path`."""
        self.records[path] = (name, start, end)

    def session(self, prefix: str, got: SalvagedSession) -> None:
        """Register the checkpoints and actions of a salvaged session (looked up on demand)."""
        self.sessions[prefix] = got

    def _record_at(self, rec_path: str) -> tuple[str, int, int] | None:
        if rec_path in self.records:
            return self.records.pop(rec_path)
        m = _RECORD_PATH.match(rec_path)
        got = self.sessions.get(m.group(1)) if m else None
        if got is None or m is None:
            return None
        spans: list[Any] = got.action_spans if m.group(2) == "actions" else got.checkpoint_spans
        j = int(m.group(3))
        if j >= len(spans) or not spans[j]:
            return None
        start, end = spans[j]
        spans[j] = None  # traced once
        return ("ReplayAction" if m.group(2) == "actions" else "Checkpoint", start, end)

    def __call__(self, path: str) -> tuple[int, int]:
        span = self.spans.get(path)
        rec_path = path
        while span is None:  # the innermost registered record holding the field
            rec = self._record_at(rec_path)
            if rec is not None:
                name, start, end = rec
                self._index(trace_record(name, self.data, start, end, rec_path))
                span = self.spans.get(path)
                break
            cut = rec_path.rfind(".")
            if cut < 0:
                break
            rec_path = rec_path[:cut]
        return (span.offset, span.size) if span is not None else (0, 0)


# --- semantic checks -------------------------------------------------------------------------

#: Unicode category Cc (U+0000..U+001F, U+007F..U+009F) except \n and \t.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_RECORD_PATH = re.compile(r"^(.*)\.(checkpoints|actions)\[(\d+)\]$")


def _control_chars(text: str) -> list[str]:
    if _CONTROL.search(text) is None:
        return []
    return sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(text)})


def _check_session(got: SalvagedSession, prefix: str, loc: Callable[[str], tuple[int, int]],
                   out: _Collector) -> None:
    s = got.session

    def put(code: str, path: str, message: str) -> None:
        # once the report is full a finding is only counted: its field is never located
        if out.full():
            out.count(code, path)
        else:
            out.add(code, *loc(path), path, message)

    created, ended = s.created_secs, s.ended_secs
    if ended is not None and ended < created:
        put("RF103", f"{prefix}.ended_secs",
                f"ended_secs {ended} is before created_secs {created}")
    if got.complete and s.version != 1:
        put("RF104", f"{prefix}.version", f"session version {s.version}")

    def in_range(ts: int) -> bool:
        return ts >= created and (ended is None or ts <= ended)

    window = f"[{created}, {'open' if ended is None else ended}]"
    checkpoint_ids = {c.id for c in s.checkpoints}
    for k, c in enumerate(s.checkpoints):
        cp = f"{prefix}.checkpoints[{k}]"
        if c.id != k:
            put("RF201", f"{cp}.id", f"checkpoint {k} has id {c.id}")
        if not in_range(c.timestamp_secs):
            put("RF102", f"{cp}.timestamp_secs",
                    f"checkpoint timestamp {c.timestamp_secs} outside {window}")
        expected = snapshot_state_hash(c.snapshot)
        if c.state_hash != expected:
            put("RF204", f"{cp}.state_hash",
                    f"state_hash {c.state_hash.hex()} but the snapshot hashes to "
                    f"{expected.hex()}")
    actions_whole = got.complete or got.declared_actions == len(s.actions)
    if actions_whole:
        for k, c in enumerate(s.checkpoints):
            if c.at_sequence >= len(s.actions):
                cp = f"{prefix}.checkpoints[{k}].at_sequence"
                put("RF202", cp, f"at_sequence {c.at_sequence} but the session "
                        f"has {len(s.actions)} action(s)")
    for j, a in enumerate(s.actions):
        ap = f"{prefix}.actions[{j}]"
        if a.sequence != j:
            put("RF101", f"{ap}.sequence",
                    f"action {j} has sequence {a.sequence}")
        if not in_range(a.timestamp_secs):
            put("RF102", f"{ap}.timestamp_secs",
                    f"action timestamp {a.timestamp_secs} outside {window}")
        for field in ("input_hash", "output_hash"):
            if getattr(a, field) == OVERSIZE_HASH:
                put("RF301", f"{ap}.{field}",
                        f"{field} is the over-10-MiB sentinel (all 0xFF)")
        for field in ("input_preview", "output_preview"):
            text = getattr(a, field)
            if len(text) > PREVIEW_MAX_CHARS:
                put("RF302", f"{ap}.{field}",
                        f"{field} has {len(text)} characters (memvid keeps at most 512)")
            controls = _control_chars(text)
            if controls:
                put("RF303", f"{ap}.{field}",
                    f"{field} holds control characters {', '.join(controls)}")
        for bad in hashes.mismatches(a):
            assert bad.code is not None  # mismatches yields only findings
            put(bad.code, f"{ap}.{bad.field}", bad.message)
        kind: Any = a.action_type
        variant = kind.VARIANT
        if variant == "Find" and kind.result_count != len(a.affected_frames):
            path = f"{ap}.action_type.Find.result_count"
            put("RF304", path, f"result_count {kind.result_count} but "
                    f"{len(a.affected_frames)} affected frame(s)")
        elif variant == "PutMany" and kind.count != len(kind.frame_ids):
            path = f"{ap}.action_type.PutMany.count"
            put("RF305", path,
                    f"count {kind.count} but {len(kind.frame_ids)} frame id(s)")
        elif variant == "Checkpoint" and kind.checkpoint_id not in checkpoint_ids:
            path = f"{ap}.action_type.Checkpoint.checkpoint_id"
            put("RF203", path,
                    f"checkpoint {kind.checkpoint_id} is not among the session's checkpoints")


def _register(loc: _Locator, got: SalvagedSession, prefix: str) -> None:
    loc.session(prefix, got)


# --- containers ------------------------------------------------------------------------------

def _check_block(b: Any, i: int, start: int, stop: int, got: SalvagedSession,
                 traces: list[Trace], clean: bool, ids: dict[Any, int], out: _Collector
                 ) -> None:
    """The semantic checks of one decoded session block."""
    prefix = f"sessions[{i}]"
    loc = _Locator(b, traces)
    _register(loc, got, prefix)
    if clean:  # session-level fields, traced only if a diagnostic names one
        loc.record(prefix, "ReplaySession", start, stop)
    sid = got.session.session_id
    if sid in ids:
        out.add("RF105", *loc(f"{prefix}.session_id"), f"{prefix}.session_id",
                f"session id {sid} already used by sessions[{ids[sid]}]")
    ids.setdefault(sid, i)
    _check_session(got, prefix, loc, out)


def _vetted(vet: Callable[..., Any], b: Any, i: int, start: int, stop: int, base: int,
            ids: dict[Any, int]) -> SessionSummary | None:
    """The summary of block i when the compiled vet finds that none of `_check_session`'s
    rules can fire and its session id is new (the id is then recorded in `ids`); None sends
    the block through the exact path (which alone writes diagnostics)."""
    try:
        got = vet(b, start, stop)
    except ReplayFormatError:  # damaged: the exact path says how
        return None
    if got is None or got[1] != stop:
        return None
    raw = got[0]
    sid = raw["session_id"]
    if sid in ids:  # RF105: located and reported by the exact path
        return None
    ids[sid] = i
    return scan_summary(raw, i, base + start, base + stop)


def _validate_clean_segment(b: Any, out: _Collector, base: int = 0) -> SegmentScan | None:
    """One pass over a segment that strict parsing accepts: each session block is decoded once
    (record by record) and checked; returns what `scan_segment` would (offsets + `base`).
    None, with `out` as it was, at the first problem the strict codec would raise (the caller
    then explains the damage)."""
    mark, seen = len(out.items), set(out.seen)
    omitted, last = dict(out.omitted), out.last
    ids: dict[Any, int] = {}  # session id -> index of its first session (none is kept)
    summaries: list[SessionSummary] = []
    vet = accel.vet_session  # None on the pure path
    try:
        for i, start, stop in segment_blocks(b):
            if vet is not None:
                vetted = _vetted(vet, b, i, start, stop, base, ids)
                if vetted is not None:
                    summaries.append(vetted)
                    release(b, start, stop)
                    continue
            if isinstance(b, memoryview):  # a view of a .mv2's segment: the exact path
                b = bytes(b)                 # decodes text from bytes (same offsets)
            got = salvage_session_block(b, start, stop, f"sessions[{i}]")
            if got is None or not got.complete or got.end != stop:
                break
            _check_block(b, i, start, stop, got, [], True, ids, out)
            summaries.append(SessionSummary.of(got.session, i, base + start, stop - start))
            release(b, start, stop)  # an mmap'd file stays out of the resident set
        else:
            head = framing.segment_fields(b)
            assert head is not None  # the blocks were walked: the header is there
            return SegmentScan(base, len(b), head.version, head.session_count, head.total_size,
                               summaries)
    except ReplayFormatError:
        pass
    del out.items[mark:]
    out.seen, out.omitted, out.last = seen, omitted, last
    return None


def _validate_container_damage(b: Any, out: _Collector) -> bool:
    """A segment whose every session block decodes strictly while its container is off
    (version, session_count, total_size, bytes after the last session): the container's
    problems from a lenient walk, then each block checked as in a clean segment, record by
    record, so one stray byte does not make the whole file traced at once. False, with `out`
    unchanged, when a block is damaged (the caller then traces)."""
    n = len(b)

    def walk(policy: framing.Policy) -> Iterator[tuple[int, int, int, SalvagedSession]]:
        header = framing.segment_header(b, 0, n, policy)
        for i, start, stop in segment_blocks(b, 0, n, policy, header):
            got = salvage_session_block(b, start, stop, f"sessions[{i}]")
            if got is None or not got.complete or got.end != stop:
                raise _Damaged
            yield i, start, stop, got
            release(b, start, stop)

    policy = framing.Policy(lenient=True)
    try:
        for _ in walk(policy):
            pass
    except (ReplayFormatError, _Damaged):
        return False
    if not policy.problems:
        return False
    for err in policy.problems:
        out.error(err, n)
    ids: dict[Any, int] = {}
    for i, start, stop, got in walk(framing.Policy(lenient=True)):
        _check_block(b, i, start, stop, got, [], True, ids, out)
    return True


class _Damaged(Exception):
    """A session block that does not decode strictly."""


def _segment_problems(b: Any) -> tuple[list[ReplayFormatError], int | None]:
    """What tracing the whole segment reports (`trace_segment(b).problems`: the container's
    problems from a lenient walk, and the first session that does not decode, which stops the
    walk) and the header's session_count (None when the header does not decode), found
    without tracing: the header and blocks by `framing`, each session by the generated
    checker of every byte, one block at a time, so memory does not grow with the file."""
    from .scan import DEPTHS

    n = len(b)
    if n < framing.SEGMENT_HEADER_SIZE:  # a cut header: its trace names the missing field
        return trace_segment(b).problems, None
    policy = framing.Policy(lenient=True)
    try:
        header = framing.segment_header(b, 0, n, policy)
    except ReplayFormatError as err:
        return [*policy.problems, err], None
    check = DEPTHS["full"]
    try:
        for i, start, stop in segment_blocks(b, 0, n, policy, header):
            where = f"sessions[{i}]"
            try:
                _, end = check(b, start, stop)
            except ReplayFormatError as err:
                policy.problems.append(err.prefix(where))
                break
            framing.exact(end, stop, where, "session", policy)
            release(b, start, stop)
    except ReplayFormatError as err:  # the walk itself stops (a bad length prefix)
        policy.problems.append(err)
    return policy.problems, header.session_count


def _validate_segment(b: Any, out: _Collector, base: int = 0) -> SegmentScan | None:
    """Diagnostics for a segment held in `b` (offsets relative to b; out adds its base; a
    memoryview is read in place where the compiled vet clears a block, else copied).

    A segment that strict parsing accepts is read once (`_validate_clean_segment`); field
    offsets are traced record by record, only for the records a diagnostic names. In a
    damaged segment the container is walked leniently and each block checked on its own:
    blocks that decode are checked as in a clean segment, a damaged one is traced (only it),
    so memory is bounded by the largest block, not the file.
    """
    clean = _validate_clean_segment(b, out, base)
    if clean is not None:
        return clean
    if isinstance(b, memoryview):  # a view of a .mv2's segment: the damage is explained
        b = bytes(b)                 # from bytes (same offsets)
    if _validate_container_damage(b, out):
        return None
    n = len(b)
    problems, count = _segment_problems(b)
    for err in problems:
        out.error(err, n)
    if count is None:  # the header itself did not decode
        return None
    ids: dict[Any, int] = {}

    def check_block(i: int, start: int, stop: int) -> None:
        got = salvage_session_block(b, start, stop, f"sessions[{i}]")
        if got is not None and got.complete and got.end == stop:
            _check_block(b, i, start, stop, got, [], True, ids, out)
            return
        block_trace = trace_record("ReplaySession", b, start, stop, f"sessions[{i}]")
        for err in block_trace.problems:
            out.error(err, n)
        if got is not None:
            _check_block(b, i, start, stop, got, [block_trace], False, ids, out)

    i = -1
    try:
        header = framing.SegmentHeader(0, count, 0)  # only the blocks: trace judged the rest
        for i, start, stop in segment_blocks(b, 0, n, framing.Policy(lenient=True), header):
            check_block(i, start, stop)
            release(b, start, stop)
    except ReplayFormatError as err:
        out.error(err, n)
        if err.kind == K.LENGTH_OVERFLOW and err.path == f"sessions[{i + 1}]":
            # A cut segment: the records before the cut are still there to check.
            check_block(i + 1, err.offset + 8, n)
    return None


def _clean_active(b: Any) -> bool:
    """On the compiled path: whether the envelope decodes strictly and no rule can fire (the
    vet clears the session; next_checkpoint_id and actions_since_checkpoint agree with it),
    so there is nothing to report. False sends the file through the exact path."""
    vet = accel.vet_active
    if vet is None:
        return False
    try:
        summary, tail = summarize_active(b)  # every byte, as parse_active_session
        start, stop = framing.envelope_block(b)
        got = vet(b, start, stop)
    except ReplayFormatError:
        return False
    if got is None:
        return False
    _, _, last_at = got
    # The vet cleared RF101 (sequences 0..n-1) and RF202 (last_at names an action), so the
    # actions after the last checkpoint are those numbered last_at + 1 .. n - 1.
    n = summary.action_count
    expected = n if last_at is None else n - 1 - last_at
    return bool(tail["next_checkpoint_id"] == summary.checkpoint_count
                and tail["actions_since_checkpoint"] == expected)


def _validate_active(b: Any, out: _Collector) -> None:
    if _clean_active(b):
        return
    n = len(b)
    t = trace_active_session(b)
    for err in t.problems:
        out.error(err, n)
    length = t.find("length")
    if length is None:
        return
    start = ENVELOPE_HEADER_SIZE
    stop = min(start + length.value, n)
    got = salvage_session_block(b, start, stop, "session")
    if got is None:
        return
    loc = _Locator(b, [t])
    _register(loc, got, "session")
    _check_session(got, "session", loc, out)
    s = got.session
    nxt, since = t.find("next_checkpoint_id"), t.find("actions_since_checkpoint")
    if got.complete and nxt is not None and nxt.value != len(s.checkpoints):
        out.add("RF401", nxt.offset, nxt.size, "next_checkpoint_id",
                f"next_checkpoint_id {nxt.value} but the session holds "
                f"{len(s.checkpoints)} checkpoint(s)")
    if got.complete and since is not None:
        last = s.checkpoints[-1].at_sequence if s.checkpoints else None
        expected = (len(s.actions) if last is None
                    else sum(1 for a in s.actions if a.sequence > last))
        if since.value != expected:
            out.add("RF402", since.offset, since.size, "actions_since_checkpoint",
                    f"actions_since_checkpoint {since.value} but {expected} action(s) follow "
                    "the last checkpoint")


def _validate_mv2(data: Any, out: _Collector) -> None:
    try:
        layout = mv2mod.read_layout(data)
    except ValueError as exc:
        out.add("RF501", 0, min(len(data), 4096), "", str(exc))
        return
    try:
        decoded = mv2mod.read_toc(data, layout)
    except ReplayFormatError as err:
        decoded = None
        out.add("RF509", err.offset, 1, err.path, str(err).split(": ", 1)[-1])
    for check in toc_mod.container_checks(data, layout.footer_offset, layout.footer_pos,
                                          decoded):
        if not check.ok:
            what = "" if check.frame_id is None else f"frame {check.frame_id}: "
            out.add(_CHECK_CODES[check.name], check.offset, check.length, check.path,
                    f"{what}stored {check.actual}, the bytes give {check.expected}")
    if decoded is None:
        return
    m = decoded.replay_manifest
    live_at, checked = None, None
    if m is None:
        tag = decoded.manifest_tag_pos
        if tag is None:
            out.add("RF507", decoded.start, 0, "toc",
                    f"TOC layout {decoded.layout} has no replay manifest")
        else:
            out.add("RF507", tag, 1, "toc.replay_manifest", "replay manifest is None")
    else:
        live_at, checked = _check_manifest(data, layout, decoded, m, out)
    if not _segment_magic_elsewhere(data, live_at, checked):
        return  # no other segment can start anywhere: carve (and its imports) not needed
    # The segment the manifest names was read by the one pass: carve does not check it again,
    # and hashes only blocks that share a size with another (enough for duplicate_of).
    from .forensics import carve

    for block in carve(data, checked=checked, digests=False):
        if block.kind == "segment" and block.offset != live_at:
            out.add("RF508", block.offset, block.size, "",
                    f"{_ORIGIN_TEXT.get(block.origin or '', 'segment')} not pointed at by the TOC"
                    + (f" (frame {block.frame_id})" if block.frame_id is not None else "")
                    + f": {len(block.summaries)} session(s)"
                    + (f", same bytes as the block at {block.duplicate_of}"
                       if block.duplicate_of is not None else ""))


def _segment_magic_elsewhere(data: Any, live_at: int | None,
                             checked: SegmentScan | None = None) -> bool:
    """Whether carve could find a segment anywhere but at `live_at`: carve reports one only
    where `MV2RPLY!` stands, so without another there is no RF508 to find.

    With `checked` (the live segment, decoded clean), its own bytes are not searched: carve
    takes candidates in offset order and skips any that starts inside an accepted block, so
    with no magic of either kind before it (nothing that could cover its start) the live
    segment is accepted and nothing inside it is a candidate."""
    data = framing.readable(data)
    magic = G.SEGMENT_MAGIC
    if checked is not None and live_at is not None:
        end = live_at + checked.size
        return bool(data.find(magic, 0, live_at) != -1
                    or data.find(G.ACTIVE_MAGIC, 0, live_at) != -1
                    or data.find(magic, end) != -1)
    at = data.find(magic)
    while at != -1:
        if at != live_at:
            return True
        at = data.find(magic, at + 1)
    return False


def _check_manifest(data: Any, layout: Any, decoded: Any, m: dict[str, Any], out: _Collector
                    ) -> tuple[int | None, SegmentScan | None]:
    """The Some manifest against the segment it names: the segment's offset if one is there,
    and its scan when the one pass found it clean."""
    tag = decoded.manifest_tag_pos
    seg_start = m["segment_offset"]
    err = mv2mod.manifest_target_error(data, layout, decoded, check_size=False)
    if err is not None:
        out.add("RF502", tag, 33, "toc.replay_manifest",
                f"manifest names [{seg_start}, {seg_start + m['segment_size']}): {err.reason}")
        return None, None
    declared = int.from_bytes(data[seg_start + 16:seg_start + 24], "little")
    seg_end = min(seg_start + max(declared, 24), layout.footer_offset)
    seg_out = _Collector(base=seg_start, limit=out.limit - len(out.items))
    # through a view: the compiled vet reads it in place, and bytes are copied only where a
    # session needs the exact path (or damage needs explaining)
    with memoryview(data) as whole, whole[seg_start:seg_end] as view:
        clean = _validate_segment(view, seg_out, seg_start)
    out.items.extend(seg_out.items)
    for severity, k in seg_out.omitted.items():
        out.omitted[severity] = out.omitted.get(severity, 0) + k
    seg = clean
    if seg is None:  # damaged: the strict error, for the message
        try:
            seg = scan_segment(data, seg_start, seg_end)
        except ReplayFormatError as err:
            out.add("RF502", tag, 33, "toc.replay_manifest",
                    f"manifest points at {seg_start} (+{m['segment_size']}), which does not "
                    f"decode: {err}")
            return seg_start, None
    checks = (
        ("RF503", "segment_size", 9, 8, m["segment_size"], seg.total_size),
        ("RF504", "session_count", 17, 4, m["session_count"], len(seg.sessions)),
        ("RF505", "total_actions", 21, 8, m["total_actions"], seg.total_actions),
        ("RF506", "version", 29, 4, m["version"], seg.version),
    )
    for code, field, rel, size, have, want in checks:
        if have != want:
            out.add(code, tag + rel, size, f"toc.replay_manifest.{field}",
                    f"manifest {field} {have} but the segment at {seg_start} has {want}")
    return seg_start, clean


def validate(data: Any, *, kind: str | None = None) -> Report:
    """Validate a segment, an active-session sidecar or a `.mv2` (detected by magic).

    `kind` ("segment", "active_session", "mv2") forces the container when the magic is damaged.
    """
    data = framing.readable(data)
    n = len(data)
    head = bytes(data[:8])
    if kind is None:
        kind = framing.sniff(data, "family")  # a damaged magic is reported, the rest read
        if kind is None:
            report = Report("unknown", n)
            report.diagnostics.append(Diagnostic(
                "RF001", ERROR, 0, min(n, 8), "magic",
                f"unrecognized leading bytes {head!r} (expected MV2RPLY!, MV2ACTIV or MV2\\0)"))
            return report
    out = _Collector()
    if kind in ("segment", "active_session"):
        magic = G.SEGMENT_MAGIC if kind == "segment" else G.ACTIVE_MAGIC
        if n >= len(magic) and head != magic:
            out.add("RF002", 0, len(magic), "magic",
                    f"magic {head!r}, expected {magic!r}; the rest is read as a {kind}")
            data = magic + bytes(data[len(magic):])
        (_validate_segment if kind == "segment" else _validate_active)(data, out)
    elif kind == "mv2":
        _validate_mv2(data, out)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return Report(kind, n, out.capped(), omitted=dict(out.omitted))


# --- SARIF -----------------------------------------------------------------------------------

_SARIF_LEVEL = {ERROR: "error", WARNING: "warning", INFO: "note"}


def _uri(path: str) -> str:
    """A file name as a SARIF artifact URI: percent-encoded (RFC 3986) from the name's bytes
    (a name that is not UTF-8 included), `file://` for an absolute path, relative otherwise."""
    import os
    from urllib.parse import quote

    encoded = quote(os.fsencode(path), safe="/")
    return "file://" + encoded if path.startswith("/") else encoded


def to_sarif(reports: list[Report]) -> dict[str, Any]:
    """One SARIF 2.1.0 run for all reports; regions are byteOffset/byteLength."""
    from . import __version__
    codes = sorted(RULES)
    index = {c: i for i, c in enumerate(codes)}
    rules = [{"id": c, "name": RULES[c][0], "shortDescription": {"text": RULES[c][2]},
              "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[c][1]]}} for c in codes]
    artifacts: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for k, report in enumerate(reports):
        uri = _uri(report.file) if report.file else f"input-{k}"
        artifacts.append({"location": {"uri": uri}, "length": report.size})
        for d in report.diagnostics:
            location: dict[str, Any] = {"physicalLocation": {
                "artifactLocation": {"uri": uri, "index": k},
                "region": {"byteOffset": d.offset, "byteLength": d.length}}}
            if d.path:
                location["logicalLocations"] = [{"fullyQualifiedName": d.path,
                                                 "kind": "member"}]
            results.append({"ruleId": d.code, "ruleIndex": index[d.code],
                            "level": _SARIF_LEVEL[d.severity], "message": {"text": d.message},
                            "locations": [location]})
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "replayfmt", "version": __version__,
                                      "informationUri": "https://github.com/memvid/memvid",
                                      "rules": rules}},
                  "artifacts": artifacts, "results": results}],
    }


# --- one file, for batch mode -------------------------------------------------------------

def validate_path(path: str, kind: str | None = None, strict: bool = False
                  ) -> dict[str, Any]:
    """`validate` on one file, as a JSON-ready dict with a "status" (ok or invalid): the
    per-file function of `replayfmt validate DIR -r -j N` (run by `batch`)."""
    from .stream import open_input

    with open_input(path) as data:
        report = validate(data, kind=kind)
    report.file = path
    out = report.to_json()
    del out["file"]
    return {"status": "ok" if report.ok(strict) else "invalid", **out}
