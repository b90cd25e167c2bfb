"""memvid-sdk (memvid's in-process Python binding, same core as the CLI) as a second real peer.

Read path: sessions the SDK records (put, put_many, find, checkpoint on request) parse, agree
with what the SDK reports (`session_list`, the action types of `session_replay`) and with the
CLI's view, and rebuild byte for byte. Write path: the SDK keeps its active session in memory
and does not read a sidecar, so replayfmt writes the sidecar, the CLI ends it, and the SDK lists
the session and replays it in audit mode: memvid's own semantic check of what we wrote.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import replayfmt as R
from replayfmt import mv2

pytestmark = pytest.mark.memvid_sdk

T0 = 1_796_000_000
DOCS = ["hello world apple banana", "apple pie", "banana split"]


@pytest.fixture(autouse=True)
def _private_env(tmp_path_factory, monkeypatch):
    """The SDK runs in this process: its HOME and TMPDIR are private, telemetry off."""
    root = tmp_path_factory.mktemp("sdk-env")
    (root / "home").mkdir()
    (root / "tmp").mkdir()
    monkeypatch.setenv("HOME", str(root / "home"))
    monkeypatch.setenv("TMPDIR", str(root / "tmp"))
    monkeypatch.setenv("MEMVID_TELEMETRY", "0")
    yield
    assert not any((root / "tmp").iterdir()), "memvid-sdk left files in its TMPDIR"


@pytest.fixture(scope="module")
def sdk():
    import memvid_sdk
    return memvid_sdk


def _summary(s: R.ReplaySession) -> dict:
    """A session as memvid-sdk's session_list reports it (an unnamed session, None on the
    wire, is listed with the name "")."""
    return {"session_id": str(s.session_id), "name": "" if s.name is None else s.name,
            "action_count": len(s.actions),
            "checkpoint_count": len(s.checkpoints), "created_secs": s.created_secs,
            "ended_secs": s.ended_secs}


def _live(path: Path) -> tuple[bytes, R.Segment]:
    data = path.read_bytes()
    live = mv2.live_segment(data)
    assert live is not None, "no live replay segment"
    raw = data[live.offset:live.offset + live.size]
    return raw, R.parse_segment(raw)


def _replayed_types(mem, sid: str) -> list[str]:
    res = mem.session_replay(sid, audit=True)
    return [json.loads(a["action_type"]) for a in res["action_results"]]  # '"PUT"' -> 'PUT'


# --- read path: what the SDK writes ------------------------------------------------------------

def test_sdk_sessions_parse_match_its_listing_and_rebuild(sdk, tmp_path):
    path = tmp_path / "sdk.mv2"
    mem = sdk.use("basic", str(path), mode="create")
    first = mem.session_start("sdk ü session")
    mem.put(title="t0", label="doc", text=DOCS[0])
    mem.put_many([{"title": f"t{i}", "label": "doc", "text": t} for i, t in enumerate(DOCS[1:])])
    found = mem.find("apple", k=5)
    assert mem.session_checkpoint() is not None
    mem.session_end()
    second = mem.session_start()
    mem.find("banana", k=5)
    mem.session_end()
    listing = mem.session_list()
    mem.close()

    raw, seg = _live(path)
    assert R.build_segment(seg.sessions) == raw
    assert [_summary(s) for s in seg.sessions] == listing
    assert [s["session_id"] for s in listing] == [first, second]
    one, two = seg.sessions
    assert one.name == "sdk ü session" and two.name is None
    # put_many is recorded as one Put per document.
    kinds = [a.action_type.DISPLAY for a in one.actions]
    assert kinds == ["PUT", "PUT", "PUT", "FIND", "CHECKPOINT"]
    find = one.actions[3].action_type
    assert (find.query, find.result_count) == ("apple", len(found["hits"]))
    assert one.actions[3].affected_frames == [h["frame_id"] for h in found["hits"]]
    assert one.checkpoints[0].state_hash == R.snapshot_state_hash(one.checkpoints[0].snapshot)
    assert [a.action_type.DISPLAY for a in two.actions] == ["FIND"]

    mem = sdk.use("basic", str(path), mode="open")
    try:
        assert mem.session_list() == listing
        assert _replayed_types(mem, first) == kinds
    finally:
        mem.close()


@pytest.mark.memvid
def test_cli_prints_what_we_print_for_sdk_sessions(sdk, tmp_path):
    from replayfmt.peer import MemvidCLI
    path = tmp_path / "sdk.mv2"
    mem = sdk.use("basic", str(path), mode="create")
    sid = mem.session_start("viewed")
    for i, text in enumerate(DOCS):
        mem.put(title=f"t{i}", label="doc", text=text)
    mem.find("banana", k=3)
    mem.session_end()
    mem.close()
    ours = subprocess.run([sys.executable, "-m", "replayfmt.cli", "dump", str(path),
                           "--format", "memvid-json", "--session", sid],
                          capture_output=True, check=True).stdout
    with MemvidCLI() as cli:
        assert ours == cli.session_view_json(path, sid)


# --- write path: sessions we write, replayed by the SDK ------------------------------------------

def _base(sdk, path: Path) -> list[int]:
    """A .mv2 written by the SDK holding DOCS (no session); returns their frame ids."""
    mem = sdk.use("basic", str(path), mode="create")
    try:
        return [int(mem.put(title=f"t{i}", label="doc", text=t)) for i, t in enumerate(DOCS)]
    finally:
        mem.close()


def _hits(sdk, path: Path, query: str) -> list[int]:
    mem = sdk.use("basic", str(path), mode="open")
    try:
        return [h["frame_id"] for h in mem.find(query, k=10)["hits"]]
    finally:
        mem.close()


def _end_ours(path: Path, actions: list[R.ReplayAction], checkpoints=(), name="ours") -> str:
    """Our sidecar next to `path`, ended by the memvid CLI; returns the session id."""
    from replayfmt.peer import MemvidCLI
    sid = uuid.uuid4()
    session = R.ReplaySession(sid, name, T0, None, list(checkpoints), actions, {}, 1)
    sidecar = path.with_name(path.name + ".session")
    sidecar.write_bytes(R.build_active_session(R.ActiveSession(session)))
    with MemvidCLI() as cli:
        cli.session_end(path)
    assert not sidecar.exists()
    return str(sid)


def _act(seq: int, action_type, frames=(), preview: str = "") -> R.ReplayAction:
    return R.ReplayAction(seq, T0 + seq, action_type, input_preview=preview,
                          affected_frames=list(frames))


def _sessions_we_write(frames: list[int], hits: dict[str, list[int]]):
    """One session per action type we write, three actions each, consistent with the file."""
    queries = list(hits)
    snap = R.StateSnapshot(len(frames), frames, None, None, 0, 0)
    state = R.snapshot_state_hash(snap)
    return {
        "Put": ([_act(i, R.Put(f), [f], DOCS[i]) for i, f in enumerate(frames)], []),
        "PutMany": ([_act(i, R.PutMany(frames[:i + 1], i + 1), frames[:i + 1]) for i in range(3)],
                    []),
        "Find": ([_act(i, R.Find(q, "Tantivy", len(hits[q])), hits[q], q)
                  for i, q in enumerate(queries)], []),
        "Ask": ([_act(i, R.Ask(f"what about {q}?", "none", "none"), hits[q], q)
                 for i, q in enumerate(queries)], []),
        "Update": ([_act(i, R.Update(f), [f]) for i, f in enumerate(frames)], []),
        "Delete": ([_act(i, R.Delete(f), [f]) for i, f in enumerate((1000, 1001, 1002))], []),
        "Checkpoint": ([_act(i, R.CheckpointAction(i)) for i in range(3)],
                       [R.Checkpoint(i, i, T0 + i, state, snap) for i in range(3)]),
        "ToolCall": ([_act(i, R.ToolCall(f"tool{i}", bytes([i]) * 32)) for i in range(3)], []),
    }


#: What memvid-sdk 2.0.160's audit replay reports for three actions of each type we write:
#: (matched, mismatched, skipped). A Delete matches when its frame is gone; tool calls are
#: never re-run, so they are skipped.
EXPECTED_REPLAY = {
    "Put": (3, 0, 0), "PutMany": (3, 0, 0), "Find": (3, 0, 0), "Ask": (3, 0, 0),
    "Update": (3, 0, 0), "Delete": (3, 0, 0), "Checkpoint": (3, 0, 0), "ToolCall": (0, 0, 3),
}


@pytest.fixture(scope="module")
def replayed(sdk, tmp_path_factory):
    """Each session of `_sessions_we_write` in its own copy of one SDK-written file, ended by
    the CLI, then listed and replayed by the SDK. (One file each: a second `memvid session end`
    of a sidecar we wrote into the same file left only the newer session in the segment.)"""
    work = tmp_path_factory.mktemp("sdk-write")
    env = pytest.MonkeyPatch()
    for key, sub in (("HOME", "home"), ("TMPDIR", "tmp")):
        (work / sub).mkdir()
        env.setenv(key, str(work / sub))
    env.setenv("MEMVID_TELEMETRY", "0")
    try:
        base = work / "base.mv2"
        frames = _base(sdk, base)
        hits = {q: _hits(sdk, base, q) for q in ("apple", "banana", "hello")}
        written = _sessions_we_write(frames, hits)
        out = {}
        for kind, (acts, cps) in written.items():
            path = work / f"{kind}.mv2"
            shutil.copyfile(base, path)
            sid = _end_ours(path, acts, cps, name=kind)
            mem = sdk.use("basic", str(path), mode="open")
            try:
                out[kind] = (path, sid, mem.session_list(), mem.session_replay(sid, audit=True))
            finally:
                mem.close()
        yield written, out
    finally:
        env.undo()


@pytest.mark.memvid
@pytest.mark.parametrize("kind", list(EXPECTED_REPLAY))
def test_sdk_replays_what_we_wrote(replayed, kind):
    written, out = replayed
    actions, checkpoints = written[kind]
    path, sid, listing, res = out[kind]
    assert [(s["session_id"], s["name"], s["action_count"], s["checkpoint_count"])
            for s in listing] == [(sid, kind, len(actions), len(checkpoints))]
    assert res["audit_mode"] is True and res["total_actions"] == len(actions)
    got = (res["matched_actions"], res["mismatched_actions"], res["skipped_actions"])
    assert got == EXPECTED_REPLAY[kind], res["action_results"]
    want_types = [a.action_type.DISPLAY for a in actions]
    assert [json.loads(a["action_type"]) for a in res["action_results"]] == want_types
    matched = EXPECTED_REPLAY[kind][0]
    assert res["match_rate"] == pytest.approx(100.0 * matched / len(actions))
    print(f"memvid-sdk audit replay of our {kind} session: {res['match_rate']:.1f}% matched "
          f"({matched}/{len(actions)}, {res['skipped_actions']} skipped)")
    # What memvid stored is what we wrote, and it rebuilds byte for byte.
    raw, seg = _live(path)
    assert R.build_segment(seg.sessions) == raw
    assert [_summary(s) for s in seg.sessions] == listing
    assert seg.sessions[0].actions == actions and seg.sessions[0].checkpoints == checkpoints


def _replay_one(sdk, tmp_path: Path, make) -> dict:
    path = tmp_path / "one.mv2"
    frames = _base(sdk, path)
    hits = _hits(sdk, path, "apple")
    sid = _end_ours(path, [make(frames, hits)])
    mem = sdk.use("basic", str(path), mode="open")
    try:
        return mem.session_replay(sid, audit=True)
    finally:
        mem.close()


@pytest.mark.memvid
@pytest.mark.parametrize("make,diff", [
    pytest.param(lambda frames, hits: _act(0, R.Find("apple", "Tantivy", len(hits) + 6), hits,
                                           "apple"),
                 "Result count mismatch", id="find-result-count-the-file-does-not-give"),
    pytest.param(lambda frames, hits: _act(0, R.PutMany([500, 501], 2), [500, 501]),
                 "Expected 2 frames", id="put-many-of-frames-the-file-lacks"),
    pytest.param(lambda frames, hits: _act(0, R.Update(77), [77]),
                 "Frame 77 not found", id="update-of-a-frame-the-file-lacks"),
    pytest.param(lambda frames, hits: _act(0, R.Delete(frames[2]), [frames[2]]),
                 "still exists", id="delete-of-a-frame-the-file-holds"),
])
def test_sdk_replay_reports_what_disagrees_with_the_file(sdk, tmp_path, make, diff):
    res = _replay_one(sdk, tmp_path, make)
    assert (res["matched_actions"], res["mismatched_actions"]) == (0, 1), res
    assert res["match_rate"] == 0.0 and res["success"] is False
    assert diff in res["action_results"][0]["diff"]


@pytest.mark.memvid
def test_sdk_replay_does_not_check_a_finds_frames(sdk, tmp_path):
    """memvid 2.0.160 compares a Find's result_count only: wrong affected_frames still match.
    (Pinned so that a release which starts checking them is noticed.)"""
    res = _replay_one(sdk, tmp_path, lambda frames, hits: _act(
        0, R.Find("apple", "Tantivy", len(hits)), [999] * len(hits), "apple"))
    assert (res["matched_actions"], res["mismatched_actions"]) == (1, 0), res
