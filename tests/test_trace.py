"""trace: spans cover every decoded byte, values equal the codec's, errors equal the codec's."""

from __future__ import annotations

import random
import re
from pathlib import Path

import blake3
import pytest
from _real import active_files, ids, mv2_files, segment_files

from replayfmt.codec import parse_active_session, parse_segment
from replayfmt.errors import ReplayFormatError
from replayfmt.trace import trace_active_session, trace_mv2, trace_record, trace_segment

SEGMENTS = segment_files()
ACTIVES = active_files()


def _codec_error(parse, data):
    try:
        parse(data)
    except ReplayFormatError as err:
        return err
    return None


def _key(err):
    return None if err is None else (err.kind, err.offset, err.path, err.expected, err.actual)


def _check_partition(trace):
    """Leaves tile [0, size) without gaps or overlaps."""
    pos = 0
    for span in trace.leaves:
        assert span.offset == pos, (span, pos)
        pos = span.end
    assert pos == trace.size


@pytest.mark.parametrize("path", SEGMENTS, ids=ids(SEGMENTS))
def test_segment_trace_is_complete_and_agrees(path):
    data = path.read_bytes()
    seg = parse_segment(data)
    t = trace_segment(data)
    assert t.error is None and t.end == len(data)
    _check_partition(t)
    assert t.find("total_size").value == seg.total_size
    for i, s in enumerate(seg.sessions):
        assert t.find(f"sessions[{i}].session_id", "uuid").value == s.session_id
        for j, a in enumerate(s.actions):
            span = t.find(f"sessions[{i}].actions[{j}].input_preview", "string")
            assert span.value == a.input_preview
            assert data[span.offset + 8:span.end].decode() == a.input_preview
            assert t.find(f"sessions[{i}].actions[{j}].sequence").value == a.sequence


_MALFORMED = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "malformed")
                    .glob("*.bin"))


@pytest.mark.parametrize("path", SEGMENTS[:4] + _MALFORMED, ids=ids(SEGMENTS[:4] + _MALFORMED))
def test_a_segment_traced_in_place_is_the_segment_traced_alone(path):
    """`trace_segment(data, None, start, stop)` traces data[start:stop] where it lies (a
    `.mv2`'s live segment, not copied out): the spans, problems and end of the segment traced
    alone, moved by `start`; bytes around it are not read."""
    seg = path.read_bytes()
    data = b"\xff" * 37 + seg + b"MV2RPLY!" * 3
    alone = trace_segment(seg)
    there = trace_segment(data, None, 37, 37 + len(seg))
    assert [(s.path, s.offset, s.size, s.kind, s.complete, s.value) for s in there.fields] == \
        [(s.path, s.offset + 37, s.size, s.kind, s.complete, s.value) for s in alone.fields]
    assert [_key(e)[:1] + (e.offset - 37,) + _key(e)[2:] for e in there.problems] == \
        [_key(e) for e in alone.problems]
    assert (there.end, there.size, there.value) == (alone.end + 37, alone.size + 37,
                                                   alone.value)


@pytest.mark.parametrize("path", ACTIVES, ids=ids(ACTIVES))
def test_active_trace_is_complete(path):
    data = path.read_bytes()
    act = parse_active_session(data)
    t = trace_active_session(data)
    assert t.error is None and t.end == len(data)
    _check_partition(t)
    assert t.find("next_checkpoint_id").value == act.next_checkpoint_id
    assert t.find("config.auto_record").kind == "bool"
    assert t.value["session"]["name"] == act.session.name


@pytest.mark.parametrize("path", SEGMENTS[:6] + ACTIVES[:3], ids=ids(SEGMENTS[:6] + ACTIVES[:3]))
def test_errors_equal_codec_on_truncation_and_corruption(path):
    data = path.read_bytes()
    is_seg = data[:8] == b"MV2RPLY!"
    parse, trace = (parse_segment, trace_segment) if is_seg else (
        parse_active_session, trace_active_session)
    rng = random.Random(path.name)
    cases = [data[:i] for i in range(len(data))]
    for _ in range(400):
        m = bytearray(data)
        m[rng.randrange(len(m))] = rng.randrange(256)
        cases.append(bytes(m))
    cases.append(data + b"\0\0\0")
    errors = 0
    for case in cases:
        expected = _codec_error(parse, case)
        t = trace(case)
        assert _key(t.error) == _key(expected), len(case)
        _check_partition(t)
        if expected is not None:
            errors += 1
            # Everything before the stop is explained by complete leaves.
            assert all(s.end <= t.end for s in t.leaves if s.kind not in ("unparsed", "trailing"))
    assert errors > len(data)  # every truncation is an error, and many corruptions


