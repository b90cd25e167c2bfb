"""Command-line consistency: one set of --kind values, -o/--output, help for every argument,
exit codes in the help, sessions/salvage on every kind, broken pipes, batch-mode edge cases."""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import subprocess
import sys
import time

import pytest
from conftest import REAL, ROOT

from replayfmt import batch
from replayfmt.cli import COMMANDS, build_parser, main

P09 = REAL / "p09_auto_checkpoint_3"
DAMAGED = ROOT / "fixtures" / "damaged"


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_argument_of_every_command_is_described():
    subs = _subparsers()
    assert set(subs) == set(COMMANDS)
    missing = [f"{name} {a.dest}" for name, p in subs.items() for a in p._actions
               if not isinstance(a, argparse._HelpAction) and not a.help]
    assert missing == []


def test_kind_takes_the_same_values_everywhere():
    subs = _subparsers()
    kinds = {name: next(a for a in p._actions if a.dest == "kind").choices
             for name, p in subs.items() if any(a.dest == "kind" for a in p._actions)}
    assert set(kinds) == {"validate", "hexmap", "salvage", "fuzz"}
    for name in ("validate", "hexmap", "salvage"):
        assert tuple(kinds[name]) == ("auto", "segment", "sidecar", "mv2"), name
    assert tuple(kinds["fuzz"]) == ("segment", "sidecar", "mv2")  # it generates: no auto
    args = build_parser(["validate"]).parse_args(["validate", "--kind", "active", "x"])
    assert args.kind == "sidecar"  # the former spelling still works


def test_every_command_writing_a_file_takes_o_output():
    subs = _subparsers()
    for name in ("dump", "build", "salvage", "hexmap"):
        opts = {s for a in subs[name]._actions for s in a.option_strings}
        assert {"-o", "--output"} <= opts, name
    for name in ("carve", "fuzz"):  # directories
        assert "--out" in {s for a in subs[name]._actions for s in a.option_strings}


def test_exit_codes_are_in_the_top_level_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for line in ("0    ok", "1    findings", "2    usage or I/O", "3    internal error",
                 "130  interrupted"):
        assert line in out


