"""replayfmt.strategies: valid values round-trip, realistic ones keep memvid's invariants,
malformed ones fail exactly where they say."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

import replayfmt.strategies as S
from replayfmt import (
    ActiveSession,
    Find,
    ReplayAction,
    ReplayFormatError,
    ReplaySession,
    Segment,
    build_active_session,
    build_segment,
    parse_active_session,
    parse_segment,
    snapshot_state_hash,
)
from replayfmt.fuzz import MALFORMATIONS


@given(S.segments())
def test_segments_round_trip(seg):
    data = build_segment(seg.sessions)
    assert len(data) == seg.total_size
    assert parse_segment(data) == seg


@given(S.active_sessions())
def test_active_sessions_round_trip(active):
    assert parse_active_session(build_active_session(active)) == active


@given(S.segment_bytes(), S.active_session_bytes())
def test_bytes_are_canonical(seg, env):
    assert build_segment(parse_segment(seg).sessions) == seg
    assert build_active_session(parse_active_session(env)) == env


@given(S.segments(realistic=True, max_actions=8))
def test_realistic_segments_follow_memvid(seg):
    assert seg.session_count == 1
    (s,) = seg.sessions
    assert s.version == 1 and s.metadata == {} and s.ended_secs is not None
    assert [a.sequence for a in s.actions] == list(range(len(s.actions)))
    for a in s.actions:
        assert s.created_secs <= a.timestamp_secs <= s.ended_secs
        assert a.duration_ms == 0
        for text in (a.input_preview, a.output_preview):
            assert len(text) <= 512
            assert all(c in "\n\t" or ord(c) >= 0x20 and not 0x7F <= ord(c) < 0xA0 for c in text)
        if isinstance(a.action_type, Find):
            assert a.action_type.mode == "Tantivy"
    for c in s.checkpoints:
        assert c.state_hash == snapshot_state_hash(c.snapshot)


@given(S.active_sessions(realistic=True))
def test_realistic_active_sessions(active):
    assert active.session.ended_secs is None
    assert active.config.max_actions_per_session is None and not active.config.auto_record


@given(S.sessions(max_actions=2, max_checkpoints=1), st.data())
def test_size_bounds(session, data):
    assert len(session.actions) <= 2 and len(session.checkpoints) <= 1
    seg = data.draw(S.segments(max_sessions=1, max_actions=0))
    assert seg.session_count <= 1 and all(not s.actions for s in seg.sessions)


def _strings(session):
    out = [session.name or ""] + list(session.metadata) + list(session.metadata.values())
    for a in session.actions:
        out += [a.input_preview, a.output_preview]
        out += [v for v in attrs.astuple(a.action_type, recurse=False) if isinstance(v, str)]
    return out


@settings(max_examples=50)
@given(S.segments(max_text=3, max_actions=4), S.segments(realistic=True, max_text=7),
       S.sessions(max_text=0, max_frames=1))
def test_text_and_frame_bounds(seg, real, tiny):
    for s in seg.sessions + real.sessions:
        assert all(len(t) <= 7 for t in _strings(s))  # 7: Find.mode "Tantivy"
    assert all(t == "" for t in _strings(tiny))
    assert all(len(a.affected_frames) <= 1 for a in tiny.actions)


@settings(max_examples=300)
@given(S.malformed_segment_bytes())
def test_malformed_segments_fail_where_they_say(case):
    data, kind, offset = case
    try:
        parse_segment(data)
    except ReplayFormatError as err:
        assert (err.kind, err.offset) == (kind, offset)
    else:
        raise AssertionError("malformed segment parsed")


@settings(max_examples=300)
@given(S.malformed_active_session_bytes(realistic=True))
def test_malformed_envelopes_fail_where_they_say(case):
    data, kind, offset = case
    try:
        parse_active_session(data)
    except ReplayFormatError as err:
        assert (err.kind, err.offset) == (kind, offset)
    else:
        raise AssertionError("malformed envelope parsed")


def test_every_malformation_can_be_asked_for():
    for name in MALFORMATIONS:
        strategy = S.malformed_segment_bytes(how=name, max_sessions=2)

        @settings(max_examples=5)
        @given(strategy)
        def check(case):
            data, kind, offset = case
            try:
                parse_segment(data)
            except ReplayFormatError as err:
                assert (err.kind, err.offset) == (kind, offset), name  # noqa: B023 -- check() runs now
            else:
                raise AssertionError(name)  # noqa: B023

        check()


def test_length_bombs_use_the_boundary_values():
    seen = set()

    @settings(max_examples=200)
    @given(S.malformed_segment_bytes(how="length_bomb"))
    def collect(case):
        data, kind, offset = case
        seen.add(int.from_bytes(data[offset:offset + 8], "little"))

    collect()
    assert {2**62, 2**64 - 1} <= seen


@given(st.from_type(ReplaySession), st.from_type(ReplayAction), st.from_type(ActiveSession),
       st.from_type(Segment))
def test_from_type_is_registered(session, action, active, seg):
    assert isinstance(session, ReplaySession) and isinstance(action, ReplayAction)
    parse_active_session(build_active_session(active))
    parse_segment(build_segment(seg.sessions))
