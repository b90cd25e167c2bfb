"""Lazy and streaming reading: iter_sessions over mmap, scan_segment summaries, info --headers.

The multi-gigabyte flat-memory demonstration is benchmarks/bigfile.py (docs/benchmarks.md)."""

from __future__ import annotations

import random
from pathlib import Path

import gen
import pytest
from conftest import REAL

from replayfmt import codec, stream
from replayfmt.errors import ErrorKind as K
from replayfmt.errors import ReplayFormatError


def test_iter_sessions_yields_every_session_of_a_segment(tmp_path):
    rng = random.Random(1)
    sessions = [gen.session(rng) for _ in range(5)]
    path = tmp_path / "seg.bin"
    path.write_bytes(codec.build_segment(sessions))
    assert list(stream.iter_sessions(path)) == sessions


def test_iter_sessions_on_sidecars_and_mv2_files():
    active = REAL / "p12_sidecar_moments" / "active-2.bin"
    assert list(stream.iter_sessions(active)) == [
        codec.parse_active_session(active.read_bytes()).session]
    for case in ("p01_basic_put_find", "p10_two_cycles", "p16_doctor_vacuum"):
        mv2 = REAL / case / "mem.mv2"
        live = [s for s in (REAL / case).glob("segment-*.bin")]
        got = list(stream.iter_sessions(mv2))
        assert len(got) == 1
        assert any(codec.parse_segment(p.read_bytes()).sessions == got for p in live)
    assert list(stream.iter_sessions(REAL / "p15_abandoned_active" / "mem.mv2")) == []


def test_iter_sessions_yields_the_good_sessions_before_an_error(tmp_path):
    rng = random.Random(2)
    sessions = [gen.session(rng, 3) for _ in range(3)]
    data = codec.build_segment(sessions) + b"junk"
    path = tmp_path / "seg.bin"
    path.write_bytes(data)
    got = []
    with pytest.raises(ReplayFormatError) as info:
        for s in stream.iter_sessions(path):
            got.append(s)
    assert got == sessions
    with pytest.raises(ReplayFormatError) as whole:
        codec.parse_segment(data)
    assert (info.value.kind, info.value.offset) == (whole.value.kind, whole.value.offset)


def test_scan_summaries_match_the_decoded_sessions():
    rng = random.Random(3)
    sessions = [gen.session(rng) for _ in range(6)]
    data = codec.build_segment(sessions)
    for depth in ("full", "outline", "head"):
        scan = stream.scan_segment(data, depth=depth)
        assert scan.total_actions == sum(len(s.actions) for s in sessions)
        for summary, s in zip(scan.sessions, sessions, strict=False):
            assert (summary.session_id, summary.name, summary.created_secs,
                    summary.ended_secs, summary.checkpoint_count, summary.action_count) == (
                s.session_id, s.name, s.created_secs, s.ended_secs, len(s.checkpoints),
                len(s.actions))
            assert codec.parse_session(
                data[summary.offset:summary.offset + summary.length]) == s
            if depth != "head":
                counts: dict = {}
                for a in s.actions:
                    counts[a.action_type.DISPLAY] = counts.get(a.action_type.DISPLAY, 0) + 1
                assert summary.actions_by_type == counts
                assert summary.metadata == s.metadata and summary.version == s.version
            else:
                assert summary.actions_by_type is None


def test_scan_depths_check_what_they_promise():
    rng = random.Random(4)
    s = gen.session(rng, 4)
    s.actions[3].input_preview = "abc"
    data = bytearray(codec.build_segment([s]))
    data[data.rindex(b"abc")] = 0xFF
    with pytest.raises(ReplayFormatError) as full:
        stream.scan_segment(bytes(data), depth="full")
    assert full.value.kind == K.INVALID_UTF8 and full.value.path.startswith("sessions[0]")
    stream.scan_segment(bytes(data), depth="outline")  # strings are not decoded
    stream.scan_segment(bytes(data), depth="head")  # actions are not read
    with pytest.raises(ReplayFormatError) as cut:  # the containers are always checked
        stream.scan_segment(bytes(data[:-3]), depth="head")
    assert cut.value.kind in (K.LENGTH_OVERFLOW, K.SIZE_MISMATCH, K.TRUNCATED)