def test_stop_keeps_prior_fields():
    data = SEGMENTS[0].read_bytes()
    t0 = trace_segment(data)
    span = t0.find("sessions[0].actions[1].input_preview", "string")
    assert span.size > 9
    # A cut segment stops at the session's length prefix (it claims more than is left).
    outer = trace_segment(data[:span.offset + 3])
    assert (outer.error.kind, outer.error.offset, outer.error.path) == (
        "length_overflow", 24, "sessions[0]")
    assert outer.end == 24 and outer.fields[-1].kind == "unparsed"
    # Bad UTF-8 inside a preview stops at that string and keeps everything before it.
    bad = bytearray(data)
    bad[span.offset + 9] = 0xFF
    t = trace_segment(bytes(bad))
    assert (t.error.kind, t.error.offset, t.error.path) == (
        "invalid_utf8", span.offset + 9, "sessions[0].actions[1].input_preview")
    assert t.end == span.offset + 8
    assert t.find("sessions[0].actions[0]").complete
    assert not t.find("sessions[0].actions[1]").complete
    assert t.find("sessions[0].actions[1].sequence").value == 1
    assert t.fields[-1].kind == "unparsed" and t.fields[-1].end == len(data)


def test_trace_record_and_at():
    data = SEGMENTS[0].read_bytes()
    (length,) = __import__("struct").unpack_from("<Q", data, 24)
    t = trace_record("ReplaySession", data, 32, 32 + length, "sessions[0]")
    assert t.error is None
    assert t.at(32 + 8).path == "sessions[0].session_id"
    assert t.at(0) is None


# --- the whole .mv2 container -------------------------------------------------------------

def _mv2_cases():
    import gzip

    out = [(f"{p.parent.name}", p.read_bytes()) for p in mv2_files()]
    sdk = Path(__file__).resolve().parent.parent / "fixtures" / "sdk"
    for d in sorted(sdk.iterdir()):
        if (d / "mem.mv2.gz").is_file():
            out.append((f"sdk-{d.name}", gzip.decompress((d / "mem.mv2.gz").read_bytes())))
    return out


MV2_CASES = _mv2_cases()


@pytest.mark.parametrize("data", [d for _, d in MV2_CASES], ids=[n for n, _ in MV2_CASES])
def test_mv2_trace_names_every_byte_once(data):
    from replayfmt.mv2 import read_layout, read_toc

    trace = trace_mv2(data)
    assert trace.ok and trace.problems == [] and trace.end == len(data)
    _check_partition(trace)
    layout = read_layout(data)
    toc = read_toc(data, layout)
    assert trace.value["toc_layout"] == toc.layout
    span = trace.find("toc", "struct")
    assert (span.offset, span.end) == (layout.footer_offset, layout.footer_pos)
    assert [(s.path, s.offset, s.size) for s in trace.fields if s.path.startswith("toc.")] == \
        [(s.path, s.offset, s.size) for s in toc.trace().fields if s.path.startswith("toc.")]
    footer = trace.find("footer")
    assert (footer.offset, footer.end) == (layout.footer_pos, len(data))
    header = trace.find("header")
    assert header.value["footer_offset"] == layout.footer_offset
    reserved = trace.find("header.reserved")
    assert (reserved.kind, reserved.end) == ("range", 4096)
    wal = trace.find("wal")
    assert (wal.offset, wal.size) == (header.value["wal_offset"], header.value["wal_size"])
    for i, frame in enumerate(toc.frames):
        name = f"frame#{frame.id}.payload"
        if frame.payload_length:
            s = trace.find(name)
            assert (s.kind, s.offset, s.size) == ("range", frame.payload_offset,
                                                  frame.payload_length), name
            assert s.value == {"frame_id": frame.id, "toc": f"toc.frames[{i}]"}
        else:
            assert trace.find(name) is None
    m = toc.replay_manifest
    seg = trace.find("replay_segment")
    if m is None:
        assert seg is None
    else:
        assert (seg.kind, seg.offset, seg.size) == ("segment", m["segment_offset"],
                                                    m["segment_size"])
        alone = trace_segment(data[seg.offset:seg.end])
        inside = [s for s in trace.fields if seg.offset <= s.offset < seg.end
                  and s.path != "replay_segment"]
        assert [(s.path, s.offset - seg.offset, s.size, s.kind) for s in inside] == \
            [(s.path, s.offset, s.size, s.kind) for s in alone.fields if s.path]
    # nothing named twice, nothing overlapping in genuine files
    assert not any(isinstance(s.value, dict) and s.value.get("overlaps") for s in trace.leaves)
    assert len(trace.fields) < 10_000
    # the WAL as memvid scans it: records from its first byte, each entry hashing to its
    # record's checksum, then the free rest
    records = [s for s in trace.fields if re.fullmatch(r"wal\.records\[\d+\]", s.path)]
    assert wal.value["records"] == len(records)
    at = wal.offset
    for i, rec in enumerate(records):
        entry = trace.find(f"wal.records[{i}].entry")
        checksum = trace.find(f"wal.records[{i}].checksum")
        assert rec.offset == at and entry.end == rec.end
        assert blake3.blake3(data[entry.offset:entry.end]).digest() == checksum.value
        assert entry.value == {"sequence": trace.find(f"wal.records[{i}].sequence").value}
        at = rec.end
    free = trace.find("wal.free")
    assert (free.offset, free.end) == (at, wal.end) if at < wal.end else free is None


