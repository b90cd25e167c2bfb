"""The validate / carve / sessions / salvage commands: outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _real import real_dir

from replayfmt.cli import main
from replayfmt.codec import parse_active_session, parse_segment

ROOT = Path(__file__).resolve().parent.parent
DAMAGED = ROOT / "fixtures" / "damaged"


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_validate_exit_codes(capsys):
    clean = real_dir() / "p09_auto_checkpoint_3" / "segment-0.bin"
    assert run(capsys, "validate", clean)[0] == 0
    assert run(capsys, "validate", DAMAGED / "bad_utf8.bin")[0] == 1
    assert run(capsys, "validate", DAMAGED / "preview_600.bin")[0] == 0
    assert run(capsys, "validate", "--strict", DAMAGED / "preview_600.bin")[0] == 1
    assert run(capsys, "validate", "--strict", DAMAGED / "oversize_sentinel.bin")[0] == 0
    rc, _, err = run(capsys, "validate", clean, DAMAGED / "no-such-file.bin")
    assert rc == 2 and "cannot read" in err
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--json", "--sarif", str(clean)])
    assert exc.value.code == 2


def test_validate_json_many_files(capsys):
    files = [DAMAGED / "sequence_gap.bin", DAMAGED / "next_checkpoint_id.session",
             real_dir() / "p10_two_cycles" / "mem.mv2"]
    rc, out, _ = run(capsys, "validate", "--json", *files)
    assert rc == 1
    reports = json.loads(out)
    assert [r["kind"] for r in reports] == ["segment", "active_session", "mv2"]
    assert [d["code"] for d in reports[0]["diagnostics"]] == ["RF101"]
    assert [d["code"] for d in reports[1]["diagnostics"]] == ["RF401"]
    assert reports[2]["summary"] == {"error": 0, "warning": 0, "info": 1}
    d = reports[0]["diagnostics"][0]
    assert set(d) == {"code", "name", "severity", "offset", "length", "path", "message"}


def test_validate_sarif(capsys):
    rc, out, _ = run(capsys, "validate", "--sarif", DAMAGED / "mv2_manifest_count.mv2")
    doc = json.loads(out)
    assert rc == 1 and doc["version"] == "2.1.0"
    (res,) = doc["runs"][0]["results"]
    assert res["ruleId"] == "RF504"
    region = res["locations"][0]["physicalLocation"]["region"]
    info = json.loads((real_dir() / "p01_basic_put_find" / "case.json").read_text())
    assert region == {"byteOffset": info["toc_manifest"]["tag_pos"] + 17, "byteLength": 4}


def test_carve_out_dir(capsys, tmp_path):
    mv2 = real_dir() / "p11_save_load_roundtrip" / "mem.mv2"
    before = mv2.read_bytes()
    rc, out, _ = run(capsys, "carve", mv2, "--out", tmp_path / "blocks", "--json")
    assert rc == 0
    blocks = json.loads(out)
    assert [b["live"] for b in blocks] == [False, False, True]
    written = sorted((tmp_path / "blocks").iterdir())
    assert len(written) == 3 and written[-1].name.endswith("-live.bin")
    seg = (real_dir() / "p11_save_load_roundtrip" / "segment-2.bin").read_bytes()
    assert all(p.read_bytes() == seg for p in written)
    assert mv2.read_bytes() == before  # evidence untouched
    rc, out, _ = run(capsys, "carve", DAMAGED / "cli" / "magic_in_docs.mv2")
    assert rc == 0 and out.count(" live") == 1 and "3 block(s)" in out


def test_sessions_all(capsys):
    mv2 = real_dir() / "p10_two_cycles" / "mem.mv2"
    rc, out, _ = run(capsys, "sessions", mv2, "--all", "--json")
    assert rc == 0
    recs = json.loads(out)
    assert [(r["name"], r["status"]) for r in recs] == [("first", "superseded"),
                                                        ("second", "live")]
    assert recs[0]["blocks"] == [{"kind": "segment", "offset": 76674, "size": 263,
                                  "live": False}]
    rc, out, _ = run(capsys, "sessions", mv2)
    assert "second" in out and "first" not in out and "1 session(s)" in out


def test_salvage_writes_a_valid_rebuild(capsys, tmp_path):
    src = real_dir() / "p09_auto_checkpoint_3" / "active-0.bin"
    data = src.read_bytes()
    cut = tmp_path / "cut.session"
    cut.write_bytes(data[:1800])
    out_file = tmp_path / "rebuilt.session"
    rc, out, _ = run(capsys, "salvage", cut, "-o", out_file)
    assert rc == 1 and "decoding stopped at offset" in out
    rebuilt = parse_active_session(out_file.read_bytes())
    original = parse_active_session(data)
    assert rebuilt.session.actions == original.session.actions[:len(rebuilt.session.actions)]
    assert len(rebuilt.session.actions) >= 5
    rc, out, _ = run(capsys, "salvage", "--json", real_dir() / "p01_basic_put_find" /
                     "segment-0.bin", "-o", tmp_path / "same.bin")
    assert rc == 0 and json.loads(out)["complete"] is True
    assert (tmp_path / "same.bin").read_bytes() == (
        real_dir() / "p01_basic_put_find" / "segment-0.bin").read_bytes()
    rc, out, _ = run(capsys, "salvage", "--kind", "segment", DAMAGED / "bad_magic.bin",
                     "-o", tmp_path / "fixed.bin")
    assert rc == 0 and parse_segment((tmp_path / "fixed.bin").read_bytes()).sessions
