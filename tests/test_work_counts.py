"""Former quadratic paths, proven linear by counting work (not time) at 1k/10k/100k."""

from __future__ import annotations

import importlib
import struct
import types
import uuid

import pytest

from replayfmt import forensics, scan
from replayfmt.codec import build_segment, parse_segment
from replayfmt.errors import ReplayFormatError
from replayfmt.forensics import CarvedBlock, all_sessions, carve
from replayfmt.model import Put, ReplayAction, ReplaySession

SIZES = (1_000, 10_000, 100_000)


def _linear(counts: dict[int, int], slack: float = 1.5) -> None:
    """Work per unit of input stays flat from the smallest size to the largest."""
    small, large = min(counts), max(counts)
    per_small, per_large = counts[small] / small, counts[large] / large
    assert per_large <= per_small * slack, counts


# --- all_sessions: one set per block, not one per session ------------------------------------

def _sessions_work(monkeypatch, n: int) -> int:
    """Session records all_sessions takes from blocks, for a save of n sessions and a later
    save that drops the first (every record is looked up against both saves)."""
    sessions = [ReplaySession(uuid.UUID(int=i + 1), created_secs=i) for i in range(n)]
    first = CarvedBlock("segment", 0, 100, False, [])
    later = CarvedBlock("segment", 100, 100, False, [])
    first._decoded = types.SimpleNamespace(sessions=sessions)
    later._decoded = types.SimpleNamespace(sessions=sessions[1:])
    handed = [0]
    plain = CarvedBlock.sessions.fget

    def counted(self):
        got = plain(self)
        handed[0] += len(got)
        return got

    monkeypatch.setattr(CarvedBlock, "sessions", property(counted))
    # The record key's bytes: the session id is enough here (ids are distinct).
    monkeypatch.setattr(forensics, "build_session", lambda s: s.session_id.bytes)
    records = all_sessions(b"\0" * 200, [first, later])
    status = {r.session.session_id.int: r.status for r in records}
    assert status[1] == "deleted" and status[2] == status[n] == "superseded"
    assert len(records) == n
    return handed[0]


def test_all_sessions_work_is_linear(monkeypatch):
    counts = {n: _sessions_work(monkeypatch, n) for n in SIZES}
    _linear(counts)
    assert counts[1_000] <= 3 * 1_000  # each block's sessions handed out a bounded number of times


# --- carve: nested segments failing at their ends ---------------------------------------------

def _nested(levels: int, width: int = 8) -> bytes:
    """levels segments, each inside the frame list of the next one's action, every one with a
    stray byte at the end of its session block (so each fails at its very end)."""
    inner = b""
    for k in range(levels):
        padded = inner + bytes(-len(inner) % 8) + bytes(8 * width)
        frames = list(struct.unpack(f"<{len(padded) // 8}Q", padded))
        action = ReplayAction(0, k, Put(k), affected_frames=frames)
        seg = bytearray(build_segment([ReplaySession(uuid.UUID(int=k + 1), actions=[action])]))
        # one more byte in the session block and in the segment: decodes to its end, then fails
        struct.pack_into("<Q", seg, 16, len(seg) + 1)
        struct.pack_into("<Q", seg, 24, struct.unpack_from("<Q", seg, 24)[0] + 1)
        inner = bytes(seg) + b"\x01"
    return inner


def _carve_work(monkeypatch, levels: int) -> tuple[int, int]:
    data = _nested(levels)
    full = scan.DEPTHS["full"]
    decoded = [0]

    def counted(b, p, e):
        decoded[0] += e - p
        return full(b, p, e)

    monkeypatch.setitem(scan.DEPTHS, "full", counted)
    assert carve(data) == []  # every nested candidate fails at its end
    return len(data), decoded[0]


@pytest.mark.parametrize("levels", [1, 10, 100])
def test_nested_segment_fixture_is_what_it_says(levels):
    data = _nested(levels)
    assert data.count(b"MV2RPLY!") == levels
    with pytest.raises(ReplayFormatError):
        parse_segment(data)


