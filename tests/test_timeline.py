"""The forensic timeline: every real file's events counted from the parsed model, the same rows
through jsonl, csv, timesketch and parquet (read back with DuckDB), time order, the command,
bounded memory (spilled runs), and Dask on a two-process LocalCluster equal to the local run."""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter

import orjson
import pytest
from _real import active_files, cases, ids, mv2_files, real_dir, segment_files

from replayfmt import build_segment, dumps_memvid, parse_active_session, parse_segment
from replayfmt import timeline as T
from replayfmt.cli import main
from replayfmt.model import (
    Ask,
    Checkpoint,
    CheckpointAction,
    Find,
    PutMany,
    ReplayAction,
    ReplaySession,
    StateSnapshot,
    ToolCall,
)

ALL = segment_files() + active_files() + mv2_files()


def _events(sessions) -> int:
    """Session events + actions + checkpoints, from the parsed model."""
    return sum(1 + (s.ended_secs is not None) + len(s.actions) + len(s.checkpoints)
               for s in sessions)


def _expected_sessions(path):
    """The sessions a file holds, from the strict parsers: a segment file's, a sidecar's, and
    for a mem.mv2 every distinct session of the segments carved from it beside it in the
    corpus (case.json lists them, live and stale)."""
    data = path.read_bytes()
    if path.name.startswith("segment-"):
        return parse_segment(data).sessions
    if path.name.startswith("active-"):
        return [parse_active_session(data).session]
    case = json.loads((path.parent / "case.json").read_text())
    distinct = {}
    for seg in case["segments"]:
        for s in parse_segment((path.parent / seg["file"]).read_bytes()).sessions:
            distinct.setdefault((s.session_id, dumps_memvid(s)), s)
    return list(distinct.values())


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_every_real_file_gives_one_row_per_event(path):
    rows = T.file_rows(path)
    sessions = _expected_sessions(path)
    assert len(rows) == _events(sessions)
    by_event = Counter(r["event"] for r in rows)
    assert by_event["action"] == sum(len(s.actions) for s in sessions)
    assert by_event["checkpoint"] == sum(len(s.checkpoints) for s in sessions)
    assert by_event["session_created"] == len(sessions)
    assert by_event["session_ended"] == sum(s.ended_secs is not None for s in sessions)
    # every action is there once, with its own fields
    want = Counter((str(s.session_id), a.sequence, a.action_type.DISPLAY, a.input_hash.hex(),
                    a.input_preview) for s in sessions for a in s.actions)
    got = Counter((r["session_id"], r["sequence"], r["action_type"], r["input_hash"],
                   r["input_preview"]) for r in rows if r["event"] == "action")
    assert got == want
    # time order, equal times in the file's own order
    keys = [(r["time"], r["event_index"]) for r in rows]
    assert keys == sorted(keys)
    assert sorted(r["event_index"] for r in rows) == list(range(len(rows)))
    for r in rows:
        assert set(r) == set(T.COLUMNS)
        assert r["datetime"].endswith("+00:00")


@pytest.mark.parametrize("case", cases(), ids=[c.name for c in cases()])
def test_mv2_origin_matches_the_toc(case):
    """live rows are exactly the sessions of the segment case.json marks current; every other
    session is stale or recovered."""
    meta = json.loads((case / "case.json").read_text())
    rows = T.file_rows(case / "mem.mv2")
    current = [s for s in meta["segments"] if s["is_current"]]
    live_ids = set()
    for seg in current:
        live_ids |= {str(s.session_id)
                     for s in parse_segment((case / seg["file"]).read_bytes()).sessions}
    assert {r["session_id"] for r in rows if r["origin"] == "live"} == live_ids
    assert {r["origin"] for r in rows} <= {"live", "stale", "recovered"}
    for r in rows:
        assert r["file_kind"] == "mv2" and r["block_kind"] == "segment"
        if r["origin"] == "live":
            assert (r["block_offset"], True) in {(s["offset"], s["is_current"])
                                                 for s in meta["segments"]}


