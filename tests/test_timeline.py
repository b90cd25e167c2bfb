"""The forensic timeline: every real file's events counted from the parsed model, the same rows
through jsonl, csv, timesketch and parquet (read back with DuckDB), time order, the command,
bounded memory (spilled runs), and Dask on a two-process LocalCluster equal to the local run."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import uuid
from collections import Counter
from pathlib import Path

import orjson
import pytest
from _real import ROOT, active_files, cases, ids, mv2_files, real_dir, segment_files

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
        return json.loads(text)
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
    """n files varied from the real fixtures, made as the fleet benchmark makes them."""
    import importlib.util

    path = ROOT / "benchmarks" / "timeline_fleet.py"
    spec = importlib.util.spec_from_file_location("timeline_fleet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_fleet(tmp_path, n)


def _local_cluster(scratch, monkeypatch):
    import dask
    import distributed  # the fleet extra (scripts/setup.sh installs it)

    # dask's scratch space in the test's own directory, not dask-scratch-space in $TMPDIR
    # (the setting here; the environment for the worker processes)
    monkeypatch.setenv("DASK_TEMPORARY_DIRECTORY", str(scratch))
    monkeypatch.setitem(dask.config.config, "temporary-directory", str(scratch))
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None, silence_logs=40,
                                       local_directory=str(scratch))
    return cluster, distributed.Client(cluster)


def test_dask_local_cluster_gives_the_local_rows(tmp_path, monkeypatch):
    files = _fleet(tmp_path, 60)
    local = list(T.iter_timeline(files))
    order = {f: i for i, f in enumerate(files)}
    cluster, client = _local_cluster(tmp_path / "dask", monkeypatch)
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


# --- frame context: which recorded ids are frame ids, checked against memvid's own output ----

_HIT = re.compile(r"^#(\d+) (\S+) \(matches \d+\)\n  Title: (.*)\n  Relevance:", re.M)
_CITED = re.compile(r"^\[(\d+)\] (\S+) \(frame (\d+), score", re.M)


def _commands(case: Path, verb: str):
    data = json.loads((case / "case.json").read_text())
    for c in data["commands"]:
        argv = c.get("argv") or []
        if argv[1:2] == [verb] and c.get("rc") == 0:
            yield argv, c.get("stdout_head") or ""


def _arg(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None


def _resolved(row):
    return list(zip(row["frame_uris"] or [], row["frame_titles"] or [], strict=True))


def test_find_hits_resolve_to_the_frames_the_cli_listed():
    """Every `find` the CLI printed: its hits (uri and title, in rank order, as memvid
    printed them) are what the recorded Find's affected_frames resolve to."""
    checked, files, unsaved = 0, set(), set()
    for case in cases():
        rows = T.file_rows(case / "mem.mv2")
        for argv, out in _commands(case, "find"):
            hits = [(uri, title) for _, uri, title in _HIT.findall(out)]
            if not hits:
                continue
            query = _arg(argv, "--query")
            finds = [r for r in rows if r["action_type"] == "FIND" and r["query"] == query]
            if not finds:  # a session never saved (its sidecar was abandoned)
                unsaved.add(case.name)
                continue
            assert any(_resolved(r)[:len(hits)] == hits for r in finds), (case.name, argv)
            checked += 1
            files.add(case.name)
    assert unsaved == {"p15_abandoned_active"}
    assert (checked, len(files)) == (58, 14), (checked, files)


def test_ask_citations_name_the_frame_ids_recorded():
    """The CLI's ask prints its citations with their frame id; the recorded Ask's
    affected_frames hold those ids, and they resolve to the cited uris."""
    case = real_dir() / "p20_ask_mock_llm"
    asks = [r for r in T.file_rows(case / "mem.mv2") if r["action_type"] == "ASK"]
    cited = {}
    for argv, out in _commands(case, "ask"):
        cites = _CITED.findall(out)
        if cites:
            cited[_arg(argv, "--question")] = ([int(f) for _, _, f in cites],
                                               [u for _, u, _ in cites])
    assert len(cited) == 2
    for question, (frame_ids, uris) in cited.items():
        (row,) = [r for r in asks if r["query"] == question]
        assert row["affected_frames"] == frame_ids
        assert row["frame_uris"] == uris
    assert [r["frame_titles"] for r in asks] == [["grapes"], ["melons"], ["melons", "grapes"]]