def test_carve_nested_failing_segments_is_linear(monkeypatch):
    # levels chosen so the input is ~1k, 10k, 100k bytes-per-level units; count bytes decoded
    counts = {}
    for levels in (10, 100, 1000):
        size, decoded = _carve_work(monkeypatch, levels)
        counts[size] = decoded + size  # bytes searched once + bytes decoded in full
    _linear(counts)


def _ascii(*values: int) -> bool:
    return all(b < 0x80 for v in values for b in v.to_bytes(8, "little"))


def _level(k: int, text_len: int) -> bytes:
    action = ReplayAction(0, k % 100, Put(k % 100), input_preview="A" * text_len)
    sid = uuid.UUID(bytes=b"level-%010d" % k)
    return build_segment([ReplaySession(sid, f"s{k % 100}", actions=[action])])


def _nested_bad_text(levels: int) -> bytes:
    """levels segments, each inside the input preview of the next one's action; only the
    innermost has bad UTF-8, so every level's full check fails at that same byte (every
    length is chosen so that its bytes are ASCII: the outer strings are valid up to it)."""
    inner = b"\xffA"
    for k in range(levels):
        empty = _level(k, 0)
        block = struct.unpack_from("<Q", empty, 24)[0]
        pad = 0
        while not _ascii(len(inner) + pad, block + len(inner) + pad,
                         len(empty) + len(inner) + pad):
            pad += 1
        n = len(inner) + pad
        seg = _level(k, n)
        at = seg.rindex(b"A" * n)
        inner = seg[:at] + inner + b"A" * pad + seg[at + n:]
    return inner


@pytest.mark.parametrize("levels", [1, 10])
def test_nested_bad_text_fixture_is_what_it_says(levels):
    data = _nested_bad_text(levels)
    assert data.count(b"MV2RPLY!") == levels
    bad = data.index(b"\xff")
    for o in range(0, bad, 1):
        if data.startswith(b"MV2RPLY!", o):
            with pytest.raises(ReplayFormatError) as got:
                scan.scan_segment(data, o, o + struct.unpack_from("<Q", data, o + 16)[0])
            assert got.value.offset == bad and "invalid start byte" in got.value.reason


def test_carve_nested_segments_with_bad_text_inside_is_linear(monkeypatch):
    """Each level's check used to decode its string up to the innermost bad byte again
    (10 levels: 14 KB decoded, 100: 1.29 MB, 1000: 242 MB); the failure is remembered."""
    counts = {}
    for levels in (10, 100, 1000):
        data = _nested_bad_text(levels)
        full = scan.DEPTHS["full"]
        decoded = [0]

        def counted(b, p, e, full=full, decoded=decoded):
            decoded[0] += e - p
            return full(b, p, e)

        with monkeypatch.context() as m:
            m.setitem(scan.DEPTHS, "full", counted)
            assert carve(data) == []
        assert decoded[0] <= len(data)  # the outermost level's block, once
        counts[len(data)] = decoded[0] + len(data)
    _linear(counts)


def test_a_segment_in_a_bad_string_is_still_carved():
    """Bad UTF-8 remembered from an enclosing candidate rejects only strings that must fail:
    a whole segment inside the bad string, with the bad byte in its binary fields, is found."""
    inner = _level(1, 40)
    inner = bytearray(inner)
    inner[inner.index(b"level-")] = 0xFF  # the session id: bytes, not text
    assert parse_segment(bytes(inner)).sessions[0].session_id.bytes[0] == 0xFF
    outer = bytearray(_level(2, len(inner)))
    at = outer.rindex(b"A" * len(inner))
    outer[at:at + len(inner)] = inner
    blocks = carve(bytes(outer))
    assert [(b.kind, b.offset, b.size) for b in blocks] == [("segment", at, len(inner))]


# --- diagnostics: capped per file, each with its own length -----------------------------------

def _flood(n: int) -> bytes:
    """A segment of n empty session blocks: one truncation diagnostic per session."""
    return (b"MV2RPLY!" + struct.pack("<IIQ", 1, n, 24 + 8 * n) + bytes(8 * n))


