"""replayfmt itself never crashes: a value or ReplayFormatError for any input, work linear in
the input (counted in executed lines, not seconds), memory bounded under an address-space
limit even when every declared length is a bomb."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, corpus_files
from hypothesis import given, settings
from hypothesis import strategies as st

import replayfmt.strategies as S
from replayfmt import (
    ActiveSession,
    ReplayAction,
    ReplayFormatError,
    ReplaySession,
    build_active_session,
    build_segment,
    parse_active_session,
    parse_segment,
    parse_session,
)
from replayfmt.fuzz import field_map
from replayfmt.model import Put, PutMany


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_random_bytes(data):
    for parse in (parse_segment, parse_active_session, parse_session):
        try:
            parse(data)
        except ReplayFormatError:
            pass


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_behind_magic(tail):
    for head, parse in ((b"MV2RPLY!\x01\x00\x00\x00", parse_segment),
                        (b"MV2ACTIV", parse_active_session)):
        try:
            parse(head + tail)
        except ReplayFormatError:
            pass


@settings(max_examples=200)
@given(S.malformed_segment_bytes(), S.malformed_active_session_bytes())
def test_malformed_gives_our_error(seg, env):
    for (data, _, _), parse in ((seg, parse_segment), (env, parse_active_session)):
        with pytest.raises(ReplayFormatError):
            parse(data)


# --- linear work -----------------------------------------------------------------------------

def _lines_executed(fn, data) -> int:
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        try:
            fn(data)
        except ReplayFormatError:
            pass
    finally:
        sys.settrace(None)
    return count


def _segment(n_actions: int, frames: int = 1) -> bytes:
    acts = [ReplayAction(i, i, Put(i), input_preview="x" * 20, affected_frames=[i] * frames)
            for i in range(n_actions)]
    return build_segment([ReplaySession(__import__("uuid").UUID(int=1), "n", 0, 1, [], acts)])


@pytest.mark.parametrize("make", [
    lambda n: _segment(n),
    lambda n: _segment(1, frames=n * 8),
    lambda n: build_segment([ReplaySession(__import__("uuid").UUID(int=1),
                                           metadata={str(i): "" for i in range(n)})]),
    lambda n: build_active_session(ActiveSession(ReplaySession(
        __import__("uuid").UUID(int=2), actions=[ReplayAction(
            0, 0, PutMany(list(range(n * 8)), 0))]))),
    # damaged: a long valid prefix, then garbage at the very end
    lambda n: _segment(n)[:-3] + b"\xff\xff\xff",
], ids=["actions", "frames", "metadata", "putmany", "damaged-tail"])
def test_work_is_linear(make):
    small, big = make(200), make(800)
    parse = parse_active_session if small[:8] == b"MV2ACTIV" else parse_segment
    a, b = _lines_executed(parse, small), _lines_executed(parse, big)
    ratio = (b / a) / (len(big) / len(small))
    assert ratio < 1.5, (a, b, len(small), len(big))


# --- bounded memory --------------------------------------------------------------------------

_CHILD = textwrap.dedent("""
    import resource, sys
    from replayfmt import parse_segment, parse_active_session, ReplayFormatError
    inputs = [open(p, 'rb').read() for p in sys.argv[2:]]
    soft = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
    results = []
    for data in inputs:
        parse = parse_active_session if data[:8] == b'MV2ACTIV' else parse_segment
        try:
            parse(data)
            results.append('ok')
        except ReplayFormatError as e:
            results.append(e.kind)
    print(' '.join(results))
""")


def _vm_size() -> int:
    """Address space a fresh interpreter with replayfmt imported already uses."""
    out = subprocess.run(
        [sys.executable, "-c", "import replayfmt, resource;"
         "print(open('/proc/self/status').read().split('VmSize:')[1].split()[0])"],
        capture_output=True, text=True, check=True)
    return int(out.stdout) * 1024


def test_length_bombs_under_an_address_space_limit(tmp_path):
    """Every length/count of every corpus file set to 2^62, 2^64-1, 2^32: parsed with
    128 MiB of headroom over the interpreter's own footprint, the parser must answer with
    our error, not MemoryError."""
    paths = []
    for src in corpus_files("segment")[:10] + corpus_files("active")[:6]:
        data = src.read_bytes()
        for f in field_map(data):
            if f.kind not in ("len", "count", "block_len"):
                continue
            for bomb in (2**62, 2**64 - 1, 2**32):
                b = bytearray(data)
                b[f.offset:f.offset + 8] = struct.pack("<Q", bomb)
                p = tmp_path / f"{len(paths)}.bin"
                p.write_bytes(b)
                paths.append(str(p))
    assert len(paths) > 300
    limit = _vm_size() + 128 * 2**20
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(limit), *paths],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    kinds = proc.stdout.split()
    assert len(kinds) == len(paths)
    assert set(kinds) <= {"length_overflow", "size_mismatch", "trailing_bytes"}


def test_memory_is_a_small_multiple_of_the_input(tmp_path):
    """A valid 8 MB segment parses within 8x its size of extra address space."""
    rng = random.Random(0)
    acts = [ReplayAction(i, i, Put(i), input_preview="p" * rng.randrange(400, 512),
                         affected_frames=[i]) for i in range(12_000)]
    data = build_segment([ReplaySession(__import__("uuid").UUID(int=3), actions=acts)])
    assert len(data) > 6_000_000
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    limit = _vm_size() + 2 * len(data) + 8 * len(data)  # the bytes read, plus 8x for objects
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(limit), str(p)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["ok"]


@settings(max_examples=100)
@given(S.malformed_segment_bytes(max_sessions=2) | S.malformed_active_session_bytes())
def test_bytes_like_inputs_behave_like_bytes(case):
    data, kind, offset = case
    parse = parse_active_session if data[:8] == b"MV2ACTIV" else parse_segment
    for view in (data, bytearray(data), memoryview(data)):
        with pytest.raises(ReplayFormatError) as info:
            parse(view)
        assert (info.value.kind, info.value.offset) == (kind, offset)
