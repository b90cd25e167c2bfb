"""The real memvid CLI is the judge: it reads what we write, and we print what it prints.

These run the binary installed by scripts/install-memvid.sh; when it is missing they fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid

import pytest
from conftest import GOLDEN, load_json, real_cases
from hypothesis import HealthCheck, given, settings

import replayfmt as R
from replayfmt import mv2
from replayfmt import strategies as S
from replayfmt.peer import MemvidCLI

pytestmark = pytest.mark.memvid


@pytest.fixture(scope="module")
def memvid():
    with MemvidCLI() as cli:
        yield cli


def _dump(*args: str) -> bytes:
    proc = subprocess.run([sys.executable, "-m", "replayfmt.cli", "dump", *args],
                          capture_output=True, check=True)
    return proc.stdout


def _end_with_our_envelope(memvid, tmp_path, active: R.ActiveSession):
    """Write our sidecar next to a fresh .mv2, let memvid end it, return (file, live session)."""
    path = tmp_path / "mem.mv2"
    memvid.create(path)
    (tmp_path / "mem.mv2.session").write_bytes(R.build_active_session(active))
    memvid.session_end(path)
    assert not (tmp_path / "mem.mv2.session").exists()
    live = mv2.live_segment(path.read_bytes())
    assert live is not None, "memvid wrote no segment the TOC points at"
    assert len(live.segment.sessions) == 1
    return path, live.segment.sessions[0]


@pytest.mark.parametrize("case", real_cases(), ids=lambda p: p.name)
def test_cli_view_of_real_files_equals_our_dump(memvid, tmp_path, case):
    meta = load_json(case / "case.json")
    sessions = meta["expected"]["current_sessions"]
    if not sessions:
        pytest.fail("case has no current session") if meta["toc_manifest"]["present"] else None
        return
    work = tmp_path / "mem.mv2"
    shutil.copyfile(case / "mem.mv2", work)
    for s in sessions:
        theirs = memvid.session_view_json(work, s["session_id"])
        assert _dump(str(work), "--format", "memvid-json", "--session", s["session_id"]) == theirs


def test_memvid_accepts_our_envelope_with_every_variant(memvid, tmp_path):
    active = R.parse_active_session((GOLDEN / "envelope_all_variants.bin").read_bytes())
    path, ended = _end_with_our_envelope(memvid, tmp_path, active)
    assert ended.ended_secs is not None
    expected = R.ReplaySession(**{**{f: getattr(active.session, f) for f in (
        "session_id", "name", "created_secs", "checkpoints", "actions", "metadata", "version")},
        "ended_secs": ended.ended_secs})
    assert ended == expected
    # memvid prints what we print for the session it stored. Byte for byte except the order of
    # metadata keys: serde_json walks the HashMap, whose order is random per process.
    sid = str(active.session.session_id)
    ours, theirs = _dump(str(path), "--session", sid), memvid.session_view_json(path, sid)
    assert json.loads(ours) == json.loads(theirs)
    assert len(ours) == len(theirs)
    # Stored bytes keep whatever order memvid wrote, and we rebuild them exactly.
    live = mv2.live_segment(path.read_bytes())
    raw = path.read_bytes()[live.offset:live.offset + live.size]
    assert R.build_segment(R.parse_segment(raw).sessions) == raw
    listing = json.loads(memvid.session_list_json(path))
    assert [x["session_id"] for x in listing] == [sid]
    assert listing[0]["action_count"] == len(active.session.actions)
    assert listing[0]["checkpoint_count"] == len(active.session.checkpoints)


def test_memvid_accepts_our_fresh_envelope_and_records_into_it(memvid, tmp_path):
    """memvid keeps recording into a sidecar we wrote: its actions follow ours."""
    sid = uuid.UUID("00000000-0000-4000-8000-000000000001")
    active = R.ActiveSession(R.ReplaySession(sid, "ours", 1_795_629_225, None, [], [
        R.ReplayAction(0, 1_795_629_225, R.Put(2), affected_frames=[2])], {"by": "replayfmt"}, 1))
    path = tmp_path / "mem.mv2"
    memvid.create(path)
    (tmp_path / "mem.mv2.session").write_bytes(R.build_active_session(active))
    memvid.put(path, "hello from the peer\n")
    mid = R.parse_active_session((tmp_path / "mem.mv2.session").read_bytes())
    assert mid.session.actions[0] == active.session.actions[0]
    assert [a.sequence for a in mid.session.actions] == [0, 1]
    assert isinstance(mid.session.actions[1].action_type, R.Put)
    assert mid.session.metadata == {"by": "replayfmt"}
    memvid.session_end(path)
    live = mv2.live_segment(path.read_bytes())
    assert live.segment.sessions[0].actions[:2] == mid.session.actions
    # One metadata key: no ordering freedom, so the text is byte-identical.
    assert _dump(str(path), "--session", str(sid)) == memvid.session_view_json(path, str(sid))


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(active=S.active_sessions(realistic=True, max_actions=12))
def test_memvid_accepts_generated_envelopes(memvid, tmp_path_factory, active):
    tmp = tmp_path_factory.mktemp("gen")
    _, ended = _end_with_our_envelope(memvid, tmp, active)
    assert ended.session_id == active.session.session_id
    assert ended.actions == active.session.actions
    assert ended.checkpoints == active.session.checkpoints
    assert ended.name == active.session.name


def test_fresh_cli_session_dump_is_byte_identical(memvid, tmp_path):
    path = tmp_path / "mem.mv2"
    memvid.create(path)
    sid = memvid.session_start(path, "interop ü 🙂\ttab")
    memvid.put(path, "alpha beta gamma\n" * 50)
    memvid.find(path, "alpha", mode="lex")
    memvid.find(path, "nothing-matches-this", mode="lex")
    sidecar = R.parse_active_session((tmp_path / "mem.mv2.session").read_bytes())
    assert str(sidecar.session.session_id) == sid
    assert R.build_active_session(sidecar) == (tmp_path / "mem.mv2.session").read_bytes()
    memvid.session_end(path)
    theirs = memvid.session_view_json(path, sid)
    assert _dump(str(path), "--format", "memvid-json", "--session", sid) == theirs
    session = R.from_memvid_json(json.loads(theirs))
    assert session.actions == sidecar.session.actions
    live = mv2.live_segment(path.read_bytes())
    raw = path.read_bytes()[live.offset:live.offset + live.size]
    assert R.build_segment(R.parse_segment(raw).sessions) == raw


def test_large_session_with_control_characters_and_a_long_name(memvid, tmp_path):
    """Every code point below U+0250 (controls included) in a 70 KB name, 3,000 actions."""
    name = "".join(chr(c) for c in range(0x250)) * 120
    kinds = [lambda i: R.Put(i), lambda i: R.Find(f"q{i} \x01\x1f\x7f é", "Tantivy", 1),
             lambda i: R.Ask("a\u2028b\u2029", "nvidia:日本", "nvidia:日本")]
    actions = [R.ReplayAction(i, 1_795_629_225 + i, kinds[i % 3](i), input_preview=(
        "x\x00\x1b\"\\" * 120)[:512], affected_frames=[i]) for i in range(3000)]
    active = R.ActiveSession(R.ReplaySession(uuid.uuid4(), name, 1_795_629_225, None, [],
                                             actions, {}, 1))
    path, ended = _end_with_our_envelope(memvid, tmp_path, active)
    assert ended.name == name and ended.actions == actions
    sid = str(active.session.session_id)
    assert _dump(str(path), "--session", sid) == memvid.session_view_json(path, sid)


def test_a_magic_quoted_inside_the_live_segment_does_not_send_validate_to_carve(
        memvid, tmp_path, monkeypatch):
    """`MV2RPLY!` and `MV2ACTIV` inside the live segment's strings cannot start a stale
    segment (carve skips candidates inside an accepted block): validate searches for other
    segments only outside it, so a clean file is not carved (before: every quoted magic sent
    the whole file through carve)."""
    import importlib

    import blake3

    import replayfmt.forensics as F

    quote = "MV2RPLY! MV2ACTIV"
    queries = [f"{quote} {i}" for i in range(3)]
    actions = [R.ReplayAction(i, 1_795_629_225 + i, R.Find(q, "Tantivy", 0), input_preview=q,
                              input_hash=blake3.blake3(q.encode()).digest())
               for i, q in enumerate(queries)]
    active = R.ActiveSession(R.ReplaySession(uuid.uuid4(), quote, 1_795_629_225, None, [],
                                             actions, {}, 1))
    path, _ = _end_with_our_envelope(memvid, tmp_path, active)
    assert path.read_bytes().count(b"MV2RPLY!") >= 1 + 1 + 2 * 3  # the live one + quotes

    def no_carve(*args: object, **kwargs: object) -> None:
        raise AssertionError("carve ran")

    monkeypatch.setattr(F, "carve", no_carve)
    report = importlib.import_module("replayfmt.validate").validate(path.read_bytes())
    assert [str(d) for d in report.diagnostics] == []