def _flips(data, n=25, seed=9):
    rng = random.Random(seed)
    for _ in range(n):
        b = bytearray(data)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        yield bytes(b)
    for cut in (0, 3, 50, 4096, len(data) // 2, len(data) - 57, len(data) - 1):
        yield data[:cut]


def test_damaged_mv2_trace_is_lenient_and_never_crashes():
    from replayfmt.mv2 import read_layout
    from replayfmt.toc import decode_toc

    data = dict(MV2_CASES)["p10_two_cycles"]
    layout = read_layout(data)
    b = bytearray(data)
    b[layout.footer_offset + 100:layout.footer_offset + 108] = b"\xff" * 8
    trace = trace_mv2(bytes(b))
    _check_partition(trace)
    with pytest.raises(ReplayFormatError) as exc:
        decode_toc(bytes(b), layout.footer_offset, layout.footer_pos)
    err = trace.error
    assert err.path.startswith("toc.") and trace.end == err.offset
    assert (err.offset, err.path) == (exc.value.offset, exc.value.path)
    assert trace.value is None
    assert trace.find("header.wal_size").value == 65536
    assert trace.find("footer.toc_len").value == layout.toc_len  # the footer is intact
    rest = trace.find("data")
    assert (rest.kind, rest.offset, rest.end) == ("unparsed", 4096 + 65536, layout.footer_offset)
    tail = trace.find("toc", "unparsed")
    assert (tail.offset, tail.end) == (err.offset, layout.footer_pos)
    # footer gone: the header is named, the rest raw, the footer's error
    b = bytearray(data)
    b[-56:-48] = b"XXXXXXXX"
    trace = trace_mv2(bytes(b))
    _check_partition(trace)
    assert trace.error.path == "footer.magic" and trace.find("header.toc_checksum")
    assert trace.leaves[-1].kind == "unparsed" and trace.leaves[-1].offset == 4096
    for damaged in _flips(data):
        trace = trace_mv2(damaged)
        if damaged:
            _check_partition(trace)
        assert trace.ok == (trace.error is None)


def test_mv2_put_bytes_are_in_the_wal_record_its_frame_id_names():
    """The CLI stores most documents with a 0-byte payload (their text is the frame's
    search_text in the TOC); the bytes that were put sit in the WAL record whose sequence the
    Put action records as frame_id. Shown where the preview is the whole input (its BLAKE3 is
    the action's input_hash)."""
    from replayfmt.mv2 import live_segment

    proven = 0
    for path in mv2_files():
        data = path.read_bytes()
        live = live_segment(data)
        if live is None:
            continue
        trace = trace_mv2(data)
        entries = {s.value["sequence"]: s for s in trace.fields
                   if re.fullmatch(r"wal\.records\[\d+\]\.entry", s.path)}
        for session in live.segment.sessions:
            for a in session.actions:
                if type(a.action_type).__name__ != "Put":
                    continue
                whole = a.input_preview.encode()
                if not whole or blake3.blake3(whole).digest() != a.input_hash:
                    continue
                entry = entries[a.action_type.frame_id]
                assert whole in data[entry.offset:entry.end], (path.parent.name, a.sequence)
                proven += 1
    assert proven >= 20
