"""The command's process dies only with a message: an input that shrinks under its memory map
(SIGBUS) is an I/O error naming the file, and what the run had started writing is removed;
`dump` of a whole segment is written a session at a time, the same bytes as the whole
document."""

from __future__ import annotations

import gzip
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import gen
import pytest
from conftest import REAL, ROOT
from hypothesis import given, settings

import replayfmt as R
import replayfmt.strategies as S
from replayfmt import files as F
from replayfmt.files import ReplayFile, dumps

FIXTURES = ROOT / "fixtures"


def _segment(path: Path, size: int) -> None:
    """A segment of at least `size` bytes (sessions of 200 actions, every variant)."""
    rng = random.Random(7)
    sessions = [gen.session(rng, 200) for _ in range(8)]
    one = len(R.build_segment(sessions))
    path.write_bytes(R.build_segment(sessions * (size // one + 1)))


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            todo += [int(c) for c in task.read_text().split()]
    return out


def _maps(pids: list[int], path: Path) -> bool:
    for p in pids:
        try:
            if str(path) in Path(f"/proc/{p}/maps").read_text():
                return True
        except OSError:
            pass
    return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("argv", [["validate", "{f}"], ["dump", "{f}", "-o", "{out}"]])
def test_an_input_that_shrinks_while_mapped_is_a_clear_error(tmp_path, argv):
    """SIGBUS (exit 135, no message, a temporary file left) before; now exit 2, the file and
    its two sizes named, and no output left behind."""
    f = tmp_path / "seg.bin"
    _segment(f, 48 << 20)
    size = f.stat().st_size
    out = tmp_path / "out.json"
    args = [a.format(f=f, out=out) for a in argv]
    proc = subprocess.Popen([sys.executable, "-m", "replayfmt", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not _maps(_descendants(proc.pid), f):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.truncate(f, 4096)  # another program cuts the evidence while it is read
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 2, err
    assert err == (f"replayfmt: {f}: the file shrank from {size} to 4096 bytes while it was "
                   "being read: stopped (output files removed)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.bin"]


def test_a_shrink_seen_before_a_block_is_said_as_the_sigbus_case(tmp_path):
    """The file shrinks between two sessions of `dump -o`: the size check before each session
    (FileShrank) stops the command before it touches a lost page, with no supervisor needed.
    Same exit, line and clean-up as when a supervised reader dies of SIGBUS (before: SIGBUS
    here; and where a check did fire, the line lacked ': stopped (output files removed)', so
    what a user saw depended on timing)."""
    f = tmp_path / "seg.bin"
    _segment(f, 4 << 20)
    size = f.stat().st_size
    out = tmp_path / "out.json"
    code = ("import os, sys\n"
            "import replayfmt.files as F\n"
            "real = F.ReplayFile._segment_pieces\n"
            "def cut(self):\n"
            "    for piece in real(self):\n"
            "        yield piece\n"
            "        if piece == b',\\n    ':  # between the first and the second session\n"
            "            os.truncate(sys.argv[2], 4096)\n"
            "F.ReplayFile._segment_pieces = cut\n"
            "from replayfmt.cli import main\n"
            "raise SystemExit(main(sys.argv[1:]))\n")  # in this process: no supervisor
    got = subprocess.run([sys.executable, "-c", code, "dump", str(f), "-o", str(out)],
                         cwd=ROOT, capture_output=True, timeout=120)
    assert got.returncode == 2, got.stderr
    assert got.stderr.decode() == (f"replayfmt: {f}: the file shrank from {size} to 4096 bytes "
                                   "while it was being read: stopped (output files removed)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.bin"]


def test_validate_says_a_shrink_it_sees_as_the_sigbus_case(tmp_path):
    """`validate` reads files one by one and says "cannot read" for one it cannot open; a file
    that shrinks under it (FileShrank, seen before a block) is said at the boundary as when
    its reader dies of SIGBUS (before: "cannot read FILE: the file shrank ...", so the line
    depended on which of the two caught it)."""
    f = tmp_path / "seg.bin"
    _segment(f, 4 << 20)
    size = f.stat().st_size
    code = ("import os, sys\n"
            "import replayfmt.framing as F\n"
            "real, seen = F.check_mapped, []\n"
            "def cut(buf):\n"
            "    seen.append(1)\n"
            "    if len(seen) == 2:  # before the second block\n"
            "        os.truncate(sys.argv[2], 4096)\n"
            "    real(buf)\n"
            "F.check_mapped = cut\n"
            "from replayfmt.cli import main\n"
            "raise SystemExit(main(sys.argv[1:]))\n")  # in this process: no supervisor
    got = subprocess.run([sys.executable, "-c", code, "validate", str(f)],
                         cwd=ROOT, capture_output=True, timeout=120)
    assert got.returncode == 2, got.stderr
    assert got.stderr.decode() == (f"replayfmt: {f}: the file shrank from {size} to 4096 bytes "
                                   "while it was being read: stopped (output files removed)\n")
    assert got.stdout == b""


def test_a_command_killed_from_outside_leaves_no_partial_output(tmp_path):
    """The supervising process removes what the killed command had started writing."""
    f = tmp_path / "seg.bin"
    _segment(f, 8 << 20)
    out = tmp_path / "out.json"
    code = ("import sys, time\n"
            "import replayfmt.files as F\n"
            "real = F.ReplayFile._segment_pieces\n"
            "def slow(self):\n"
            "    for k, piece in enumerate(real(self)):\n"
            "        yield piece\n"
            "        if k == 3:\n"
            "            print('writing', file=sys.stderr, flush=True)\n"
            "            time.sleep(60)\n"
            "F.ReplayFile._segment_pieces = slow\n"
            "from replayfmt.cli import main\n"
            "raise SystemExit(main())\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "dump", str(f), "-o", str(out)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr.readline() == b"writing\n"
    assert any(p.name.startswith(".out.json.") for p in tmp_path.iterdir())
    (child,) = _descendants(proc.pid)[1:]
    os.kill(child, signal.SIGKILL)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 128 + signal.SIGKILL
    assert err == b"replayfmt: stopped by SIGKILL (output files removed)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seg.bin"]


def test_ctrl_c_through_the_supervisor_exits_130(tmp_path):
    """SIGINT to the program (the watching process) reaches the command: exit 130, one line."""
    code = ("import sys, time\n"
            "import replayfmt.forensics as F\n"
            "def slow(data):\n"
            "    print('working', file=sys.stderr, flush=True)\n"
            "    time.sleep(60)\n"
            "F.carve = slow\n"
            "from replayfmt.cli import main\n"
            "raise SystemExit(main())\n")
    seg = REAL / "p09_auto_checkpoint_3" / "segment-0.bin"
    proc = subprocess.Popen([sys.executable, "-c", code, "carve", str(seg)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr.readline() == b"working\n"
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    assert err == b"replayfmt: interrupted\n"


# --- dump of a whole file, a session at a time ------------------------------------------------

def _fixture_files():
    for p in sorted(FIXTURES.rglob("*")):
        if p.is_file() and p.suffix in (".bin", ".mv2", ".session", ".gz"):
            yield p


def _whole_document(data) -> bytes | None:
    """What `dump` printed before: the whole document built, then rendered."""
    value = ReplayFile("x", data, "head").memvid_json()
    return None if value is None else dumps(value)


def test_dump_in_pieces_is_byte_identical_on_every_fixture():
    checked = 0
    for p in _fixture_files():
        data = p.read_bytes()
        if p.suffix == ".gz":
            data = gzip.decompress(data)
        try:
            want = _whole_document(data)
        except ValueError:  # not a replay file, or damaged: dump prints nothing for it
            with pytest.raises(ValueError):
                b"".join(ReplayFile("x", data, "full").memvid_json_pieces() or [])
            continue
        pieces = ReplayFile("x", data, "full").memvid_json_pieces()
        assert (None if pieces is None else b"".join(pieces)) == want, p
        checked += want is not None
    assert checked >= 50


def test_dump_pieces_render_one_session_at_a_time(monkeypatch):
    """Bounded memory, counted: the first sessions are out before the next are rendered."""
    rng = random.Random(3)
    data = R.build_segment([gen.session(rng, 5) for _ in range(50)])
    rendered = []
    real = F.session_memvid_json

    def counting(*args, **kw):
        rendered.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(F, "session_memvid_json", counting)
    pieces = ReplayFile("x", data, "full").memvid_json_pieces()
    for _ in range(4):  # header, separator, first session, separator
        next(pieces)
    assert len(rendered) == 1
    rest = b"".join(pieces)
    assert len(rendered) == 50 and rest.endswith(b"\n  ]\n}\n")


def test_dump_of_a_damaged_segment_prints_nothing(capsys, tmp_path):
    """Every byte is checked before the first piece: bad UTF-8 in the last session's last
    action (which the listing depth does not read) gives no output at all."""
    from replayfmt.cli import main

    rng = random.Random(5)
    sessions = [gen.session(rng, 5) for _ in range(3)]
    sessions[-1].actions[-1].input_preview = "the marker"
    data = R.build_segment(sessions)
    at = data.rindex(b"marker")
    path = tmp_path / "damaged.bin"
    path.write_bytes(data[:at] + b"\xff" + data[at + 1:])
    assert main(["dump", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "invalid UTF-8" in captured.err and "sessions[2].actions[4]" in captured.err


# --- small correctness items -------------------------------------------------------------------

P09 = REAL / "p09_auto_checkpoint_3"


def test_from_json_with_a_list_as_variant_name_is_a_shape_error():
    """TypeError (unhashable list) before."""
    from replayfmt.memvid_json import JSONShapeError, from_json, to_json

    value = to_json(R.parse_segment((P09 / "segment-0.bin").read_bytes()).sessions[0])
    value["actions"][0]["action_type"]["type"] = ["Find"]
    with pytest.raises(JSONShapeError) as info:
        from_json(value)
    assert info.value.path == "actions[0].action_type.type"
    assert "expected a variant name, got list" in str(info.value)


@pytest.mark.parametrize("number, shown", [(2**64, "18446744073709551616"),
                                           (-(2**63) - 1, "-9223372036854775809")])
def test_integers_beyond_64_bits_are_reported_as_integers(tmp_path, capsys, number, shown):
    """orjson reads them as floats: "got float" before."""
    from replayfmt.cli import main
    from replayfmt.memvid_json import loads, to_json

    value = to_json(R.parse_segment((P09 / "segment-0.bin").read_bytes()).sessions[0])
    text = dumps(value).replace(b'"created_secs": ', f'"created_secs": {number}, "x": '.encode(),
                                1)
    text = text.replace(b', "x": ' + str(value["created_secs"]).encode(), b"", 1)
    assert loads(text)["created_secs"] == number
    (tmp_path / "s.json").write_bytes(text)
    assert main(["build", str(tmp_path / "s.json"), "-o", str(tmp_path / "s.bin")]) == 1
    err = capsys.readouterr().err
    assert f"got {shown}" in err and "float" not in err
    assert not (tmp_path / "s.bin").exists()


def test_json_floats_stay_floats():
    from replayfmt.memvid_json import loads

    assert loads(b'{"a": [1, 2.5, {"b": 18446744073709551616}]}') == \
        {"a": [1, 2.5, {"b": 2**64}]}


def test_sarif_uri_is_percent_encoded():
    from replayfmt.validate import Report, to_sarif

    reports = [Report("segment", 1, file="dir with space/a#b%c?.bin"),
               Report("segment", 1, file="/abs/ü\udcff.bin"), Report("segment", 1)]
    uris = [a["location"]["uri"] for a in to_sarif(reports)["runs"][0]["artifacts"]]
    assert uris == ["dir%20with%20space/a%23b%25c%3F.bin", "file:///abs/%C3%BC%FF.bin",
                    "input-2"]


def _memoryview_cases():
    seg = (P09 / "segment-0.bin").read_bytes()
    mv2 = (P09 / "mem.mv2").read_bytes()
    active = (P09 / "active-0.bin").read_bytes()
    return seg, mv2, active


def test_every_reader_takes_a_memoryview_as_parse_does():
    """AttributeError ('memoryview' object has no attribute 'find') before."""
    from replayfmt import forensics, mv2, stream
    from replayfmt.validate import validate

    seg, mv2_bytes, active = _memoryview_cases()
    for data in (seg, mv2_bytes, active):
        assert validate(memoryview(data)).to_json() == validate(data).to_json()
        assert [b.to_json() for b in forensics.carve(memoryview(data))] == \
            [b.to_json() for b in forensics.carve(data)]
    for data in (seg, active):
        assert forensics.salvage(memoryview(data)).to_json() == \
            forensics.salvage(data).to_json()
    assert stream.scan_segment(memoryview(seg)) == stream.scan_segment(seg)
    assert stream.summarize_active(memoryview(active)) == stream.summarize_active(active)
    live = mv2.live_segment(memoryview(mv2_bytes))
    assert (live.offset, live.size, live.scan) == (lambda x: (x.offset, x.size, x.scan))(
        mv2.live_segment(mv2_bytes))


def test_diff_text_escapes_a_line_feed_in_a_metadata_key(tmp_path, capsys):
    """A raw line feed in a key split the `diff` line in two (a forged change line)."""
    from replayfmt.cli import main

    seg = R.parse_segment((P09 / "segment-0.bin").read_bytes())
    a = tmp_path / "a.bin"
    b = tmp_path / "b.bin"
    a.write_bytes(R.build_segment(seg.sessions))
    seg.sessions[0].metadata = {**seg.sessions[0].metadata,
                                "k\n+ sessions[9]  forged\x1b[2J": "v"}
    b.write_bytes(R.build_segment(seg.sessions))
    assert main(["diff", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert not any(line.startswith("+ sessions[9]") for line in lines)
    (added,) = [line for line in lines if "metadata" in line]
    sid = seg.sessions[0].session_id
    assert added == f'+ sessions[{sid}].metadata["k\\x0a+ sessions[9]  forged\\x1b[2J"]  "v"'


# --- validate of a damaged segment: one block at a time -----------------------------------------

@settings(max_examples=300, deadline=None)
@given(S.malformed_segment_bytes(max_sessions=3))
def test_damaged_segment_problems_without_tracing_the_file(case):
    """The container walk and per-block checks find what the whole-file trace found."""
    from replayfmt.trace import trace_segment
    from replayfmt.validate import _segment_problems

    data = case[0]
    t = trace_segment(data)
    problems, count = _segment_problems(data)
    assert [(e.kind, e.offset, e.path, str(e)) for e in problems] == \
        [(e.kind, e.offset, e.path, str(e)) for e in t.problems]
    head = t.find("session_count")
    assert count == (None if t.find("total_size") is None else head.value)


def test_damaged_segment_problems_on_malformed_fixtures():
    from replayfmt.trace import trace_segment
    from replayfmt.validate import _segment_problems

    n = 0
    for p in sorted((FIXTURES / "malformed").glob("*.bin")):
        data = p.read_bytes()
        if data[:8] != b"MV2RPLY!":
            continue
        n += 1
        problems, _ = _segment_problems(data)
        assert [str(e) for e in problems] == [str(e) for e in trace_segment(data).problems], p
    assert n >= 10


def test_validate_of_a_damaged_segment_traces_only_the_damaged_block(monkeypatch):
    """Work counted: one session damaged among 200, one record traced, never the whole file."""
    import copy
    import importlib
    import uuid

    V = importlib.import_module("replayfmt.validate")
    real_session = R.parse_segment((P09 / "segment-0.bin").read_bytes()).sessions[0]
    sessions = []
    for k in range(200):  # clean copies: no diagnostic needs a session traced
        s = copy.deepcopy(real_session)
        s.session_id = uuid.UUID(int=k + 1)
        sessions.append(s)
    assert V.validate(R.build_segment(sessions)).diagnostics == []
    sessions[100].actions[-1].input_preview = "the marker"
    data = R.build_segment(sessions)
    at = data.index(b"marker")
    data = data[:at] + b"\xff" + data[at + 1:]
    traced = []
    real = V.trace_record

    def counting(name, b, start, stop, path=""):
        traced.append((name, stop - start, path))
        return real(name, b, start, stop, path)

    monkeypatch.setattr(V, "trace_record", counting)
    monkeypatch.setattr(V, "trace_segment", lambda *a: pytest.fail("whole file traced"))
    report = V.validate(data)
    assert "RF006" in report.codes
    assert [t for t in traced if t[0] == "ReplaySession"] == [
        ("ReplaySession", len(R.build_segment([sessions[100]])) - 32, "sessions[100]")]


# --- huge sparse inputs ---------------------------------------------------------------------------

def test_build_refuses_a_huge_sparse_file_from_its_first_byte(tmp_path, capsys):
    """A 4.6 GB file of zeros was read whole (and failed under a memory cap)."""
    from replayfmt.cli import main

    big = tmp_path / "zeros.json"
    with open(big, "wb") as fh:
        fh.truncate(4_600_000_000)
    t0 = time.monotonic()
    assert main(["build", str(big), "-o", str(tmp_path / "out.bin")]) == 1
    assert time.monotonic() - t0 < 10
    err = capsys.readouterr().err
    import orjson

    with pytest.raises(orjson.JSONDecodeError) as whole:  # what reading it all would say
        orjson.loads(bytes(4096))
    assert err == f"replayfmt: {big} is not JSON: {whole.value}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zeros.json"]


def _sparse_mv2(path: Path, hole: int) -> bytes:
    """A real .mv2 with a sparse gap before its TOC (header footer_offset moved past it)."""
    import struct

    data = (P09 / "mem.mv2").read_bytes()
    from replayfmt import mv2

    layout = mv2.read_layout(data)
    head = bytearray(data[:layout.footer_offset])
    at = head.find(struct.pack("<Q", layout.footer_offset), 0, 4096)
    struct.pack_into("<Q", head, at, layout.footer_offset + hole)
    with open(path, "wb") as fh:
        fh.write(head)
        fh.seek(hole, os.SEEK_CUR)
        fh.write(data[layout.footer_offset:])
    return data


def test_diff_and_hexmap_of_a_huge_sparse_mv2_touch_only_what_they_read(tmp_path):
    """diff of a 4.6 GB sparse .mv2 used 4.5 GB (the file was copied whole): now mapped, the
    peak resident set stays small (measured in the command's own processes)."""
    big = tmp_path / "sparse.mv2"
    _sparse_mv2(big, 4_600_000_000)
    seg = P09 / "segment-0.bin"
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run([sys.executable, '-m', 'replayfmt', *sys.argv[1:]],"
            " stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
            "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "print(p.returncode, peak, p.stderr.decode()[-500:])\n")
    for argv in (["diff", str(big), str(seg)], ["hexmap", str(big)], ["info", str(big)]):
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                             text=True, cwd=ROOT, check=True).stdout
        rc, peak_kb, err = out.split(" ", 2)
        assert int(rc) in (0, 1), (argv, err)
        assert int(peak_kb) < 400_000, (argv, peak_kb)  # KiB: far below the 4.6 GB file


def shrink_then_read(path: str) -> dict:
    """A per-file function whose file is cut short under its memory map (SIGBUS)."""
    import faulthandler
    import mmap

    faulthandler.disable()  # the worker's death is the point: no fatal-error dump from pytest

    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if path.endswith("b.bin"):
            os.truncate(path, 0)
        return {"status": "ok", "last": mm[len(mm) - 1]}


def test_batch_worker_killed_by_sigbus_says_why(tmp_path):
    import io
    import json

    from replayfmt import batch

    for name in ("a.bin", "b.bin", "c.bin"):
        (tmp_path / name).write_bytes(b"x" * 10_000)
    out = io.BytesIO()
    result = batch.run(shrink_then_read, [str(tmp_path)], jobs=2, out=out, progress=False,
                       ordered=True)
    got = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [g["status"] for g in got] == ["ok", "error", "ok"]
    assert got[1]["error"] == (f"worker process died (killed by signal {signal.SIGBUS}: "
                               "SIGBUS, the file shrank while it was being read)")
    assert result.exit_status == 2


def test_hexmap_streams_a_many_session_segment_under_a_cap(tmp_path: Path) -> None:
    """hexmap held every field at once: under an address-space cap a 4 MB segment was a
    MemoryError. It now renders a few thousand fields at a time: the same cap maps it (exit
    0), and one session of that size too."""
    import resource

    base = int(subprocess.run(
        [sys.executable, "-c", "import replayfmt, replayfmt.cli, replayfmt.hexmap;"
         "print(open('/proc/self/status').read().split('VmSize:')[1].split()[0])"],
        capture_output=True, text=True, check=True, cwd=ROOT).stdout) * 1024
    cap = base + (160 << 20)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    def hexmap(f: Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "replayfmt", "hexmap", str(f), "--html",
                               str(tmp_path / f"{f.stem}.html")], cwd=ROOT,
                              capture_output=True, preexec_fn=limit, timeout=900)

    many = tmp_path / "many.bin"
    _segment(many, 4 << 20)
    proc = hexmap(many)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr[-2000:]
    page = (tmp_path / "many.html").read_bytes()
    assert page.endswith(b"</html>\n") and page.count(b'"path": "sessions[') > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.bin", "many.html"]

    # One session of that size (12k actions, 4.3 MB) was held whole (every span and field of
    # it, ~175 MB): now it streams within the session too, under the same cap, and the page is
    # the one an uncapped run writes.
    one = tmp_path / "one.bin"
    one.write_bytes(R.build_segment([gen.session(random.Random(7), 12_000)]))
    assert one.stat().st_size >= 4 << 20
    proc = hexmap(one)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr[-2000:]
    capped = (tmp_path / "one.html").read_bytes()
    (tmp_path / "one.html").unlink()
    proc = subprocess.run([sys.executable, "-m", "replayfmt", "hexmap", str(one), "--html",
                           str(tmp_path / "one.html")], cwd=ROOT, capture_output=True,
                          timeout=900)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr[-2000:]
    assert capped == (tmp_path / "one.html").read_bytes()
    assert capped.endswith(b"</html>\n") and capped.count(b'"path": "sessions[0].actions[') > 12_000


def test_without_a_fork_the_command_runs_in_this_process(tmp_path, monkeypatch, capsys):
    """A process limit (fork fails): the command still runs, unwatched, same output."""
    from replayfmt.cli import main

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(sys, "argv", ["replayfmt", "info", str(P09 / "segment-0.bin")])
    assert main() == 0
    want = capsys.readouterr().out
    assert main(["info", str(P09 / "segment-0.bin")]) == 0
    assert capsys.readouterr().out == want and "segment" in want
