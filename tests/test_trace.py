"""trace: spans cover every decoded byte, values equal the codec's, errors equal the codec's."""

from __future__ import annotations

import random

import pytest
from _real import active_files, ids, segment_files

from replayfmt.codec import parse_active_session, parse_segment
from replayfmt.errors import ReplayFormatError
from replayfmt.trace import trace_active_session, trace_record, trace_segment

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
