"""Forensics on evidence: carving blocks out of any bytes, every session ever saved, salvage.

- `carve(data)`: every replay segment and active-session envelope inside arbitrary bytes (a
  `.mv2`, a disk image, a memory dump). A candidate counts only when it fully decodes with the
  strict codec; candidates inside an accepted block are content, not blocks. In a `.mv2` the
  segment the TOC manifest points at is `live` (`mv2.live_segment`).
- `all_sessions(data)`: every session in every carved block, de-duplicated, with the blocks that
  hold it and whether it is live, superseded, deleted or still being recorded.
- `salvage(data)`: what can be recovered from a truncated or corrupted segment or sidecar, record
  by record with the generated parsers, so a recovered action equals the original exactly.

Evidence is only read: inputs may be `mmap`s opened read-only; nothing here writes files.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import heapq
import struct
from collections.abc import Iterator
from typing import Any

import attrs

from . import accel, framing, schema
from . import errors as E
from . import mv2 as mv2mod
from .accel import G
from .codec import (
    ENVELOPE_HEADER_SIZE,
    SEGMENT_HEADER_SIZE,
    build_active_session,
    build_segment,
    build_session,
    bulk,
    parse_active_session,
    parse_segment,
)
from .errors import ErrorKind as K
from .errors import ReplayFormatError
from .model import ActiveSession, ReplayConfig, ReplaySession
from .scan import SegmentScan, SessionSummary, release, scan_segment
from .trace import decode_field

__all__ = [
    "CarvedBlock", "carve", "SessionRecord", "all_sessions",
    "SalvagedSession", "Salvage", "salvage", "salvage_session_block", "open_evidence",
    "carve_path",
]

_U64 = struct.Struct("<Q")
_MIN_SESSION = G.MIN_SIZE["ReplaySession"]


# --- carve -----------------------------------------------------------------------------------

@attrs.define
class CarvedBlock:
    """A segment or envelope found in the input.

    kind: "segment" or "active_session"; offset, size: where its bytes are; live: the `.mv2`
    TOC manifest points at it (always False outside a `.mv2`, and for envelopes); summaries:
    a `scan.SessionSummary` per session, read while checking;
    sha256 of its bytes; duplicate_of: offset of an earlier block with identical bytes, else
    None; origin (in a `.mv2` whose TOC decodes, else None): "live" (the TOC manifest names
    it), "frame-payload" (it lies inside a stored frame's payload: `frame_id`), "stale" (a
    segment in the data region that no frame, index or manifest covers: a replay save the TOC
    no longer names) or "unreferenced" (none of these: e.g. inside the write-ahead log, an
    index, or the TOC). `sessions` and `active` decode the block's bytes on first use, from the
    buffer given to `carve` (so an mmap must still be open then); carving itself keeps no
    decoded records, which keeps memory flat on multi-GB inputs.
    """

    kind: str
    offset: int
    size: int
    live: bool
    summaries: list[SessionSummary]
    sha256: str = ""
    duplicate_of: int | None = None
    origin: str | None = None
    frame_id: int | None = None
    _data: Any = attrs.field(default=None, repr=False, eq=False)
    _decoded: Any = attrs.field(default=None, repr=False, eq=False, init=False)

    @property
    def end(self) -> int:
        return self.offset + self.size

    def _decode(self) -> Any:
        if self._decoded is None:
            raw = bytes(self._data[self.offset:self.end])
            self._decoded = (parse_segment(raw) if self.kind == "segment"
                             else parse_active_session(raw))
        return self._decoded

    @property
    def sessions(self) -> list[ReplaySession]:
        value = self._decode()
        return list(value.sessions) if self.kind == "segment" else [value.session]

    @property
    def active(self) -> ActiveSession | None:
        return self._decode() if self.kind == "active_session" else None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "offset": self.offset, "size": self.size, "live": self.live,
            "sha256": self.sha256, "duplicate_of": self.duplicate_of,
            "origin": self.origin, "frame_id": self.frame_id,
            "sessions": [s.listing() for s in self.summaries],
        }


def _sha256(data: Any, start: int, stop: int, chunk: int = 1 << 24) -> str:
    """Hash in place, 16 MiB at a time, dropping the mmap pages already hashed."""
    digest = hashlib.sha256()
    with memoryview(data) as view:
        for pos in range(start, stop, chunk):
            end = min(pos + chunk, stop)
            with view[pos:end] as part:
                digest.update(part)
            release(data, pos, end)
    return digest.hexdigest()


class _BadText:
    """Bad UTF-8 met by earlier candidates, so that candidates nested in the same bytes are not
    decoded again up to the same failure (nested segments whose innermost level has bad
    UTF-8 would otherwise cost the square of the nesting depth).

    Each entry (s, bs): decoding a string from s was valid up to bs, where it failed ("invalid
    start byte" or "invalid continuation byte"). A string [a, b) with s <= a <= bs < b and a
    on a character boundary then fails at bs too: in valid UTF-8 every byte that is not a
    continuation byte (0x80-0xBF) starts a character, so decoding from a meets bs exactly as
    from s did. (A string starting on a continuation byte is bad whatever follows.) Which
    strings a candidate holds is read by walking the session block over the schema without
    decoding them (`trace`'s walker), O(records), and only for blocks that hold a known bad
    offset. A candidate is rejected this way only when its full check would fail."""

    def __init__(self) -> None:
        #: (bs, s) as a heap on bs: carve asks in offset order, so an entry whose bad byte
        #: lies before the candidate asked about can never match again and is dropped
        self.known: list[tuple[int, int]] = []
        #: the end of the furthest-reaching candidate that failed: one starting before it is
        #: nested in a failure (and is checked outline first)
        self.failed_end = 0

    def _strings(self, data: Any, o: int, end: int, at: int) -> list[tuple[int, int]]:
        """(start, stop) of every string of the session block of the segment at data[o:end]
        that holds offset `at` (the segment's framing already checked)."""
        from .trace import _Stop, _Tracer, _unwrap

        ranges: list[tuple[int, int]] = []

        class Walker(_Tracer):
            def walk(self, node: Any, path: str, p: int, e: int) -> tuple[Any, int]:
                if isinstance(_unwrap(node), schema.String):
                    m, q = self.length(p, e, path)
                    if m > e - q:
                        raise self.overflow(q, e, m, 1, "string length", path)
                    ranges.append((q, q + m))
                    return object(), q + m  # distinct: map keys never look duplicated
                got: tuple[Any, int] = super().walk(node, path, p, e)
                return got

        for _, start, stop in framing.segment_blocks(data, o, end):
            if start <= at < stop:
                try:
                    Walker(data).walk(schema.ReplaySession, "", start, stop)
                except _Stop:
                    pass  # what was walked is still where its strings are
                break
        return ranges

    def rejects(self, data: Any, o: int, end: int) -> bool:
        """True when the segment at data[o:end] holds a string that is known to be bad."""
        known = self.known
        while known and known[0][0] < o:
            heapq.heappop(known)
        for bs, s in known:
            if bs < end:
                for a, b in self._strings(data, o, end, bs):
                    if a <= bs < b and (a == bs or s <= a and data[a] & 0xC0 != 0x80):
                        return True
        return False

    def remember(self, data: Any, o: int, end: int, err: ReplayFormatError) -> None:
        """Note the bad UTF-8 the full check of the segment at data[o:end] failed on."""
        if err.kind != K.INVALID_UTF8 or not err.reason.endswith(
                ("(invalid start byte)", "(invalid continuation byte)")):
            return  # (a string cut inside a character may be whole in a longer one)
        bs = err.offset
        for a, b in self._strings(data, o, end, bs):
            if a <= bs < b:
                heapq.heappush(self.known, (bs, a))
                return


def _segment_candidate(data: Any, o: int, n: int, checked: SegmentScan | None = None,
                       bad: _BadText | None = None) -> CarvedBlock | None:
    head = framing.segment_fields(data, o)
    if head is None:
        return None
    count, total = head.session_count, head.total_size
    # Cheap rejections before decoding anything: the declared size must fit and hold the count.
    if total < SEGMENT_HEADER_SIZE or o + total > n:
        return None
    if count * (8 + _MIN_SESSION) > total - SEGMENT_HEADER_SIZE:
        return None
    if count and framing.first_block_length(data, o) > total - 32:
        return None
    if checked is not None and (checked.offset, checked.size) == (o, total):
        scan = checked  # already checked by the caller, every byte
    else:
        try:
            if bad is None or o < bad.failed_end or accel.native is None:
                # Lengths, tags and counts first (no string decoded: O(records)), so a
                # candidate that fails in its framing costs nothing per byte: nested
                # candidates failing at their ends would otherwise each decode everything up
                # to there (quadratic).
                scan_segment(data, o, o + total, "outline")
                if bad is not None and bad.rejects(data, o, o + total):
                    return None  # bad UTF-8 an enclosing candidate already failed on
            # (A candidate outside every failed one goes straight to the full check on the
            # compiled path: those bytes are checked once in all, and the compiled check of
            # every byte costs less than the outline in Python: 15 ms against 1.9 s for a
            # 30 MB session.)
            # Every byte checked exactly as parse_segment does, no record built.
            scan = scan_segment(data, o, o + total)
        except ReplayFormatError as err:
            if bad is not None:
                bad.remember(data, o, o + total, err)
                bad.failed_end = max(bad.failed_end, o + total)
            return None
    return CarvedBlock("segment", o, total, False, list(scan.sessions), data=data)


def _active_candidate(data: Any, o: int, n: int, checked: SegmentScan | None = None
                      ) -> CarvedBlock | None:
    length = framing.envelope_length(data, o)
    if length is None:
        return None
    if length < G.MIN_SIZE["ActiveSession"] or o + ENVELOPE_HEADER_SIZE + length > n:
        return None
    stop = o + ENVELOPE_HEADER_SIZE + length
    try:
        act = parse_active_session(bytes(data[o:stop]))
    except ReplayFormatError:
        return None
    summary = SessionSummary.of(act.session, 0, o + ENVELOPE_HEADER_SIZE, length)
    return CarvedBlock("active_session", o, stop - o, False, [summary], data=data)


def _find_all(data: Any, magic: bytes, chunk: int = 1 << 24) -> Iterator[int]:
    """Every offset of `magic`, searched 16 MiB at a time; the pages searched are dropped
    again (on an mmap), so the search does not make the whole file resident. A mapped file
    that shrinks meanwhile is `stream.FileShrank` at the next window, not a SIGBUS."""
    from .stream import check_mapped

    n = len(data)
    for pos in range(0, n, chunk):
        check_mapped(data)
        stop = min(n, pos + chunk + len(magic) - 1)  # a match may straddle the window's end
        hit = data.find(magic, pos, stop)
        while hit != -1:
            yield hit
            check_mapped(data)  # the caller may have been long about it
            hit = data.find(magic, hit + 1, stop)
        release(data, pos, min(n, pos + chunk))


def _tagged(data: Any, magic: bytes, kind: str) -> Iterator[tuple[int, str]]:
    for pos in _find_all(data, magic):
        yield pos, kind


def carve(data: Any, *, checked: SegmentScan | None = None, digests: bool = True
          ) -> list[CarvedBlock]:
    """Every segment and active-session envelope in `data` (bytes or a read-only mmap).

    Blocks are in offset order. A magic string counts only when the bytes from it fully decode
    (truncated copies and magic strings inside previews, names or documents do not); a candidate
    that starts inside an accepted block is that block's content. Identical blocks are all
    reported, later ones with `duplicate_of`. In a `.mv2`, exactly the segment the TOC manifest
    points at is `live`.

    `checked`: a segment the caller has already checked whole (its `scan.SegmentScan`): its
    bytes are not checked again. `digests=False`: sha256 only for blocks that share their size
    with another (enough for `duplicate_of`; the others keep sha256 "").
    """
    data = framing.readable(data)
    n = len(data)
    # Both searches merged lazily in offset order: no entry kept per magic string (a file of
    # nothing but magics would otherwise hold millions of them).
    candidates = heapq.merge(_tagged(data, schema.SEGMENT_MAGIC, "segment"),
                             _tagged(data, schema.ACTIVE_MAGIC, "active"))
    blocks: list[CarvedBlock] = []
    covered = 0
    bad = _BadText()
    for o, kind in candidates:
        if o < covered:
            continue
        block = (_segment_candidate(data, o, n, checked, bad) if kind == "segment"
                 else _active_candidate(data, o, n, checked))
        if block is not None:
            blocks.append(block)
            covered = block.end
    sizes: dict[int, int] = {}
    for b in blocks:
        sizes[b.size] = sizes.get(b.size, 0) + 1
    first_by_hash: dict[str, int] = {}
    for b in blocks:
        if not digests and sizes[b.size] == 1:
            continue
        b.sha256 = _sha256(data, b.offset, b.end)
        b.duplicate_of = first_by_hash.setdefault(b.sha256, b.offset)
        if b.duplicate_of == b.offset:
            b.duplicate_of = None
    if mv2mod.is_mv2(data):
        _origins(data, blocks)
    return blocks


def _ranges(value: Any, out: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every (bytes_offset, bytes_length) a decoded TOC value refers to (indexes, tracks,
    segments, catalog entries), found by field name through the whole value."""
    if isinstance(value, dict):
        if "bytes_offset" in value and "bytes_length" in value:
            out.append((value["bytes_offset"], value["bytes_offset"] + value["bytes_length"]))
        for k, v in value.items():
            if k != "_io" and isinstance(v, (dict, list)):
                _ranges(v, out)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)):
                _ranges(v, out)
    return out


def _origins(data: Any, blocks: list[CarvedBlock]) -> None:
    """Set `live`, `origin` and `frame_id` of blocks carved from a `.mv2` (module docstring
    of CarvedBlock); left None when the TOC does not decode (nothing can then be proven)."""
    try:
        layout = mv2mod.read_layout(data)
        toc = mv2mod.read_toc(data, layout)
    except ReplayFormatError:
        return
    m = toc.replay_manifest
    live = None if m is None else (m["segment_offset"], m["segment_size"])
    payloads = sorted((f.payload_offset, f.payload_offset + f.payload_length, f.id)
                      for f in toc.frames if f.payload_length)
    starts = [p[0] for p in payloads]
    header, _ = G.json_Mv2Header(data, 0, G.SIZE["Mv2Header"])
    wal_end = header["wal_offset"] + header["wal_size"]
    others = _ranges({k: v for k, v in toc.value.items() if k != "frames"}, [])
    for b in blocks:
        b.live = b.kind == "segment" and (b.offset, b.size) == live
        i = bisect.bisect_right(starts, b.offset) - 1  # the last payload starting at or before
        if b.live:
            b.origin = "live"
        elif i >= 0 and b.end <= payloads[i][1]:
            b.origin, b.frame_id = "frame-payload", payloads[i][2]
        elif (b.kind == "segment" and wal_end <= b.offset and b.end <= toc.start
              and not any(lo < b.end and b.offset < hi for lo, hi in others)):
            b.origin = "stale"
        else:
            b.origin = "unreferenced"


# --- every session ever saved ----------------------------------------------------------------

@attrs.define
class SessionRecord:
    """One distinct session (same id and same bytes) and the blocks holding it.

    status: "live" (in the live segment), "active" (only in a sidecar envelope, still being
    recorded), "deleted" (a later save dropped it from a segment it shared, or the decoded
    manifest was cleared after its last segment), "superseded" (a later save wrote a segment
    without it, as the memvid CLI does on every `session end`), "stale" (in the last save, which
    the TOC no longer names, for no reason the file shows), or "frame-payload" / "unreferenced"
    (only in copies that are not replay saves: see `CarvedBlock.origin`).
    """

    session: ReplaySession
    blocks: list[CarvedBlock]
    status: str

    def to_json(self) -> dict[str, Any]:
        return {
            **SessionSummary.of(self.session).listing(), "status": self.status,
            "blocks": [{"kind": b.kind, "offset": b.offset, "size": b.size, "live": b.live}
                       for b in self.blocks],
        }


def all_sessions(data: Any, blocks: list[CarvedBlock] | None = None) -> list[SessionRecord]:
    """Every session in every carved block, de-duplicated, ordered by creation time.

    Only replay saves count as saves (blocks of origin live or stale, or any segment outside a
    `.mv2`): a session found only in copies (a frame's payload, the write-ahead log) gets that
    block's origin as its status. "deleted" needs the file to show it (a later save dropped the
    session, or the decoded TOC's manifest is None after the last save); when the TOC does not
    decode, an unnamed save is only "stale".
    """
    if blocks is None:
        blocks = carve(data)
    is_mv2 = mv2mod.is_mv2(data)
    saves = [b for b in blocks
             if b.kind == "segment" and b.origin in (None, "live", "stale")]
    # A bare segment file is its own live segment (a .mv2 says which one is live).
    whole = None if is_mv2 else next(
        (b for b in saves if b.offset == 0 and b.end == len(data)), None)
    has_live = any(b.live for b in saves)
    toc_decoded = is_mv2 and all(b.origin is not None for b in blocks)
    records: dict[tuple[Any, ...], SessionRecord] = {}
    ids: dict[int, frozenset[Any]] = {}  # id(block) -> the session ids it holds, built once
    for b in blocks:
        sessions = b.sessions
        ids[id(b)] = frozenset(s.session_id.int for s in sessions)  # ints: a fast hash
        for s in sessions:
            key = (s.session_id.int, hashlib.sha256(build_session(s)).digest())
            rec = records.get(key)
            if rec is None:
                records[key] = rec = SessionRecord(s, [], "")
            rec.blocks.append(b)
    save_ids = {id(b) for b in saves}
    by_offset = sorted(saves, key=lambda b: b.offset)
    save_offsets = [b.offset for b in by_offset]
    kept = _Kept([ids[id(b)] for b in by_offset])
    position = {id(b): k for k, b in enumerate(by_offset)}

    for rec in records.values():
        sid = rec.session.session_id.int
        if any(b.live or b is whole for b in rec.blocks):
            rec.status = "live"
            continue
        segs = [b for b in rec.blocks if id(b) in save_ids]
        if not segs:
            copies = [b for b in rec.blocks if b.kind == "segment"]
            rec.status = (copies[0].origin or "active") if copies else "active"
            continue
        last = max(segs, key=lambda b: b.offset)
        later = bisect.bisect_right(save_offsets, last.offset) < len(by_offset)
        common = kept(position[id(last)])
        dropped = common is not None and sid not in common
        cleared = toc_decoded and not has_live and not later
        if dropped or cleared:
            rec.status = "deleted"
        elif later:
            rec.status = "superseded"
        else:
            rec.status = "stale" if is_mv2 else "superseded"
    return sorted(records.values(),
                  key=lambda r: (r.session.created_secs, r.blocks[0].offset))


class _Kept:
    """For a save L (by position in offset order): the sessions of L that every later save
    sharing a session with L also holds (None when no later save shares one). A session of L
    whose last save is L was dropped when it is not among them.

    Counted, not compared save against save (which is quadratic in the number of saves): a
    session r of L is in every later save sharing one with L exactly when the later saves
    holding r are all of them, i.e. when, for every session x of L, the later saves holding x
    are among those holding r. Each session's saves are a list of positions with suffix sums
    of random 128-bit weights (a set's fingerprint), so "the same later saves" is one
    comparison; "among" is answered once per pair of sessions from the last position where
    one lacks the other."""

    def __init__(self, saves: list[frozenset[Any]]) -> None:
        import random

        self.saves = saves
        weights = random.Random(0x5EED).getrandbits
        w = [weights(128) for _ in saves]
        self.occ: dict[Any, Any] = {}  # session id -> positions of the saves holding it
        self.at: list[dict[Any, int]] = []  # per save: session id -> its index in occ[id]
        for k, held in enumerate(saves):
            here = {}
            for x in held:
                positions = self.occ.setdefault(x, [])
                here[x] = len(positions)
                positions.append(k)
            self.at.append(here)
        mask = (1 << 128) - 1
        self.suffix: dict[Any, Any] = {}  # session id -> fingerprint of occ[id][t:] for each t
        for x, positions in self.occ.items():
            sums = [0] * (len(positions) + 1)
            for t in range(len(positions) - 1, -1, -1):
                sums[t] = (sums[t + 1] + w[positions[t]]) & mask
            self.suffix[x] = sums
        self.last_miss: dict[Any, Any] = {}
        self.memo: dict[int, frozenset[Any] | None] = {}

    def _within(self, x: Any, r: Any, t: int) -> bool:
        """Every save holding x after its t-th one also holds r."""
        key = (x, r)
        miss = self.last_miss.get(key)
        if miss is None:
            positions = self.occ[x]
            miss = next((u for u in range(len(positions) - 1, -1, -1)
                         if r not in self.saves[positions[u]]), -1)
            self.last_miss[key] = miss
        return miss <= t

    def __call__(self, k: int) -> frozenset[Any] | None:
        if k not in self.memo:
            self.memo[k] = self._kept(k)
        return self.memo[k]

    def _kept(self, k: int) -> frozenset[Any] | None:
        here = self.at[k]
        later = {x: len(self.occ[x]) - t - 1 for x, t in here.items()}
        most = max(later.values(), default=0)
        if most == 0:
            return None  # no later save shares a session with this one
        tops = [x for x, n in later.items() if n == most]
        first = tops[0]
        mark = self.suffix[first][here[first] + 1]
        if any(self.suffix[x][here[x] + 1] != mark for x in tops[1:]):
            return frozenset()  # two different sets of later saves: none holds every one
        if any(0 < n < most and not self._within(x, first, here[x])
               for x, n in later.items()):
            return frozenset()
        return frozenset(tops)


# --- salvage ---------------------------------------------------------------------------------

@attrs.define
class SalvagedSession:
    """What one session block gave back.

    session: the recovered session (for a damaged one: every checkpoint and action lying
    wholly before the damage; metadata {} and version 1 when those were not reached);
    complete: the block decoded strictly; offset/end: the session's bytes (when damaged, end is
    the end of the last record recovered); declared_checkpoints / declared_actions: the
    counts the bytes claim;
    error: why decoding stopped.
    """

    session: ReplaySession
    complete: bool
    offset: int
    end: int
    declared_checkpoints: int | None = None
    declared_actions: int | None = None
    error: ReplayFormatError | None = None
    action_spans: list[tuple[int, int]] = attrs.Factory(list)
    checkpoint_spans: list[tuple[int, int]] = attrs.Factory(list)


_SESSION_FIELDS = [(sub.name, sub.subcon) for sub in schema.ReplaySession.subcons]
_RECORD_NAMES = {id(node): name for name, node in schema.RECORDS.items()}


def _record_list(node: Any) -> str | None:
    """The record name when `node` is a Vec of schema records (decoded one record at a time)."""
    if isinstance(node, schema.Vec):
        return _RECORD_NAMES.get(id(node.subcon))
    return None


def salvage_session_block(data: Any, start: int, stop: int, path: str = ""
                          ) -> SalvagedSession | None:
    """Decode a ReplaySession in data[start:stop] field by field in the schema's order, its
    record lists record by record with the generated parsers, keeping all before damage.

    None when not even the fields before the first record list (id, name, created, ended)
    decode. Fields after the damage keep the model's defaults.
    """
    from .accel import GM

    values: dict[str, Any] = {}
    spans: dict[str, list[Any]] = {}
    declared: dict[str, int] = {}
    error = None
    p = start
    lists_reached = False
    with bulk():
        for name, node in _SESSION_FIELDS:
            where = _join(path, name)
            record = _record_list(node)
            if record is None:
                try:
                    values[name], p = decode_field(node, data, p, stop, where)
                except ReplayFormatError as err:
                    if not lists_reached:
                        return None
                    error = err
                    break
                continue
            lists_reached = True
            if stop - p < 8:
                error = E.truncated(p, where, 8, stop - p, "8-byte count runs past the end")
                break
            (count,) = _U64.unpack_from(data, p)
            declared[name] = count
            p += 8
            parse = getattr(GM, f"parse_{record}")
            items, at = values.setdefault(name, []), spans.setdefault(name, [])
            for i in range(count):  # each record takes >= its minimum size: bounded by bytes
                try:
                    value, q = parse(data, p, stop)
                except ReplayFormatError as err:
                    error = err.prefix(f"[{i}]").prefix(where)
                    break
                items.append(value)
                at.append((p, q))
                p = q
            if error is not None:
                break
        if error is not None:  # fields after the record lists keep their defaults
            tail = False
            for name, node in _SESSION_FIELDS:
                if tail and _record_list(node) is None:
                    values.pop(name, None)
                tail = tail or _record_list(node) is not None
        session = ReplaySession(**values)
    return SalvagedSession(session, error is None, start, p,
                           declared.get("checkpoints"), declared.get("actions"), error,
                           spans.get("actions", []), spans.get("checkpoints", []))


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


@attrs.define
class Salvage:
    """The result of `salvage`.

    kind: "segment" or "active_session"; sessions: every recovered session (complete ones whole,
    damaged ones cut before the damage); details: a SalvagedSession per block read;
    complete: the input decoded strictly; stopped_at: the first byte not recovered because of
    damage (None when complete; `errors` say exactly where and what the damage is); unread:
    bytes not decoded into anything recovered; errors: why decoding stopped,
    each time it did; active: the recovered envelope for a sidecar (its trailing fields
    recomputed from the session when they were lost: see `envelope_reconstructed`).
    """

    kind: str
    sessions: list[ReplaySession]
    details: list[SalvagedSession]
    complete: bool
    stopped_at: int | None
    unread: int
    size: int
    errors: list[ReplayFormatError] = attrs.Factory(list)
    active: ActiveSession | None = None
    envelope_reconstructed: bool = False

    def rebuild(self) -> bytes:
        """A valid segment or sidecar holding exactly what was recovered."""
        if self.kind == "active_session":
            if self.active is None:
                raise ValueError("nothing recovered: no session head decoded")
            return build_active_session(self.active)
        return build_segment(self.sessions)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "complete": self.complete, "stopped_at": self.stopped_at,
            "unread": self.unread, "size": self.size,
            "errors": [{"kind": e.kind, "offset": e.offset, "path": e.path, "message": str(e)}
                       for e in self.errors],
            "envelope_reconstructed": self.envelope_reconstructed,
            "sessions": [{
                "session_id": str(d.session.session_id), "name": d.session.name,
                "complete": d.complete, "offset": d.offset, "end": d.end,
                "actions_recovered": len(d.session.actions),
                "actions_declared": d.declared_actions,
                "checkpoints_recovered": len(d.session.checkpoints),
                "checkpoints_declared": d.declared_checkpoints,
            } for d in self.details],
        }


def _actions_since_checkpoint(session: ReplaySession) -> int:
    """The recorder's counter: reset at a checkpoint, then incremented by every later action."""
    if not session.checkpoints:
        return len(session.actions)
    last = session.checkpoints[-1].at_sequence
    return sum(1 for a in session.actions if a.sequence > last)


def salvage(data: Any, kind: str | None = None) -> Salvage:
    """Recover what a truncated or corrupted segment or sidecar still holds.

    `kind` ("segment" / "active_session") overrides detection by the leading magic (use it when
    the magic itself is damaged). Complete sessions come back whole; from a damaged session,
    every checkpoint and action lying wholly before the damage, exactly as the original. A
    segment whose session blocks keep sane length prefixes is read on past a damaged session.
    """
    data = framing.readable(data)
    n = len(data)
    head = bytes(data[:8])
    if kind is None:
        kind = framing.sniff(data, "prefix")
        if kind not in (framing.SEGMENT, framing.SIDECAR):
            raise ReplayFormatError(K.BAD_MAGIC, "neither MV2RPLY! nor MV2ACTIV (pass kind=)",
                                    offset=0, path="magic", actual=head)
    if kind == "active_session":
        return _salvage_active(data, n)
    return _salvage_segment(data, n)


def _salvage_segment(data: Any, n: int) -> Salvage:
    details: list[SalvagedSession] = []
    errors: list[ReplayFormatError] = []
    if n < SEGMENT_HEADER_SIZE:
        err = ReplayFormatError(K.TRUNCATED, "shorter than the 24-byte segment header", offset=0,
                                path="", expected=SEGMENT_HEADER_SIZE, actual=n)
        return Salvage("segment", [], [], False, 0, n, n, [err])
    fields = framing.segment_fields(data)
    assert fields is not None  # n is at least the header's size
    count = fields.session_count
    p = SEGMENT_HEADER_SIZE
    decoded = SEGMENT_HEADER_SIZE
    for i in range(count):
        where = f"sessions[{i}]"
        if n - p < 8:
            if p < n or i < count:
                errors.append(ReplayFormatError(
                    K.COUNT_MISMATCH if p == n else K.TRUNCATED,
                    f"session_count is {count} but the data ends after {i}", offset=p,
                    path=where, expected=count, actual=i))
            break
        length = framing.declared_length(data, p)
        start = p + 8
        stop = min(start + length, n) if length <= n else n
        got = salvage_session_block(data, start, stop, where)
        if got is None:
            errors.append(ReplayFormatError(K.TRUNCATED if stop == n else K.LENGTH_OVERFLOW,
                                            "session head does not decode", offset=start,
                                            path=where))
            break
        details.append(got)
        decoded += 8 + (got.end - start)
        if got.complete and got.end != stop:
            got.complete = False
            got.error = ReplayFormatError(K.TRAILING_BYTES, f"{stop - got.end} bytes after the "
                                          "session", offset=got.end, path=where)
        if got.error is not None:
            errors.append(got.error)
        if start + length > n:  # the block runs past the end: nothing after it
            if got.error is None:
                errors.append(ReplayFormatError(
                    K.LENGTH_OVERFLOW, f"declared length {length} exceeds the {n - start} bytes "
                    "left", offset=p, path=where, expected=f"<= {n - start}", actual=length))
            break
        p = start + length
    else:
        if p != n:
            errors.append(ReplayFormatError(K.TRAILING_BYTES, f"{n - p} bytes after the last "
                                            "session", offset=p, path="", actual=n - p))
    stops = [d.end for d in details if not d.complete] + [e.offset for e in errors]
    stopped = min(stops) if errors else None
    return Salvage("segment", [d.session for d in details], details, not errors, stopped,
                   n - decoded, n, errors)


def _salvage_active(data: Any, n: int) -> Salvage:
    errors: list[ReplayFormatError] = []
    if n < ENVELOPE_HEADER_SIZE:
        err = ReplayFormatError(K.TRUNCATED, "shorter than the 16-byte envelope header",
                                offset=0, path="", expected=ENVELOPE_HEADER_SIZE, actual=n)
        return Salvage("active_session", [], [], False, 0, n, n, [err])
    length = framing.envelope_length(data)
    assert length is not None  # n is at least the header's size
    start = ENVELOPE_HEADER_SIZE
    stop = min(start + length, n) if length <= n else n
    got = salvage_session_block(data, start, stop, "session")
    if got is None:
        err = ReplayFormatError(K.TRUNCATED, "session head does not decode", offset=start,
                                path="session")
        return Salvage("active_session", [], [], False, start, n - start, n, [err])
    p = got.end
    rest: dict[str, Any] = {}
    if got.complete:
        try:
            rest["next_checkpoint_id"], p = decode_field(schema.u64, data, p, stop,
                                                         "next_checkpoint_id")
            rest["actions_since_checkpoint"], p = decode_field(
                schema.u64, data, p, stop, "actions_since_checkpoint")
            config, p = decode_field(schema.ReplayConfig, data, p, stop, "config")
            rest["config"] = ReplayConfig(**config)
        except ReplayFormatError as err:
            errors.append(err)
    elif got.error is not None:
        errors.append(got.error)
    reconstructed = len(rest) < 3
    if reconstructed:
        rest = {"next_checkpoint_id": len(got.session.checkpoints),
                "actions_since_checkpoint": _actions_since_checkpoint(got.session),
                "config": ReplayConfig(0, None, False)}
    if not errors:
        if start + length > n:
            errors.append(ReplayFormatError(K.LENGTH_OVERFLOW, "declared length exceeds the "
                                            "bytes left", offset=8, path="length",
                                            actual=length))
        elif p != n:
            errors.append(ReplayFormatError(K.TRAILING_BYTES, f"{n - p} bytes after the "
                                            "active session", offset=p, path="", actual=n - p))
    active = ActiveSession(session=got.session, **rest)
    stopped = min([p] + [e.offset for e in errors]) if errors else None
    return Salvage("active_session", [got.session], [got], not errors, stopped, n - p, n,
                   errors, active, reconstructed)


# --- evidence ------------------------------------------------------------------------------

@contextlib.contextmanager
def open_evidence(path: str) -> Iterator[Any]:
    """The bytes of `path`, read-only (`stream.open_input`: an mmap of a regular file, a pipe
    or stdin read whole but bounded, devices refused). OSError propagates."""
    from .stream import open_input

    with open_input(path) as data:
        yield data


def carve_path(path: str) -> dict[str, Any]:
    """`carve` on one file as a JSON-ready dict: the per-file function of
    `replayfmt carve DIR -r -j N` (run by `batch`)."""
    with open_evidence(path) as data:
        blocks = carve(data)
    return {"status": "ok", "blocks": [b.to_json() for b in blocks]}