@pytest.mark.parametrize("n", [1_200, 20_000])
def test_diagnostics_are_capped_with_a_count_of_the_rest(monkeypatch, n):
    V = importlib.import_module("replayfmt.validate")

    made = [0]
    plain = V.Diagnostic

    def counted(*args, **kwargs):
        made[0] += 1
        return plain(*args, **kwargs)

    monkeypatch.setattr(V, "Diagnostic", counted)
    report = V.validate(_flood(n))
    listed = report.diagnostics
    assert len(listed) == V.MAX_DIAGNOSTICS + 1 and made[0] == V.MAX_DIAGNOSTICS + 1
    *truncations, more = listed
    assert {d.code for d in truncations} == {"RF004"}
    assert more.code == "RF015" and f"{n - V.MAX_DIAGNOSTICS} more" in more.message
    assert report.omitted == {V.ERROR: n - V.MAX_DIAGNOSTICS}
    assert report.count(V.ERROR) == n and not report.ok()
    assert report.to_json()["summary"][V.ERROR] == n
    for i, d in enumerate(truncations):  # session i's block is empty: 0 bytes, not the rest
        assert (d.offset, d.length, d.path) == (32 + 8 * i, 0, f"sessions[{i}].session_id")


def test_a_truncation_at_the_end_of_the_file_still_spans_what_is_left():
    V = importlib.import_module("replayfmt.validate")

    seg = build_segment([ReplaySession(uuid.UUID(int=1), name="n")])
    report = V.validate(seg[:-3])
    cut = [d for d in report.diagnostics if d.code in ("RF004", "RF005")]
    assert cut and all(d.offset + d.length <= len(seg) - 3 for d in report.diagnostics)


# --- carve: no entry kept per magic string -----------------------------------------------------

class _Counted(tuple):
    """A (offset, kind) candidate that counts how many are alive at once."""

    alive = 0
    peak = 0

    def __new__(cls, value):
        self = super().__new__(cls, value)
        _Counted.alive += 1
        _Counted.peak = max(_Counted.peak, _Counted.alive)
        return self

    def __del__(self):
        _Counted.alive -= 1