def test_info_headers_lists_without_reading_actions(tmp_path):
    import json
    import subprocess
    import sys

    rng = random.Random(5)
    s = gen.session(rng, 6)
    s.actions[5].input_preview = "abc"
    data = bytearray(codec.build_segment([s]))
    data[data.rindex(b"abc")] = 0xFF
    path = tmp_path / "seg.bin"
    path.write_bytes(bytes(data))
    run = [sys.executable, "-m", "replayfmt.cli", "info", "--json", str(path)]
    assert subprocess.run(run, capture_output=True).returncode == 1  # default: every byte
    listing = subprocess.run(run + ["--headers"], capture_output=True)
    assert listing.returncode == 0
    summary = json.loads(listing.stdout)["sessions"][0]
    assert summary["action_count"] == 6 and "actions_by_type" not in summary


def test_chunked_memvid_json_is_byte_identical_to_the_whole_render(monkeypatch):
    from replayfmt.memvid_json import dumps_memvid

    monkeypatch.setattr(stream, "_CHUNK", 3)  # several chunks even for small sessions
    rng = random.Random(6)
    for n in (0, 1, 2, 3, 4, 7, 20):
        s = gen.session(rng, n)
        data = codec.build_segment([s])
        start = 24 + 8
        text = b"".join(stream.session_memvid_json(data, start, len(data))) + b"\n"
        assert text == dumps_memvid(s)


def test_chunked_memvid_json_errors_are_those_of_the_full_decoder():
    from replayfmt import _generated as G

    rng = random.Random(7)
    s = gen.session(rng, 9)
    data = codec.build_session(s)
    for cut in range(0, len(data), 7):
        for bad in (data[:cut], data[:cut] + b"\xff" + data[cut + 1:]):
            try:
                G.json_ReplaySession(bad, 0, len(bad))
                expected = None
            except ReplayFormatError as err:
                expected = (err.kind, err.offset, err.path)
            try:
                stream.session_memvid_json(bad, 0, len(bad))
                got = None
            except ReplayFormatError as err:
                got = (err.kind, err.offset, err.path)
            if expected is None and got is not None:
                assert got[0] == K.TRAILING_BYTES  # json_ alone does not check the end
            else:
                assert got == expected


def _imported_after(call: str, path: Path, modules: tuple[str, ...]) -> bytes:
    """Which of `modules` a fresh interpreter has imported after `call` (Python, with the
    file's path as sys.argv[1]): the line it prints."""
    import subprocess
    import sys

    code = (f"import sys\nfrom replayfmt import cli\n{call}\n"
            f"print(sorted(m for m in {modules!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(path)],
                         capture_output=True, check=True).stdout
    return out.strip().splitlines()[-1]


@pytest.mark.parametrize("rel", ["p17_mixed_medium/segment-0.bin",
                                 "p17_mixed_medium/mem.mv2"])  # a TOC: the generated codec
def test_reading_commands_do_not_import_the_model_layer_or_construct(rel: str) -> None:
    """info and dump start fast: no attrs, no model, no Construct or schema (benchmarks
    depend on it)."""
    assert _imported_after("cli.main(['info', '--headers', sys.argv[1]])", REAL / rel,
                           ("attrs", "construct", "replayfmt.model", "replayfmt.memvid_json",
                            "replayfmt.schema")) == b"[]"


@pytest.mark.parametrize("rel", ["p09_auto_checkpoint_3/segment-0.bin",
                                 "p17_mixed_medium/segment-0.bin",
                                 "p09_auto_checkpoint_3/mem.mv2",
                                 "p17_mixed_medium/mem.mv2"])
def test_validate_of_a_clean_segment_imports_no_model_trace_or_construct(rel: str) -> None:
    """On the compiled path a clean segment is vetted in C: validate imports neither attrs,
    the model layer, trace, forensics nor Construct (the pure path decodes into the model)."""
    import os

    loaded = _imported_after("assert cli.main(['validate', sys.argv[1]]) == 0", REAL / rel,
                             ("attrs", "construct", "replayfmt.model", "replayfmt.trace",
                              "replayfmt.forensics", "replayfmt.schema"))
    if os.environ.get("REPLAYFMT_PURE", "") not in ("", "0"):
        assert b"'replayfmt.forensics'" in loaded and b"'replayfmt.model'" in loaded
    else:
        assert loaded == b"[]"
