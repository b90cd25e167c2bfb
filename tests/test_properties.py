"""Properties: build->parse identity over generated models, parse->build over every fixture, and
any bytes whatsoever give a value or ReplayFormatError (never another exception)."""

from __future__ import annotations

import random

from conftest import all_binaries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import replayfmt as R
from replayfmt import strategies as S

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SEEDS = [p.read_bytes() for p in all_binaries()]


@SETTINGS
@given(S.segments())
def test_build_then_parse_segment_is_identity(seg):
    assert R.parse_segment(R.build_segment(seg.sessions)) == seg


@SETTINGS
@given(S.active_sessions())
def test_build_then_parse_envelope_is_identity(active):
    assert R.parse_active_session(R.build_active_session(active)) == active


@SETTINGS
@given(S.sessions())
def test_build_then_parse_session_is_identity(session):
    assert R.parse_session(R.build_session(session)) == session


@SETTINGS
@given(S.active_sessions(realistic=True))
def test_memvid_json_round_trip(active):
    assert R.from_memvid_json(R.to_memvid_json(active)) == active
    assert R.from_json(R.to_json(active)) == active


def test_parse_then_build_every_fixture():
    for data in SEEDS:
        if data[:8] == b"MV2RPLY!":
            assert R.build_segment(R.parse_segment(data).sessions) == data
        else:
            assert R.build_active_session(R.parse_active_session(data)) == data


def _only_our_error(data: bytes) -> None:
    for parse in (R.parse_segment, R.parse_active_session, R.parse_session):
        try:
            parse(data)
        except R.ReplayFormatError as err:
            assert 0 <= err.offset <= len(data)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_our_error(data):
    _only_our_error(data)
    _only_our_error(b"MV2RPLY!" + data)
    _only_our_error(b"MV2ACTIV" + data)


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 2**20), st.integers(0, 255)),
                                        min_size=1, max_size=4), st.integers(0, 2**20))
def test_mutated_fixtures_raise_only_our_error(seed, edits, cut):
    data = bytearray(seed)
    for pos, value in edits:
        data[pos % len(data)] = value
    _only_our_error(bytes(data))
    _only_our_error(bytes(data[:cut % (len(data) + 1)]))


def test_every_truncation_of_every_real_fixture_is_rejected():
    for data in SEEDS[:12]:
        parse = R.parse_segment if data[:8] == b"MV2RPLY!" else R.parse_active_session
        for cut in range(len(data)):
            try:
                parse(data[:cut])
            except R.ReplayFormatError as err:
                assert err.offset <= cut
            else:
                raise AssertionError(f"truncation at {cut} was accepted")


def test_length_bombs_cost_nothing():
    """Declared lengths of 2^62 and 2^64-1 at every length field are rejected before use."""
    base = SEEDS[0]
    rng = random.Random(7)
    for _ in range(300):
        pos = rng.randrange(0, len(base) - 8)
        for bomb in (2**62, 2**64 - 1, 2**32):
            data = base[:pos] + bomb.to_bytes(8, "little") + base[pos + 8:]
            _only_our_error(data)