def test_fields_of_each_action_type_and_checkpoint(tmp_path):
    sid = uuid.UUID("00000000-0000-4000-8000-000000000001")
    snap = StateSnapshot(frame_count=2, frame_ids=[5, 6], lex_index_hash=b"\x01" * 32,
                         wal_sequence=9, generation=3)
    acts = [
        ReplayAction(0, 100, Find("q1", "hybrid", 2), input_hash=b"\xab" * 32,
                     affected_frames=[5, 6], duration_ms=7),
        ReplayAction(1, 101, Ask("why", "openai", "gpt-x")),
        ReplayAction(2, 101, PutMany([5, 6], 2)),
        ReplayAction(3, 102, ToolCall("grep", b"\xcd" * 32)),
        ReplayAction(4, 102, CheckpointAction(0)),
    ]
    s = ReplaySession(sid, "n", 99, 103, [Checkpoint(0, 3, 102, b"\xee" * 32, snap)], acts)
    path = tmp_path / "seg.bin"
    path.write_bytes(build_segment([s]))
    rows = T.file_rows(path)
    assert [r["event"] for r in rows] == ["session_created", "action", "action", "action",
                                          "action", "action", "checkpoint", "session_ended"]
    find, ask, many, tool, cpa, cp = rows[1:7]
    assert (find["query"], find["mode"], find["result_count"], find["affected_frames"],
            find["input_hash"], find["duration_ms"]) == ("q1", "hybrid", 2, [5, 6], "ab" * 32, 7)
    assert (ask["query"], ask["provider"], ask["model"]) == ("why", "openai", "gpt-x")
    assert (many["frame_ids"], many["count"]) == ([5, 6], 2)
    assert (tool["tool_name"], tool["args_hash"]) == ("grep", "cd" * 32)
    assert cpa["checkpoint_id"] == 0 and cpa["action_type"] == "CHECKPOINT"
    assert (cp["checkpoint_id"], cp["sequence"], cp["state_hash"], cp["frame_ids"],
            cp["frame_count"], cp["lex_index_hash"], cp["vec_index_hash"], cp["wal_sequence"],
            cp["generation"]) == (0, 3, "ee" * 32, [5, 6], 2, "01" * 32, None, 9, 3)
    assert rows[0]["datetime"] == "1970-01-01T00:01:39+00:00"
    assert all(r["origin"] == "segment" and r["session_name"] == "n" for r in rows)
    assert all(r["frame_uris"] is None and r["frame_titles"] is None for r in rows)


def test_out_of_range_time_keeps_the_row(tmp_path):
    s = ReplaySession(uuid.uuid4(), None, -(2**63), None, [],
                      [ReplayAction(0, 2**62, Find("x", "m", 0))])
    path = tmp_path / "seg.bin"
    path.write_bytes(build_segment([s]))
    rows = T.file_rows(path)
    assert [r["time"] for r in rows] == [-(2**63), 2**62]
    assert [r["datetime"] for r in rows] == [None, None]
    ts = T.timesketch_row(rows[0])
    assert ts["datetime"] is None and ts["timestamp"] is None


# --- many files and the four formats ---------------------------------------------------------

def _reference():
    return list(T.iter_timeline([str(real_dir())], recursive=True))


def test_many_files_merge_in_time_order_and_spill(tmp_path):
    rows = _reference()
    files = [p for p in T.iter_inputs([str(real_dir())], True)]
    order = {f: i for i, f in enumerate(files)}
    keys = [(r["time"], order[r["file"]], r["event_index"]) for r in rows]
    assert keys == sorted(keys)
    assert len(rows) == sum(len(T.file_rows(f)) for f in files)
    spilled = list(T.iter_timeline([str(real_dir())], recursive=True, buffer_rows=7))
    assert spilled == rows
    two = list(T.iter_timeline([str(real_dir())], recursive=True, jobs=2))
    assert two == rows


def _csv_value(kind, text):
    if text is None:
        return None
    if kind in ("int", "u64"):
        return int(text)
    if kind == "list":
        return [int(v) for v in text.split()]
    if kind == "strlist":
        return text.split(" ")
    return text


