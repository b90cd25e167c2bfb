"""The command line: info, dump, build; stdout/stderr split and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import GOLDEN, MALFORMED, REAL

import replayfmt as R


def run(*args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "replayfmt.cli", *map(str, args)],
                          input=stdin, capture_output=True)


P09 = REAL / "p09_auto_checkpoint_3"


def test_info_on_each_kind():
    proc = run("info", P09 / "mem.mv2", P09 / "active-0.bin", P09 / "segment-0.bin")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "memvid file (.mv2)" in out and "live segment at offset 138840, 2893 bytes" in out
    assert "active-session envelope" in out and "next_checkpoint_id 3" in out
    assert "actions 13 (PUT 7, FIND 3, CHECKPOINT 3), checkpoints 3" in out
    assert proc.stderr == b""


def test_info_json():
    proc = run("info", "--json", P09 / "mem.mv2")
    info = json.loads(proc.stdout)
    assert info["kind"] == "mv2"
    assert info["live_segment"]["manifest"] == {"segment_offset": 138840, "segment_size": 2893,
                                                "session_count": 1, "total_actions": 13,
                                                "version": 1}
    assert info["sessions"][0]["session_id"] == "29f3ffac-a6da-42ef-849a-336400948380"


def test_info_no_live_segment():
    proc = run("info", "--json", REAL / "p15_abandoned_active" / "mem.mv2")
    info = json.loads(proc.stdout)
    assert info["live_segment"] is None and info["sessions"] == []


def test_info_reads_stdin_and_reports_bad_input_with_offset():
    data = (MALFORMED / "invalid_utf8_preview.bin").read_bytes()
    proc = run("info", "-", stdin=data)
    assert proc.returncode == 1
    assert b"sessions[0].actions[0].input_preview at offset 203" in proc.stderr
    assert proc.stdout == b""


def test_info_keeps_going_over_many_files():
    proc = run("info", MALFORMED / "bad_magic.bin", P09 / "segment-0.bin")
    assert proc.returncode == 1
    assert b"auto checkpoint 3" in proc.stdout
    assert b"bad_magic.bin" in proc.stderr


def test_unknown_file_kind_and_missing_file():
    assert run("info", REAL / "INDEX.json").returncode == 1
    proc = run("info", REAL / "does-not-exist.bin")
    assert proc.returncode == 2 and b"cannot read" in proc.stderr


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert run("dump").returncode == 2
    assert run("dump", P09 / "mem.mv2", "--format", "yaml").returncode == 2


def test_dump_memvid_json_matches_cli_output():
    sid = "29f3ffac-a6da-42ef-849a-336400948380"
    proc = run("dump", P09 / "mem.mv2", "--format", "memvid-json", "--session", sid)
    assert proc.returncode == 0
    assert proc.stdout == (P09 / f"view-{sid}.json").read_bytes()


def test_dump_unknown_session():
    proc = run("dump", P09 / "mem.mv2", "-s", "00000000-0000-0000-0000-000000000000")
    assert proc.returncode == 1 and b"not found" in proc.stderr


def test_dump_readable_then_build_round_trips(tmp_path):
    for name, flags in (("segment_multi_mixed", []), ("envelope_all_variants", ["--envelope"])):
        src = GOLDEN / f"{name}.bin"
        readable = run("dump", src, "--format", "json").stdout
        (tmp_path / "x.json").write_bytes(readable)
        out = tmp_path / f"{name}.bin"  # outputs never replace an existing file
        proc = run("build", tmp_path / "x.json", "-o", out, *flags)
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes() == src.read_bytes()


def test_build_from_memvid_json_session_to_stdout():
    view = next((REAL / "p01_basic_put_find").glob("view-*.json"))
    proc = run("build", view, "-o", "-")
    assert proc.returncode == 0
    assert proc.stdout == (REAL / "p01_basic_put_find" / "segment-0.bin").read_bytes()


def test_build_rejects_bad_json_with_path(tmp_path):
    value = json.loads((GOLDEN / "segment_seed_two_sessions.json").read_bytes())
    value["sessions"][1]["actions"][0]["sequence"] = -3
    (tmp_path / "bad.json").write_text(json.dumps(value))
    proc = run("build", tmp_path / "bad.json", "-o", tmp_path / "out.bin")
    assert proc.returncode == 1
    assert b"sessions[1].actions[0]" in proc.stderr
    assert not (tmp_path / "out.bin").exists()
    (tmp_path / "notjson.json").write_text("{")
    assert run("build", tmp_path / "notjson.json", "-o", "-").returncode == 1


def test_build_envelope_needs_an_active_session(tmp_path):
    proc = run("build", GOLDEN / "segment_empty.json", "-o", tmp_path / "o", "--envelope")
    assert proc.returncode == 1 and b"--envelope" in proc.stderr


def test_build_notes_recomputed_header_fields(tmp_path):
    value = json.loads((GOLDEN / "segment_seed_two_sessions.json").read_bytes())
    value["total_size"] = 1
    (tmp_path / "v.json").write_text(json.dumps(value))
    proc = run("build", tmp_path / "v.json", "-o", tmp_path / "v.bin")
    assert proc.returncode == 0 and b"total_size 1" in proc.stderr
    expected = (GOLDEN / "segment_seed_two_sessions.bin").read_bytes()
    assert (tmp_path / "v.bin").read_bytes() == expected
    assert R.parse_segment((tmp_path / "v.bin").read_bytes()).total_size == 489
