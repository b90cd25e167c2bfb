"""Writes fixtures/golden/: synthetic segments and envelopes the memvid CLI cannot produce.

Run once when the format changes: `python scripts/make_golden.py`. Each NAME.bin gets NAME.json
beside it: the expected value in memvid's serde JSON (`replayfmt.to_memvid_json`); tests parse
every .bin and compare with the .json, and build the .json back to the .bin byte for byte.
Values are fixed (no clocks, no random UUIDs), so the output is identical on every run.

The byte layout is pinned independently of the codec: the tests also decode these files with
the Construct reference (`schema.Segment`), and a few hand-checked offsets are asserted there.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import replayfmt as R  # noqa: E402
from replayfmt import model as M  # noqa: E402
from replayfmt.memvid_json import dumps  # noqa: E402

OUT = ROOT / "fixtures" / "golden"
T0 = 1_795_629_225
H = bytes(range(32))
H2 = bytes(range(100, 132))


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=(0x0123456789ABCDEF << 64) | n)


def act(seq, at, *, ts=None, inp=M.ZERO_HASH, out=M.ZERO_HASH, ip="", op="", frames=(), ms=0):
    return M.ReplayAction(seq, T0 + seq if ts is None else ts, at, inp, out, ip, op,
                          list(frames), ms)


def snapshot(n, lex=None, vec=H2):
    return M.StateSnapshot(frame_count=n, frame_ids=list(range(n)), lex_index_hash=lex,
                           vec_index_hash=vec, wal_sequence=2 * n, generation=n)


def checkpoint(i, at, snap):
    return M.Checkpoint(i, at, T0 + at, R.snapshot_state_hash(snap), snap)


def all_variants_session() -> M.ReplaySession:
    snap0 = snapshot(1)
    snap1 = snapshot(300, lex=H, vec=None)  # 300 > 250: varint markers in the state hash
    actions = [
        act(0, M.Put(2), inp=H, ip="hello world\n", frames=[2]),
        act(1, M.PutMany([4, 6, 8], 3), inp=H2, ip="batch of three", frames=[4, 6, 8], ms=17),
        act(2, M.Find("apple", "Tantivy", 2), inp=H, ip="apple", frames=[0, 1]),
        act(3, M.Find("semantic query", "semantic", 0), ip="semantic query"),
        act(4, M.Ask("what is 日本?", "nvidia:日本/モデル", "nvidia:日本/モデル"), inp=H, out=H2,
            ip="what is 日本?", op="Japan, 🇯🇵.", frames=[0], ms=1234),
        act(5, M.CheckpointAction(0)),
        act(6, M.Update(2), inp=H2, ip="updated text", frames=[2]),
        act(7, M.Delete(4), frames=[4]),
        act(8, M.ToolCall("search_web", H), inp=H, out=H2, ip='{"q": "x"}', op="[]", ms=5),
        act(9, M.CheckpointAction(1)),
    ]
    return M.ReplaySession(
        session_id=uid(1), name="all variants", created_secs=T0, ended_secs=T0 + 20,
        checkpoints=[checkpoint(0, 4, snap0), checkpoint(1, 8, snap1)], actions=actions,
        # Insertion order is the wire order: deliberately not sorted.
        metadata={"zeta": "last-first", "agent": "replayfmt-golden", "ünïcode": "välue",
                  "": "empty key"},
        version=1)


def extremes_session() -> M.ReplaySession:
    big = M.U64_MAX
    long_text = "ü字🙂" * 700  # 2,100 chars, 6,300 bytes: longer than any CLI preview
    actions = [
        act(0, M.Put(big), ts=M.I64_MIN, inp=M.OVERSIZE_HASH, out=M.OVERSIZE_HASH,
            ip="", op="", frames=[0, big, 2**63], ms=big),
        act(big, M.Find("", "", big), ts=M.I64_MAX, ip=long_text, op="\x00\x01\x7f\r\n\t"),
        act(2**63, M.PutMany([], 0), ts=-1),
        act(2**32, M.ToolCall("", M.OVERSIZE_HASH), ts=0, ip="\u2028\u2029\ufeff"),
    ]
    snap = M.StateSnapshot(big, [big, 0], M.OVERSIZE_HASH, M.ZERO_HASH, big, big)
    return M.ReplaySession(
        session_id=uuid.UUID(int=2**128 - 1), name=long_text, created_secs=M.I64_MIN,
        ended_secs=M.I64_MAX, checkpoints=[M.Checkpoint(big, big, M.I64_MIN,
                                                        R.snapshot_state_hash(snap), snap)],
        actions=actions, metadata={"k" * 300: "v" * 3000}, version=M.U32_MAX)


def seed_sessions() -> list[M.ReplaySession]:
    """Mirrors the Rust module's own segment round-trip test: two sessions in one segment."""
    s1 = M.ReplaySession(uid(11), "Session 1", T0, T0 + 1, [], [act(0, M.Put(1))], {}, 1)
    s2 = M.ReplaySession(uid(12), "Session 2", T0, T0 + 1, [],
                         [act(0, M.Find("test", "lexical", 5))], {}, 1)
    return [s1, s2]


def name_variants() -> list[M.ReplaySession]:
    """None, Some(""), Some(text): three sessions in one segment, ended and still open."""
    return [
        M.ReplaySession(uid(21), None, T0, None, [], [], {}, 1),
        M.ReplaySession(uid(22), "", T0, T0, [], [act(0, M.Put(0), ts=T0)], {}, 1),
        M.ReplaySession(uid(23), "tab\there\nnew line 🙂", T0, T0 + 5, [], [], {"a": ""}, 1),
    ]


def golden_cases():
    yield "segment_all_variants", R.build_segment([all_variants_session()])
    yield "segment_extremes", R.build_segment([extremes_session()])
    yield "segment_seed_two_sessions", R.build_segment(seed_sessions())
    yield "segment_name_variants", R.build_segment(name_variants())
    yield "segment_empty", R.build_segment([])
    yield "segment_multi_mixed", R.build_segment(
        [all_variants_session(), extremes_session(), *name_variants()])
    yield "envelope_fresh", R.build_active_session(M.ActiveSession(
        M.ReplaySession(uid(31), "fresh", T0, None, [], [], {}, 1), 0, 0, M.ReplayConfig()))
    live = all_variants_session()
    live.ended_secs = None
    yield "envelope_all_variants", R.build_active_session(M.ActiveSession(
        live, 2, 1, M.ReplayConfig(3, 1000, True)))
    yield "envelope_extremes", R.build_active_session(M.ActiveSession(
        extremes_session(), M.U64_MAX, M.U64_MAX, M.ReplayConfig(M.U64_MAX, M.U64_MAX, False)))


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in golden_cases():
        value = R.parse_segment(data) if data[:8] == b"MV2RPLY!" else R.parse_active_session(data)
        (OUT / f"{name}.bin").write_bytes(data)
        (OUT / f"{name}.json").write_bytes(dumps(R.to_memvid_json(value)))
        print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
