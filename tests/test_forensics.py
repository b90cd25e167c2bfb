"""carve, all_sessions, salvage on the real corpus and on damaged copies."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from _real import active_files, cases, ids, segment_files

from replayfmt import carve, salvage
from replayfmt.codec import (
    build_segment,
    parse_active_session,
    parse_segment,
)
from replayfmt.forensics import all_sessions

ROOT = Path(__file__).resolve().parent.parent
MAGIC_MV2 = ROOT / "fixtures" / "damaged" / "cli" / "magic_in_docs.mv2"
CASES = [c for c in cases() if (c / "mem.mv2").exists()]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_carve_finds_every_segment_and_the_live_one(case):
    info = json.loads((case / "case.json").read_text())
    data = (case / "mem.mv2").read_bytes()
    blocks = carve(data)
    assert [(b.offset, b.size) for b in blocks] == [
        (s["offset"], s["size"]) for s in info["segments"]]
    assert [b.live for b in blocks] == [s["is_current"] for s in info["segments"]]
    assert sum(b.live for b in blocks) == (1 if info["toc_manifest"]["present"] else 0)
    for b, s in zip(blocks, info["segments"], strict=False):
        assert b.sessions == parse_segment((case / s["file"]).read_bytes()).sessions
    # The magic strings the corpus lists as false positives give no block.
    offsets = {b.offset for b in blocks}
    assert not offsets & {fp["offset"] for fp in info["magic_false_positives"]}


def test_carve_ignores_magic_strings_and_marks_stored_copies_not_live():
    data = MAGIC_MV2.read_bytes()
    assert data.count(b"MV2RPLY!") > 20 and data.count(b"MV2ACTIV") > 10
    blocks = carve(data)
    assert [b.kind for b in blocks] == ["segment"] * 3
    live = [b for b in blocks if b.live]
    assert len(live) == 1 and live[0].sessions[0].name == "has MV2RPLY! in name"
    stored = [b for b in blocks if not b.live]
    assert all(b.sessions[0].name == "first" for b in stored)  # the raw document copies
    assert stored[1].duplicate_of == stored[0].offset


def test_carve_inside_arbitrary_bytes_and_rejects_truncated_copies():
    seg = segment_files()[0].read_bytes()
    act = active_files()[0].read_bytes()
    rng = random.Random(3)
    noise = lambda k: bytes(rng.randrange(256) for _ in range(k))  # noqa: E731
    # (A copy cut by one byte and followed by any byte would decode: the last byte is the
    # high byte of the session version. Cut by 5, the metadata count swallows the magic.)
    blob = (noise(1000) + seg + noise(77) + seg[:-5] + b"MV2RPLY!" + noise(50) + act
            + noise(10) + act[:200] + b"MV2ACTIV" + noise(30))
    blocks = carve(blob)
    assert [(b.kind, b.offset, b.size) for b in blocks] == [
        ("segment", 1000, len(seg)),
        ("active_session", 1000 + len(seg) + 77 + len(seg) - 5 + 8 + 50, len(act))]
    assert not any(b.live for b in blocks)
    assert blocks[1].active == parse_active_session(act)


def test_carve_on_mmap(tmp_path):
    import mmap

    case = next(c for c in CASES if c.name == "p16_doctor_vacuum")
    with open(case / "mem.mv2", "rb") as fh, mmap.mmap(fh.fileno(), 0,
                                                      access=mmap.ACCESS_READ) as mm:
        blocks = carve(mm)
    assert [b.live for b in blocks] == [False, False, True]


def test_all_sessions_recovers_superseded_and_deleted():
    case = next(c for c in CASES if c.name == "p10_two_cycles")
    recs = all_sessions((case / "mem.mv2").read_bytes())
    assert [(r.session.name, r.status) for r in recs] == [("first", "superseded"),
                                                          ("second", "live")]
    case = next(c for c in CASES if c.name == "p11_save_load_roundtrip")
    (rec,) = all_sessions((case / "mem.mv2").read_bytes())  # three identical copies: one
    assert rec.status == "live" and len(rec.blocks) == 3
    case = next(c for c in CASES if c.name == "p16_doctor_vacuum")
    recs = all_sessions((case / "mem.mv2").read_bytes())
    assert [r.status for r in recs] == ["superseded", "superseded", "live"]


def test_deleted_session_after_manifest_cleared():
    # Deleting the only session writes a None manifest and leaves the segment: emulate by
    # rebuilding a real file's TOC with replay_manifest None (checksums recomputed).
    from replayfmt import mv2 as mv2mod
    from replayfmt import toc

    case = next(c for c in CASES if c.name == "p01_basic_put_find")
    data = (case / "mem.mv2").read_bytes()
    t = mv2mod.read_toc(data)
    value = dict(t.value, replay_manifest=None)
    cleared = toc.with_toc(data, toc.encode_toc(t, value))
    recs = all_sessions(cleared)
    assert [r.status for r in recs] == ["deleted"]
    # the same bytes with a TOC that does not decode prove no delete
    broken = bytearray(data)
    broken[t.manifest_tag_pos] = 0
    assert [r.status for r in all_sessions(bytes(broken))] == ["stale"]


def test_carve_origins_of_stored_copies():
    blocks = carve(MAGIC_MV2.read_bytes())
    assert [(b.offset, b.origin, b.frame_id) for b in blocks] == [
        (9995, "unreferenced", None), (91259, "live", None), (91838, "frame-payload", 3)]
    recs = all_sessions(MAGIC_MV2.read_bytes())
    assert sorted(r.status for r in recs) == ["live", "unreferenced"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_carve_origins_match_the_cli_record(case):
    info = json.loads((case / "case.json").read_text())
    blocks = carve((case / "mem.mv2").read_bytes())
    want = {s["offset"]: "live" if s["is_current"] else
            ("stale" if s["origin"] == "replay_save" else "unreferenced")
            for s in info["segments"]}
    assert {b.offset: b.origin for b in blocks if b.kind == "segment"} == want


@pytest.mark.parametrize("path", segment_files()[::3], ids=ids(segment_files()[::3]))
def test_salvage_cut_segment_recovers_exactly_the_actions_before_the_cut(path):
    from replayfmt.trace import trace_segment

    data = path.read_bytes()
    original = parse_segment(data).sessions[0]
    t = trace_segment(data)
    ends = [t.find(f"sessions[0].actions[{j}]").end for j in range(len(original.actions))]
    step = max(1, len(data) // 120)
    for cut in sorted(set(range(0, len(data), step)) | {e for e in ends} | {len(data) - 1}):
        result = salvage(data[:cut])
        assert not result.complete
        expected = sum(1 for e in ends if e <= cut)
        got = result.sessions[0].actions if result.sessions else []
        assert got == original.actions[:expected], cut
        assert result.unread == cut - (result.details[0].end if result.details else 24) \
            or result.unread <= cut
        if result.sessions:
            rebuilt = parse_segment(result.rebuild())
            assert rebuilt.sessions[0].actions == got
            assert rebuilt.sessions[0].session_id == original.session_id
    whole = salvage(data)
    assert whole.complete and whole.stopped_at is None and whole.unread == 0
    assert whole.rebuild() == data


@pytest.mark.parametrize("path", active_files(), ids=ids(active_files()))
def test_salvage_cut_sidecar(path):
    data = path.read_bytes()
    original = parse_active_session(data)
    for cut in range(16, len(data), max(1, len(data) // 60)):
        result = salvage(data[:cut])
        assert not result.complete and result.stopped_at <= cut
        if not result.sessions:
            continue
        s = result.sessions[0]
        assert s.actions == original.session.actions[:len(s.actions)]
        assert s.checkpoints == original.session.checkpoints[:len(s.checkpoints)]
        rebuilt = parse_active_session(result.rebuild())
        assert rebuilt.session.actions == s.actions
        assert rebuilt.next_checkpoint_id == len(s.checkpoints)
    assert salvage(data).rebuild() == data


def test_salvage_reads_on_past_a_damaged_session():
    seg = parse_segment(segment_files()[0].read_bytes())
    s = seg.sessions[0]
    data = bytearray(build_segment([s, s, s]))
    from replayfmt.trace import trace_segment

    span = trace_segment(bytes(data)).find("sessions[1].actions[1].input_preview", "string")
    data[span.offset + 8] = 0xFF
    result = salvage(bytes(data))
    assert [d.complete for d in result.details] == [True, False, True]
    assert result.sessions[0] == s and result.sessions[2] == s
    assert result.sessions[1].actions == s.actions[:1]
    assert result.stopped_at == trace_segment(bytes(data)).find(
        "sessions[1].actions[0]").end
    assert result.errors[0].kind == "invalid_utf8"


def test_magic_search_in_windows_finds_matches_across_window_edges():
    from replayfmt.forensics import _find_all

    data = bytearray(4096)
    for pos in (0, 1017, 1030, 2045, 3000, 4088):
        data[pos:pos + 8] = b"MV2RPLY!"
    data = bytes(data)
    expected, hit = [], data.find(b"MV2RPLY!")
    while hit != -1:
        expected.append(hit)
        hit = data.find(b"MV2RPLY!", hit + 1)
    assert list(_find_all(data, b"MV2RPLY!", chunk=1024)) == expected
    assert 1017 in expected and 2045 in expected  # straddling a window edge