def test_carve_keeps_no_entry_per_magic_string(monkeypatch):
    plain = forensics._tagged

    def counted(data, magic, kind):
        for item in plain(data, magic, kind):
            yield _Counted(item)

    monkeypatch.setattr(forensics, "_tagged", counted)
    peaks = {}
    for n in SIZES:
        _Counted.alive = _Counted.peak = 0
        data = (b"MV2RPLY!" + b"MV2ACTIV") * (n // 2)
        assert carve(data) == []
        peaks[n] = _Counted.peak
    assert max(peaks.values()) <= 4, peaks  # a handful in flight, whatever the input size


# --- validate: a stray byte after a segment does not make the whole file traced ---------------

@pytest.mark.parametrize("n", SIZES)
def test_validate_traces_nothing_for_a_trailing_byte(monkeypatch, n):
    V = importlib.import_module("replayfmt.validate")
    traced = [0]

    def no_whole_trace(data):
        raise AssertionError("the whole segment was traced")

    def counted(name, b, start, stop, path=""):
        traced[0] += 1
        return plain(name, b, start, stop, path)

    plain = V.trace_record
    monkeypatch.setattr(V, "trace_segment", no_whole_trace)
    monkeypatch.setattr(V, "trace_record", counted)
    sessions = [ReplaySession(uuid.UUID(int=1 + s), actions=[
        ReplayAction(i, 0, Put(i)) for i in range(n // 10)]) for s in range(10)]
    report = V.validate(build_segment(sessions) + b"\0")
    assert {d.code for d in report.diagnostics} == {"RF013"}
    assert traced[0] == 0


# --- all_sessions: many saves, no save compared with every later one ---------------------------

def _saves(pattern: str, n: int) -> list[CarvedBlock]:
    """n saves (CarvedBlocks at increasing offsets) of sessions that are ids only.

    dropped-late: a session in every save, one in every save but the last, and one of each
    save's own that the next save drops (every save shares with all later ones);
    distinct: one of its own each."""
    def session(i: int, created: int):  # what all_sessions reads of a session
        return types.SimpleNamespace(session_id=uuid.UUID(int=i), created_secs=created)

    common, late = session(1, 0), session(2, 0)
    blocks = []
    for k in range(n):
        own = [session(k + 10, k + 1)]
        held = {"distinct": own,
                "dropped-late": [common, *([late] if k < n - 1 else []), *own]}[pattern]
        b = CarvedBlock("segment", 100 * k, 100, False, [])
        b._decoded = types.SimpleNamespace(sessions=held)
        blocks.append(b)
    return blocks


def _kept_lines(func, *args) -> tuple[int, object]:
    """Lines executed in `forensics._Kept` (where saves meet later saves) while func runs."""
    import sys

    count = [0]

    def local(frame, event, arg):
        if event == "line":
            count[0] += 1
        return local

    def calls(frame, event, arg):
        return local if frame.f_code.co_qualname.startswith("_Kept.") else None

    sys.settrace(calls)
    try:
        result = func(*args)
    finally:
        sys.settrace(None)
    return count[0], result


def _brute_kept(saves: list[frozenset], k: int) -> frozenset | None:
    """The definition, save against save (quadratic): the reference for `_Kept`."""
    common = None
    for later in saves[k + 1:]:
        if not saves[k].isdisjoint(later):
            common = later if common is None else common & later
    return common


@pytest.mark.parametrize("seed", range(40))
def test_kept_matches_the_definition(seed):
    import random

    rng = random.Random(seed)
    pool = [uuid.UUID(int=i + 1) for i in range(rng.randint(1, 8))]
    saves = [frozenset(rng.sample(pool, rng.randint(1, len(pool))))
             for _ in range(rng.randint(1, 12))]
    kept = forensics._Kept(saves)
    for k, held in enumerate(saves):
        want, got = _brute_kept(saves, k), kept(k)
        assert (want is None) == (got is None)
        if want is not None:
            assert {x for x in held if x in want} == {x for x in held if x in got}


@pytest.mark.parametrize("pattern", ["dropped-late", "distinct"])
def test_all_sessions_work_is_linear_in_the_number_of_saves(monkeypatch, pattern):
    monkeypatch.setattr(forensics, "build_session", lambda s: s.session_id.bytes)
    counts = {}
    for n in SIZES:
        blocks = _saves(pattern, n)
        lines, records = _kept_lines(all_sessions, b"\0" * (100 * n), blocks)
        status = {r.session.session_id.int: r.status for r in records}
        assert status[10] == ("deleted" if pattern != "distinct" else "superseded")
        assert status[n + 9] == "superseded"  # in the last save (no .mv2 says which is live)
        if pattern == "dropped-late":
            assert status[2] == "deleted"
        counts[n] = lines
    _linear(counts)
    assert counts[1_000] <= 100 * 1_000  # a bounded number of steps per save


def test_carve_checks_a_candidate_outside_every_failure_once(monkeypatch):
    """On the compiled path a candidate that starts outside every failed one gets the full
    check only (its bytes are checked once in all; the outline, Python everywhere, cost 1.9 s
    per 30 MB session against 15 ms for the compiled check of every byte); on the pure path,
    and for a candidate nested in a failure, the outline comes first."""
    from replayfmt import accel

    data = _level(1, 40) + b"\0" * 7 + _level(2, 40)
    calls = {"outline": 0, "full": 0}
    for depth in calls:
        real = scan.DEPTHS[depth]

        def counted(b, p, e, real=real, depth=depth):
            calls[depth] += 1
            return real(b, p, e)

        monkeypatch.setitem(scan.DEPTHS, depth, counted)
    blocks = carve(data)
    assert [b.offset for b in blocks] == [0, len(_level(1, 40)) + 7]
    assert calls == {"outline": 0 if accel.native is not None else 2, "full": 2}
    # nested in a failure: a segment inside the preview of one whose name is bad UTF-8
    inner = _level(3, 0)
    outer = bytearray(_level(4, len(inner)))
    at = outer.rindex(b"A" * len(inner))
    outer[at:at + len(inner)] = inner
    assert outer.count(b"s4") == 1
    outer[outer.index(b"s4")] = 0xFF
    calls.update(outline=0, full=0)
    assert [b.offset for b in carve(bytes(outer))] == [at]
    # (compiled: the outer one fails its full check, the inner one is checked outline first;
    # pure: the outline decodes the session's own name and already fails the outer one)
    want = {"outline": 1, "full": 2} if accel.native is not None else {"outline": 2, "full": 1}
    assert calls == want