def test_the_same_rows_in_every_format(tmp_path):
    import duckdb  # the timeline extra (scripts/setup.sh installs it)

    rows = _reference()
    assert rows
    src = str(real_dir())
    outs = {}
    for fmt in T.FORMATS:
        out = tmp_path / f"t.{fmt}"
        assert main(["timeline", src, "-r", "--format", fmt, "-o", str(out)]) == 0
        outs[fmt] = out
    # jsonl
    got = [orjson.loads(line) for line in outs["jsonl"].read_bytes().splitlines()]
    assert got == rows
    # timesketch: its mandatory fields, then every column as an attribute
    ts = [orjson.loads(line) for line in outs["timesketch"].read_bytes().splitlines()]
    assert len(ts) == len(rows)
    for t, r in zip(ts, rows, strict=True):
        assert list(t)[:4] == ["message", "datetime", "timestamp", "timestamp_desc"]
        assert t["message"] and t["timestamp_desc"]
        assert t["datetime"] == r["datetime"] and t["timestamp"] == r["time"] * 1_000_000
        assert {k: v for k, v in t.items() if k in T.COLUMNS} == r
    # csv, read by DuckDB: unquoted empty is null, "" is the empty string
    con = duckdb.connect()
    rel = con.execute("SELECT * FROM read_csv(?, header=true, all_varchar=true, "
                      "allow_quoted_nulls=false)", [str(outs["csv"])])
    assert [d[0] for d in rel.description] == list(T.COLUMNS)
    got = [{name: _csv_value(kind, v) for (name, kind), v in zip(T.COLUMN_TYPES, tup, strict=True)}
           for tup in rel.fetchall()]
    assert got == rows
    # parquet, read by DuckDB
    rel = con.execute("SELECT * FROM read_parquet(?)", [str(outs["parquet"])])
    assert [d[0] for d in rel.description] == list(T.COLUMNS)
    got = [dict(zip(T.COLUMNS, tup, strict=True)) for tup in rel.fetchall()]
    assert got == rows
    types = {row[0]: row[1] for row in con.execute(
        "DESCRIBE SELECT * FROM read_parquet(?)", [str(outs["parquet"])]).fetchall()}
    assert (types["time"], types["block_offset"], types["affected_frames"],
            types["session_name"]) == ("BIGINT", "UBIGINT", "UBIGINT[]", "VARCHAR")
    # a None name and an empty name stay distinct everywhere
    assert {r["session_name"] for r in rows} >= {None, ""}