def test_put_frame_id_is_the_wal_sequence_and_never_resolves():
    """The CLI prints each put's `seq:`; the recorded Put frame_id is that number, not the
    frame's id, so no Put row gets a uri or title (that would be another frame's)."""
    seq = re.compile(r"→ (\S+)\s+seq: (\d+)")
    checked = 0
    for case in cases():
        printed = {}
        for _, out in _commands(case, "put"):
            for uri, n in seq.findall(out):
                printed[int(n)] = uri
        puts = [r for r in T.file_rows(case / "mem.mv2") if r["action_type"] == "PUT"]
        for r in puts:
            assert r["frame_uris"] is None and r["frame_titles"] is None
            if r["frame_id"] in printed:
                assert r["affected_frames"] == [r["frame_id"]]
                checked += 1
    assert checked >= 20


SDK_TITLES = ["Alpha notes", "Beta notes", "Gamma", "Delta"]  # scripts/make_sdk_fixtures.py


@pytest.mark.parametrize("version", ["2.0.124", "2.0.131", "2.0.140", "2.0.160"])
def test_sdk_files_checkpoints_and_finds_resolve(tmp_path, version):
    d = ROOT / "fixtures" / "sdk" / version
    path = tmp_path / "mem.mv2"
    path.write_bytes(gzip.decompress((d / "mem.mv2.gz").read_bytes()))
    report = json.loads((d / "sdk.json").read_text())
    put_ids = [int(x) for s in report["steps"] if "put" in s for x in s["put"]]
    rows = T.file_rows(path)
    cps = [r for r in rows if r["event"] == "checkpoint"]
    # the first checkpoint follows the two puts (Alpha, Beta): frames 0 and 1
    assert cps[0]["frame_ids"] == [0, 1]
    assert cps[0]["frame_titles"] == SDK_TITLES[:2]
    assert cps[0]["frame_uris"] == ["mv2://recipe/alpha", "mv2://recipe/beta"]
    assert cps[1]["frame_titles"] == SDK_TITLES and cps[1]["frame_count"] == 4
    # the Put records hold the WAL sequence (1, 3), not those frame ids: the SDK up to 2.0.140
    # returns that same number from put(), 2.0.160 returns the frame id. Never resolved.
    puts = [r for r in rows if r["action_type"] == "PUT"]
    recorded = [r["frame_id"] for r in puts[:2]]
    assert recorded == [1, 3] != cps[0]["frame_ids"]
    assert put_ids == (cps[0]["frame_ids"] if version == "2.0.160" else recorded)
    assert all(r["frame_uris"] is None and r["frame_titles"] is None for r in puts)
    (eps,) = [r for r in rows if r["query"] == "epsilon"]
    assert eps["frame_titles"] == ["Epsilon"]


