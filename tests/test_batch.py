"""batch.run: directory walk, process pool, JSON Lines in input order, errors per file."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys

from conftest import REAL

from replayfmt import batch
from replayfmt.validate import validate_path


def size_of(path: str, fail_on: str = "") -> dict:
    if fail_on and path.endswith(fail_on):
        raise OSError("cannot read this one")
    with open(path, "rb") as fh:
        n = len(fh.read())
    return {"status": "ok" if n else "invalid", "size": n}


def make_tree(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "one.bin").write_bytes(b"1")
    (tmp_path / "a" / "two.bin").write_bytes(b"22")
    (tmp_path / "a" / "b" / "three.bin").write_bytes(b"333")
    (tmp_path / "a" / "b" / "empty.bin").write_bytes(b"")
    return tmp_path


def lines(buf: io.BytesIO) -> list[dict]:
    return [json.loads(x) for x in buf.getvalue().splitlines()]


def test_walk_is_sorted_and_recursive_only_when_asked(tmp_path):
    root = make_tree(tmp_path)
    flat = list(batch.iter_inputs([str(root)]))
    deep = list(batch.iter_inputs([str(root)], recursive=True))
    assert [p.rsplit("/", 1)[1] for p in flat] == ["one.bin"]
    assert [p[len(str(root)):] for p in deep] == ["/one.bin", "/a/two.bin", "/a/b/empty.bin",
                                                   "/a/b/three.bin"]


def test_pool_results_match_serial_in_input_order(tmp_path):
    root = make_tree(tmp_path)
    serial, pooled = io.BytesIO(), io.BytesIO()
    r1 = batch.run(size_of, [str(root)], recursive=True, jobs=1, out=serial, progress=False)
    r2 = batch.run(size_of, [str(root)], recursive=True, jobs=3, out=pooled, progress=False,
                   ordered=True)
    assert serial.getvalue() == pooled.getvalue()
    got = lines(pooled)
    assert [x["size"] for x in got] == [1, 2, 0, 3]
    assert list(got[0])[0] == "file"
    assert r1.counts == r2.counts == {"ok": 3, "invalid": 1} and r2.exit_status == 1


def test_a_failing_file_is_reported_and_the_rest_goes_on(tmp_path):
    root = make_tree(tmp_path)
    out = io.BytesIO()
    func = functools.partial(size_of, fail_on="two.bin")
    result = batch.run(func, [str(root)], recursive=True, jobs=2, out=out, progress=False,
                       ordered=True)
    got = lines(out)
    assert got[1]["status"] == "error" and "cannot read" in got[1]["error"]
    assert len(got) == 4 and result.exit_status == 2


def test_progress_bar_only_on_a_terminal(tmp_path):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = batch.ProgressBar(3, stream=stream)
        for _ in range(3):
            bar.update()
        bar.close()
    assert "3/3" in tty.getvalue() and pipe.getvalue() == ""


def test_validate_directory_with_jobs_writes_json_lines():
    proc = subprocess.run([sys.executable, "-m", "replayfmt.cli", "validate", str(REAL), "-r",
                           "-j", "2"], capture_output=True)
    got = [json.loads(x) for x in proc.stdout.splitlines()]
    binaries = [x for x in got if x["file"].endswith((".bin", ".mv2"))]
    assert len(binaries) > 40 and all(x["status"] == "ok" for x in binaries)
    assert proc.stderr == b""  # no progress bar when stderr is not a terminal
    assert proc.returncode == 1  # README.md, case.json ... are not replay files


def test_validate_path_is_the_single_file_report():
    path = str(REAL / "p09_auto_checkpoint_3" / "segment-0.bin")
    out = validate_path(path)
    assert out["status"] == "ok" and out["kind"] == "segment" and out["diagnostics"] == []


def test_carve_batch_mode(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "replayfmt.cli", "carve",
                           str(REAL / "p10_two_cycles"), "--jsonl"], capture_output=True)
    got = {json.loads(x)["file"].rsplit("/", 1)[1]: json.loads(x) for x in
           proc.stdout.splitlines()}
    assert sum(b["live"] for b in got["mem.mv2"]["blocks"]) == 1
    assert proc.returncode == 0