def test_hexmap_page_with_o_output(tmp_path):
    out = tmp_path / "map.html"
    assert main(["hexmap", str(P09 / "segment-0.bin"), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("name, status", [("segment-0.bin", "live"), ("active-0.bin", "active")])
def test_sessions_on_a_bare_segment_and_a_sidecar(capsys, name, status):
    assert main(["sessions", str(P09 / name)]) == 0
    out = capsys.readouterr().out
    assert f"29f3ffac-a6da-42ef-849a-336400948380 {status}" in out
    assert out.endswith("1 session(s)\n")


def test_salvage_reads_a_mv2s_live_segment(capsys):
    assert main(["salvage", str(P09 / "mem.mv2")]) == 0
    assert "complete: 2893 bytes, nothing lost" in capsys.readouterr().out
    assert main(["salvage", "--json", str(DAMAGED / "mv2_live_damaged.mv2")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["mv2_live_segment"] == {"offset": 76827, "size": 602}
    assert report["complete"] is False


def test_salvage_mv2_without_a_live_segment_is_bad_input(capsys):
    assert main(["salvage", str(REAL / "p15_abandoned_active" / "mem.mv2")]) == 1
    assert "no live replay segment" in capsys.readouterr().err


def test_a_closed_pipe_keeps_the_real_exit_code():
    """`replayfmt validate DIR | head`: findings stay exit 1, and no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "replayfmt", "validate", str(DAMAGED)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.close()  # the reader is gone before the first line
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_a_closed_pipe_after_clean_output_is_still_0():
    proc = subprocess.Popen([sys.executable, "-m", "replayfmt", "info",
                             *[str(P09 / "segment-0.bin")] * 200],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0 and b"Traceback" not in err


# --- batch mode ------------------------------------------------------------------------------

def size_of(path: str) -> dict:
    with open(path, "rb") as fh:
        return {"status": "ok", "size": len(fh.read())}


def slow_on(path: str, name: str, seconds: float) -> dict:
    if path.endswith(name):
        time.sleep(seconds)
    return size_of(path)


def die_on(path: str, name: str) -> dict:
    if path.endswith(name):
        os.kill(os.getpid(), 9)
    return size_of(path)


def _lines(buf: io.BytesIO) -> list[dict]:
    return [json.loads(x) for x in buf.getvalue().splitlines()]


def _tree(tmp_path, names=("a.bin", "b.bin", "c.bin", "d.bin")):
    for i, n in enumerate(names):
        (tmp_path / n).write_bytes(b"x" * (i + 1))
    return tmp_path


def test_an_unreadable_directory_is_an_error_line_and_exit_2(tmp_path, monkeypatch, capsys):
    root = _tree(tmp_path)
    (root / "locked").mkdir()
    real = os.listdir

    def listdir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)
    out = io.BytesIO()
    result = batch.run(size_of, [str(root)], recursive=True, out=out, progress=False)
    got = _lines(out)
    assert got[0] == {"file": str(root / "locked"), "status": "error",
                      "error": "cannot read directory: Permission denied"}
    assert [g["status"] for g in got[1:]] == ["ok"] * 4
    assert result.exit_status == 2
    assert main(["validate", "-r", str(root)]) == 2
    assert "cannot read directory" in capsys.readouterr().out


def test_a_fifo_in_a_directory_is_skipped_never_opened(tmp_path):
    root = _tree(tmp_path)
    os.mkfifo(root / "pipe")
    out = io.BytesIO()
    result = batch.run(size_of, [str(root)], out=out, progress=False)  # would block if opened
    got = _lines(out)
    assert got[0] == {"file": str(root / "pipe"), "status": "skipped",
                      "error": "not a regular file (fifo)"}
    assert len(got) == 5 and result.exit_status == 0


def test_a_name_that_is_not_utf8_is_written_losslessly(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9\xff.bin"
    with open(raw, "wb") as fh:
        fh.write(b"abc")
    out = io.BytesIO()
    batch.run(size_of, [str(tmp_path)], out=out, progress=False)
    (line,) = _lines(out)
    assert os.fsencode(line["file"]) == raw
    assert bytes.fromhex(line["path_bytes"]) == raw
    assert line["size"] == 3


def test_validate_json_and_sarif_of_a_name_that_is_not_utf8(tmp_path, capsys):
    raw = os.fsencode(str(tmp_path)) + b"/seg\xff.bin"
    with open(raw, "wb") as fh:
        fh.write((P09 / "segment-0.bin").read_bytes())
    name = os.fsdecode(raw)
    for flag in ("--json", "--sarif"):
        assert main(["validate", flag, name]) == 0
        json.loads(capsys.readouterr().out)
    assert main(["validate", name]) == 0
    assert "seg\\xff.bin: segment" in capsys.readouterr().out


def test_a_file_over_the_time_limit_is_an_error_line_and_the_batch_goes_on(tmp_path):
    root = _tree(tmp_path)
    for jobs in (1, 2):
        out = io.BytesIO()
        func = functools.partial(slow_on, name="b.bin", seconds=30)
        t0 = time.monotonic()
        result = batch.run(func, [str(root)], jobs=jobs, out=out, progress=False, timeout=1,
                           ordered=True)
        assert time.monotonic() - t0 < 20
        got = _lines(out)
        assert [g["status"] for g in got] == ["ok", "error", "ok", "ok"], jobs
        assert "timed out after 1 s" in got[1]["error"]
        assert result.exit_status == 2


def test_a_dead_worker_is_an_error_line_and_the_batch_goes_on(tmp_path):
    root = _tree(tmp_path)
    out = io.BytesIO()
    func = functools.partial(die_on, name="c.bin")
    result = batch.run(func, [str(root)], jobs=2, out=out, progress=False, ordered=True)
    got = _lines(out)
    assert [g["status"] for g in got] == ["ok", "ok", "error", "ok"]
    assert got[2]["error"] == "worker process died (killed by signal 9)"
    assert result.exit_status == 2


def test_results_stream_as_they_finish_unless_ordered(tmp_path):
    root = _tree(tmp_path)
    func = functools.partial(slow_on, name="a.bin", seconds=2)
    out = io.BytesIO()
    batch.run(func, [str(root)], jobs=2, out=out, progress=False)
    assert _lines(out)[-1]["file"].endswith("a.bin")  # the slow one did not hold the rest
    out = io.BytesIO()
    batch.run(func, [str(root)], jobs=2, out=out, progress=False, ordered=True)
    assert [g["file"][-5:] for g in _lines(out)] == ["a.bin", "b.bin", "c.bin", "d.bin"]


def test_many_jobs_under_a_process_limit_is_not_a_traceback(tmp_path, monkeypatch, capsys):
    root = _tree(tmp_path)
    started = []
    spawn = batch._Pool._spawn

    def limited(self):
        if len(started) >= 2:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        started.append(1)
        return spawn(self)

    monkeypatch.setattr(batch._Pool, "_spawn", limited)
    out = io.BytesIO()
    result = batch.run(size_of, [str(root)], jobs=100, out=out, progress=False)
    assert len(_lines(out)) == 4 and result.exit_status == 0
    assert "started 2 of 4 worker processes" in capsys.readouterr().err
    started.clear()
    started.extend([1, 1])  # not even one worker: the batch runs in this process
    out = io.BytesIO()
    assert batch.run(size_of, [str(root)], jobs=100, out=out, progress=False).files == 4
    assert len(_lines(out)) == 4