def test_command_errors_and_evidence(tmp_path, capsys):
    seg = real_dir() / "p01_basic_put_find" / "segment-0.bin"
    out = tmp_path / "t.jsonl"
    assert main(["timeline", str(seg), "-o", str(out)]) == 0
    first = out.read_bytes()
    assert main(["timeline", str(seg), "-o", str(out)]) == 2  # exists
    assert "exists" in capsys.readouterr().err
    assert main(["timeline", str(seg), "-o", str(out), "--force"]) == 0
    assert out.read_bytes() == first
    copy = tmp_path / "seg.bin"
    shutil.copy(seg, copy)
    assert main(["timeline", str(copy), "-o", str(copy), "--force"]) == 2  # an input
    assert copy.read_bytes() == seg.read_bytes()
    assert main(["timeline", str(seg), str(tmp_path / "missing"), "-o",
                 str(tmp_path / "m.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "missing" in err
    assert len((tmp_path / "m.jsonl").read_bytes().splitlines()) == len(T.file_rows(seg))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    # format from the extension
    assert main(["timeline", str(seg), "-o", str(tmp_path / "x.csv")]) == 0
    assert (tmp_path / "x.csv").read_bytes().startswith(b"file,file_kind,")


# --- Dask ------------------------------------------------------------------------------------

def _fleet(tmp_path, n: int):
    """n files made by copying and varying the real fixtures: segments and sidecars copied,
    and segments rebuilt with fresh session ids and shifted times."""
    import random

    rng = random.Random(7)
    sources = segment_files() + active_files() + mv2_files()
    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        dst = tmp_path / f"f{i:05d}-{src.parent.name}-{src.name}"
        if src.name.startswith("segment-") and i % 3 == 0:
            seg = parse_segment(src.read_bytes())
            for s in seg.sessions:
                s.session_id = uuid.UUID(int=rng.getrandbits(128))
                shift = rng.randrange(-86400, 86400)
                s.created_secs += shift
                if s.ended_secs is not None:
                    s.ended_secs += shift
                for a in s.actions:
                    a.timestamp_secs += shift
                for c in s.checkpoints:
                    c.timestamp_secs += shift
            dst.write_bytes(build_segment(seg.sessions))
        else:
            shutil.copy(src, dst)
        out.append(str(dst))
    return out


def _local_cluster():
    import distributed  # the fleet extra (scripts/setup.sh installs it)

    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None, silence_logs=40)
    return cluster, distributed.Client(cluster)


def test_dask_local_cluster_gives_the_local_rows(tmp_path):
    files = _fleet(tmp_path, 60)
    local = list(T.iter_timeline(files))
    order = {f: i for i, f in enumerate(files)}
    cluster, client = _local_cluster()
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        bag_rows = T.dask_bag(files, npartitions=6).compute()
        df = T.to_dask_dataframe(files, npartitions=6).compute()
    finally:
        client.close()
        cluster.close()
    key = lambda r: (r["time"], order[r["file"]], r["event_index"])  # noqa: E731
    assert sorted(bag_rows, key=key) == local
    records = [{k: (int(v) if k == "time" else v) for k, v in r.items()}
               for r in df.to_dict("records")]
    assert list(df.columns) == list(T.COLUMNS)
    assert sorted(records, key=key) == local
    assert len(local) == sum(len(T.file_rows(f)) for f in files)


def test_the_command_offers_the_library_formats():
    from replayfmt.cli import timeline as command

    assert command.FORMATS == T.FORMATS


def test_docs_name_every_column():
    from _real import ROOT

    text = (ROOT / "docs" / "timeline.md").read_text()
    missing = [c for c in T.COLUMNS if f"`{c}`" not in text]
    assert not missing, f"docs/timeline.md does not describe {missing}"


def test_progress_bar_and_interrupt_leave_no_partial_output(tmp_path, capsys, monkeypatch):
    src = str(real_dir())
    out = tmp_path / "t.jsonl"
    assert main(["timeline", src, "-r", "--progress", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "files/s" in err and "\x1b[K" in err  # drawn, then erased
    real = T.file_rows
    calls = []

    def interrupted(path):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(path)

    monkeypatch.setattr(T, "file_rows", interrupted)
    target = tmp_path / "never.parquet"
    assert main(["timeline", src, "-r", "-o", str(target)]) == 130
    assert len(calls) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.jsonl"]


def test_checkpoint_records_follow_their_action(tmp_path):
    """With its Checkpoint action: right after it. Without one: after the action at its
    at_sequence, else last before the end."""
    sid = uuid.uuid4()
    snap = StateSnapshot()
    acts = [ReplayAction(i, 10, Find(f"q{i}", "m", 0)) for i in range(4)]
    acts.insert(2, ReplayAction(9, 10, CheckpointAction(5)))
    cps = [Checkpoint(7, 99, 10, bytes(32), snap), Checkpoint(5, 1, 10, bytes(32), snap),
           Checkpoint(6, 3, 10, bytes(32), snap)]
    s = ReplaySession(sid, None, 10, 10, cps, acts)
    path = tmp_path / "seg.bin"
    path.write_bytes(build_segment([s]))
    got = [(r["event"], r["sequence"], r["checkpoint_id"]) for r in T.file_rows(path)]
    assert got == [("session_created", None, None), ("action", 0, None), ("action", 1, None),
                   ("action", 9, 5), ("checkpoint", 1, 5), ("action", 2, None),
                   ("action", 3, None), ("checkpoint", 3, 6), ("checkpoint", 99, 7),
                   ("session_ended", None, None)]
