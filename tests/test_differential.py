"""The generated fast path against the Construct reference (replayfmt.oracle).

On generated, real, truncated and corrupted inputs both must give the same value, or the same
error: same kind, same absolute offset, same field path. Every generated parser mode (model,
json, skip, summary, walk) must also agree with the model parser on what it checks.
"""

from __future__ import annotations

import random

import gen
import pytest
from conftest import REAL

from replayfmt import _generated as G
from replayfmt import _generated_model as GM
from replayfmt import codec, oracle
from replayfmt.errors import ErrorKind as K
from replayfmt.errors import ReplayFormatError
from replayfmt.memvid_json import to_memvid_json


def outcome(fn, data):
    try:
        return ("ok", fn(data))
    except ReplayFormatError as err:
        return ("error", err.kind, err.offset, err.path)


PAIRS = {
    "segment": (codec.parse_segment, oracle.parse_segment),
    "session": (codec.parse_session, oracle.parse_session),
    "active": (codec.parse_active_session, oracle.parse_active_session),
}


def same(kind, data):
    fast, ref = PAIRS[kind]
    a, b = outcome(fast, data), outcome(ref, data)
    assert a == b, f"{kind} {len(data)} bytes: fast {a[:4]!r} != reference {b[:4]!r}"
    return a


def mutations(data: bytes, rng: random.Random, n: int):
    """Truncations, byte flips, and length/count/tag fields set to hostile values."""
    size = len(data)
    for _ in range(n):
        how = rng.randrange(5)
        buf = bytearray(data)
        pos = rng.randrange(size) if size else 0
        if how == 0:
            yield bytes(data[:rng.randrange(size + 1)])
            continue
        if not size:
            continue
        if how == 1:
            buf[pos] ^= 1 << rng.randrange(8)
        elif how == 2:
            buf[pos] = rng.choice([0, 1, 2, 7, 8, 0x80, 0xC3, 0xFF])
        elif how == 3:  # a u64 little-endian field (length, count) set to something large
            buf[pos:pos + 8] = rng.choice([2**62, 2**64 - 1, 17, size, 2**31]).to_bytes(8,
                                                                                    "little")
            del buf[size:]
        else:
            buf.insert(pos, rng.randrange(256))
        yield bytes(buf)


def test_generated_values_and_errors_agree():
    rng = random.Random(5)
    for _round in range(60):
        sessions = [gen.session(rng) for _ in range(rng.randint(0, 3))]
        data = codec.build_segment(sessions)
        assert same("segment", data) == ("ok", codec.parse_segment(data))
        for bad in mutations(data, rng, 40):
            same("segment", bad)
        one = codec.build_session(gen.session(rng))
        same("session", one)
        for bad in mutations(one, rng, 40):
            same("session", bad)
        env = codec.build_active_session(gen.active(rng))
        same("active", env)
        for bad in mutations(env, rng, 40):
            same("active", bad)


def test_every_truncation_agrees():
    rng = random.Random(9)
    data = codec.build_segment([gen.session(rng, 9), gen.session(rng, 3)])
    kinds = set()
    for cut in range(len(data)):
        result = same("segment", data[:cut])
        assert result[0] == "error"
        kinds.add(result[1])
    assert {K.TRUNCATED, K.LENGTH_OVERFLOW, K.COUNT_MISMATCH} <= kinds


def test_error_paths_and_offsets_are_precise():
    rng = random.Random(3)
    s = gen.session(rng, 4)
    s.actions[2].input_preview = "abc"
    data = bytearray(codec.build_session(s))
    needle = data.index(b"abc")
    data[needle + 1] = 0xFF  # invalid UTF-8 in actions[2].input_preview
    result = same("session", bytes(data))
    assert result == ("error", K.INVALID_UTF8, needle + 1, "actions[2].input_preview")


@pytest.mark.skipif(not REAL.is_dir(), reason="real fixtures not available")
def test_real_fixtures_and_their_corruptions_agree():
    rng = random.Random(11)
    for path in sorted(REAL.glob("*/segment-*.bin")):
        data = path.read_bytes()
        assert same("segment", data)[0] == "ok"
        for bad in mutations(data, rng, 25):
            same("segment", bad)
    for path in sorted(REAL.glob("*/active-*.bin")):
        data = path.read_bytes()
        assert same("active", data)[0] == "ok"
        for bad in mutations(data, rng, 25):
            same("active", bad)


def test_pure_construct_segment_parse_gives_the_same_values():
    rng = random.Random(4)
    data = codec.build_segment([gen.session(rng, 10), gen.session(rng, 2)])
    parsed = oracle.schema.Segment.parse(data)
    sessions = [oracle.to_model(oracle.schema.ReplaySession, s) for s in parsed.sessions]
    assert sessions == codec.parse_segment(data).sessions


def _mode(fn, b):
    try:
        return ("ok", fn(b, 0, len(b)))
    except ReplayFormatError as err:
        return ("error", err.kind, err.offset, err.path)


def test_all_generated_parser_modes_raise_the_same_errors():
    """json, summary and outline check exactly what the model parser checks (outline does not
    decode strings inside the record lists, so it accepts invalid UTF-8 there)."""
    rng = random.Random(21)
    for _ in range(40):
        data = codec.build_session(gen.session(rng))
        for bad in [data, *mutations(data, rng, 30)]:
            model = _mode(GM.parse_ReplaySession, bad)
            json = _mode(G.json_ReplaySession, bad)
            summary = _mode(G.summary_ReplaySession, bad)
            outline = _mode(G.outline_ReplaySession, bad)
            if model[0] == "ok":
                value, end = model[1]
                assert json[1] == (to_memvid_json(value), end)
                assert summary[1][1] == outline[1][1] == end
                assert summary[1][0]["actions"] == outline[1][0]["actions"] == len(value.actions)
            else:
                assert json == summary == model
                if model[1] != K.INVALID_UTF8:
                    assert outline == model