def test_frame_context_outside_a_readable_mv2(tmp_path):
    data = (real_dir() / "p13_untracked_ops" / "mem.mv2").read_bytes()
    look = T.frame_context(data, "mv2")
    assert look(1).title == "b1" and look(2).uri == "mv2://batch/1"
    assert look(10**6) is None  # an id the table does not hold
    assert T.frame_context(data, "segment") is None
    assert T.frame_context(data[: len(data) // 2], "mv2") is None  # no TOC: no guess
    path = tmp_path / "cut.mv2"
    path.write_bytes(data[: len(data) // 2])
    assert all(r["frame_uris"] is None for r in T.file_rows(path))


def test_unknown_frame_ids_stay_null_in_place(tmp_path, monkeypatch):
    src = real_dir() / "p13_untracked_ops" / "mem.mv2"
    table = T.frame_table(src.read_bytes())
    monkeypatch.setattr(T, "frame_table", lambda data: {1: table[1]})
    (find,) = [r for r in T.file_rows(src) if r["action_type"] == "FIND"]
    assert find["affected_frames"] == [1, 3]
    assert find["frame_uris"] == ["mv2://batch/0", None]
    assert find["frame_titles"] == ["b1", None]


def _strip_frames(value):
    if isinstance(value, list):
        return [_strip_frames(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip_frames(v) for k, v in value.items() if k != "frames"}
    return value


def test_dump_frames_is_opt_in_and_adds_only_frames(tmp_path, capsys):
    case = real_dir() / "p09_auto_checkpoint_3"
    plain, framed = tmp_path / "plain.json", tmp_path / "framed.json"
    assert main(["dump", "--format", "json", str(case / "mem.mv2"), "-o", str(plain)]) == 0
    assert main(["dump", "--format", "json", "--frames", str(case / "mem.mv2"),
                 "-o", str(framed)]) == 0
    assert b'"frames"' not in plain.read_bytes()
    got = json.loads(framed.read_bytes())
    assert _strip_frames(got) == json.loads(plain.read_bytes())
    (session,) = got["sessions"]
    # the CLI's own find output: its first hit for the first 'checkpointed' query
    (first, *_), = [_HIT.findall(out) for _, out in _commands(case, "find")][:1]
    find = next(a for a in session["actions"] if a["action_type"]["type"] == "Find")
    assert (find["frames"][0]["uri"], find["frames"][0]["title"]) == first[1:]
    assert [f["id"] for f in find["frames"]] == find["affected_frames"]
    assert all("frames" not in a for a in session["actions"]
               if a["action_type"]["type"] in ("Put", "Checkpoint"))
    for cp in session["checkpoints"]:
        snap = cp["snapshot"]
        assert [f["id"] for f in snap["frames"]] == snap["frame_ids"]
        assert len(snap["frames"]) == snap["frame_count"]
    # only for a .mv2 and the readable form
    seg = case / "segment-0.bin"
    assert main(["dump", "--format", "json", "--frames", str(seg)]) != 0
    assert main(["dump", "--frames", str(case / "mem.mv2")]) != 0
    assert "--frames" in capsys.readouterr().err


def test_info_frames_names_what_dump_frames_resolves(tmp_path, capsys):
    """`info --frames` lists, per session, the ids each Find/Ask action and checkpoint names,
    and each of those frames once, as `dump --format json --frames` resolves them."""
    for case in (real_dir() / "p09_auto_checkpoint_3", real_dir() / "p20_ask_mock_llm"):
        mv2 = str(case / "mem.mv2")
        dumped = tmp_path / f"{case.name}.json"
        assert main(["dump", "--format", "json", "--frames", mv2, "-o", str(dumped)]) == 0
        sessions = json.loads(dumped.read_bytes())["sessions"]
        capsys.readouterr()
        assert main(["info", "--json", "--frames", mv2]) == 0
        info = json.loads(capsys.readouterr().out)
        assert len(info["sessions"]) == len(sessions)
        for got, session in zip(info["sessions"], sessions, strict=True):
            refs = got["frames"]
            want = [(j, a["action_type"]["type"].upper(), a["action_type"]["query"],
                     a["affected_frames"]) for j, a in enumerate(session["actions"])
                    if a["action_type"]["type"] in ("Find", "Ask")]
            assert [(a["index"], a["type"], a["query"], a["frame_ids"])
                    for a in refs["actions"]] == want
            assert [c["frame_ids"] for c in refs["checkpoints"]] == [
                c["snapshot"]["frame_ids"] for c in session["checkpoints"]]
            resolved = {}
            for a in session["actions"]:
                for f in a.get("frames") or []:
                    resolved[str(f["id"])] = f
            for c in session["checkpoints"]:
                for f in c["snapshot"]["frames"]:
                    resolved[str(f["id"])] = f
            assert refs["frames"] == resolved and resolved
        # the text form: every reference and every frame on a line of its own
        assert main(["info", "--frames", mv2]) == 0
        text = capsys.readouterr().out
        for a in info["sessions"][0]["frames"]["actions"]:
            assert f"actions[{a['index']}] {a['type']} {a['query']!r}: " in text
        for fid, f in info["sessions"][0]["frames"]["frames"].items():
            assert f"frame {fid}: {f['uri']!r} title" in text


def test_info_frames_is_opt_in_and_only_for_a_mv2(capsys):
    case = real_dir() / "p09_auto_checkpoint_3"
    assert main(["info", "--json", str(case / "mem.mv2")]) == 0
    assert '"frames"' not in capsys.readouterr().out
    assert main(["info", "--frames", str(case / "segment-0.bin")]) == 1
    assert "--frames needs a .mv2" in capsys.readouterr().err
    assert main(["info", "--frames", "--headers", str(case / "mem.mv2")]) == 2
    # a frame id the TOC's table does not hold is listed as such, never a neighbour
    from replayfmt.cli.info import _frames_text, _ids_text

    assert _ids_text([4, 5, 0, 1, 2, 3, 9, 11, 12]) == "4, 5, 0-3, 9, 11, 12"
    lines = _frames_text({"actions": [{"index": 0, "type": "FIND", "query": "q",
                                       "frame_ids": [7]}], "checkpoints": [],
                          "frames": {"7": None}})
    assert lines[-1] == "      frame 7: not in the TOC's frame table"
