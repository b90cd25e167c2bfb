"""`replayfmt fuzz`: crash classification, reports, minimised reproducers, --compare, and the
memvid recipe, which must rediscover the real CLI's known crashes (run for real; a missing
binary fails, run scripts/install-memvid.sh)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from replayfmt.cli import main
from replayfmt.fuzz_target import Outcome, classify, seed_inputs
from replayfmt.peer import MemvidCLI

PY = sys.executable

# A deliberately fragile reader: it trusts the first session's length prefix.
FRAGILE = textwrap.dedent("""
    import os, signal, struct, sys, time
    data = open(sys.argv[1], 'rb').read()
    if data[:8] != b'MV2RPLY!' or len(data) < 32:
        sys.exit(1)
    (n,) = struct.unpack_from('<Q', data, 24)
    if n == 2**62:
        os.kill(os.getpid(), signal.SIGSEGV)
    if n == 2**64 - 1:
        raise OverflowError('length')
    if n == 2**62 + 1:
        time.sleep(30)
    sys.exit(0 if n == len(data) - 32 else 1)
""")


def _fuzz(tmp_path, *args):
    out = tmp_path / "out"
    rc = main(["fuzz", *args, "--out", str(out), "--minimise-budget", "40"])
    summary = json.loads((out / "summary.json").read_text())
    return rc, summary, out


def _reports(summary):
    return [json.loads(open(c["report"]).read()) for c in summary["crashes"]]


def test_classify():
    assert classify(Outcome(0, False, b"", b"", 0)) is None
    assert classify(Outcome(1, False, b"", b"", 0)) is None
    assert classify(Outcome(3, False, b"", b"", 0)) == ("exit", "exit 3")
    assert classify(Outcome(3, False, b"", b"", 0), normal_exits=(3,)) is None
    assert classify(Outcome(None, True, b"", b"", 5)) == ("timeout", "timeout")
    assert classify(Outcome(-6, False, b"", b"memory allocation of 42 bytes failed\n", 0)) == \
        ("signal", "SIGABRT: memory allocation of N bytes failed")
    panic = b"\nthread 'main' (77) panicked at src/a.rs:3:9:\nindex 5 out of range\n"
    assert classify(Outcome(101, False, b"", panic, 0)) == \
        ("panic", "src/a.rs:3: index N out of range")
    assert classify(Outcome(1, False, b"", b"Traceback (most recent call last):\n"
                                           b"  ...\nKeyError: 7\n", 0)) == \
        ("exception", "KeyError: N")


def test_command_target_crash_classes(tmp_path):
    script = tmp_path / "fragile.py"
    script.write_text(FRAGILE)
    rc, summary, out = _fuzz(tmp_path, "--target", f"{PY} {script} {{file}}", "--runs", "12",
                             "--timeout", "2", "--seed", "3")
    assert rc == 1
    classes = {c["class"] for c in summary["crashes"]}
    assert {"signal", "exception"} <= classes
    for rep in _reports(summary):
        assert rep["reproducer_size"] <= rep["input_size"]
        repro = open(rep["reproducer"], "rb").read()
        again = subprocess.run([PY, str(script), rep["reproducer"]], capture_output=True)
        got = classify(Outcome(again.returncode, False, again.stdout, again.stderr, 0))
        assert got and got[1] == rep["signature"], (rep, repro)
        assert rep["stderr_head"] is not None and "replayfmt" in rep
        if rep["class"] == "signal":
            assert rep["signal"] == "SIGSEGV"


def test_timeout_is_a_crash(tmp_path):
    script = tmp_path / "fragile.py"
    script.write_text(FRAGILE)
    seed = bytearray(seed_inputs("segment", __import__("random").Random(0), 1)[0])
    seed[24:32] = (2**62 + 1).to_bytes(8, "little")
    (tmp_path / "slow.bin").write_bytes(seed)
    rc, summary, _ = _fuzz(tmp_path, "--target", f"{PY} {script} {{file}}", "--runs", "1",
                           "--timeout", "0.5", "--seeds", str(tmp_path / "slow.bin"),
                           "--minimise-budget", "0")
    assert rc == 1
    assert [c["class"] for c in summary["crashes"]] == ["timeout"]


def test_compare_agrees_with_itself(tmp_path):
    """replayfmt's own `info` as the target: no crash, and verdicts agree on every input."""
    target = f"{PY} -m replayfmt.cli info {{file}}"
    rc, summary, _ = _fuzz(tmp_path, "--target", target, "--runs", "25", "--compare",
                           "--kind", "sidecar")
    assert summary["crashes"] == [] and summary["mismatches"] == []
    assert summary["accepted"] >= 3 and summary["rejected"] >= 10
    assert rc == 0


def test_compare_reports_disagreement(tmp_path):
    script = tmp_path / "fragile.py"
    script.write_text(FRAGILE.replace("sys.exit(0 if n == len(data) - 32 else 1)",
                                      "sys.exit(0)"))
    rc, summary, _ = _fuzz(tmp_path, "--target", f"{PY} {script} {{file}}", "--runs", "20",
                           "--compare", "--ok-exit", "0,1")
    assert rc == 1
    assert any("replayfmt rejects" in m["detail"] for m in summary["mismatches"])


def test_usage_errors(tmp_path, capsys):
    assert main(["fuzz", "--target", "true", "--out", str(tmp_path)]) == 2
    assert main(["fuzz", "--target", "true {file}", "--kind", "mv2",
                 "--out", str(tmp_path)]) == 2
    assert main(["fuzz", "--target", "true {file}", "--runs", "0",
                 "--out", str(tmp_path)]) == 2


# --- the real memvid CLI ---------------------------------------------------------------------

@pytest.mark.memvid
def test_memvid_segment_length_2_62_aborts(tmp_path):
    rc, summary, _ = _fuzz(tmp_path, "--recipe", "memvid", "--kind", "segment",
                           "--runs", "8", "--compare")
    assert rc == 1
    reps = {r["signature"]: r for r in _reports(summary)}
    abort = next(r for s, r in reps.items() if s.startswith("SIGABRT"))
    assert abort["signal"] == "SIGABRT"
    assert "memory allocation of 4611686018427387904 bytes failed" in abort["stderr_head"]
    assert abort["how"].endswith("set to 4611686018427387904")
    assert abort["replayfmt"]["error"] == "length_overflow"
    # the injected reproducer still aborts the CLI
    with MemvidCLI() as cli:
        injected = next(p for p in abort["reproducer_files"] if p.endswith(".mv2"))
        proc = cli.run("session", "list", injected, "--format", "json", cwd=tmp_path)
    assert proc.returncode == -6
    # the same abort: the minimiser kept the 2^62 length, not another field's allocation
    assert b"memory allocation of 4611686018427387904 bytes failed" in proc.stderr
    assert any(r["class"] == "panic" and "capacity overflow" in s for s, r in reps.items())


@pytest.mark.memvid
def test_memvid_sidecar_length_2_64_panics(tmp_path):
    rc, summary, _ = _fuzz(tmp_path, "--recipe", "memvid", "--kind", "sidecar", "--runs", "8")
    assert rc == 1
    panic = next(r for r in _reports(summary) if r["class"] == "panic")
    assert "replay/mod.rs" in panic["signature"]
    assert panic["exit_code"] == 101
    assert panic["how"] == "length (block_len) set to 18446744073709551615"
    repro = open(panic["reproducer"], "rb").read()
    assert repro[:8] == b"MV2ACTIV" and repro[8:16] == b"\xff" * 8


@pytest.mark.memvid
@pytest.mark.parametrize("kind", ["sidecar", "segment"])
def test_memvid_agrees_with_the_reference_reading(tmp_path, kind):
    """Differential: on every input memvid handles without crashing, its verdict and its
    `session list` JSON agree with replayfmt read by the reference reader's rules."""
    rc, summary, _ = _fuzz(tmp_path, "--recipe", "memvid", "--kind", kind, "--runs", "60",
                           "--compare", "--lenient", "--seed", "5", "--minimise-budget", "0")
    assert summary["mismatches"] == []
    assert summary["accepted"] >= 10 and summary["rejected"] >= 5
    assert rc == 1  # the crashes are still findings


@pytest.mark.memvid
def test_memvid_accepts_trailing_bytes_in_a_sidecar(tmp_path):
    """Strict comparison: memvid ignores bytes after the envelope, replayfmt reports them."""
    seed = seed_inputs("sidecar", __import__("random").Random(0), 1)[0] + b"\x00junk"
    (tmp_path / "s.bin").write_bytes(seed)
    rc, summary, _ = _fuzz(tmp_path, "--recipe", "memvid", "--kind", "sidecar", "--runs", "1",
                           "--compare", "--seeds", str(tmp_path / "s.bin"))
    assert rc == 1
    (m,) = summary["mismatches"]
    assert m["detail"].startswith("replayfmt rejects (trailing_bytes), target accepts")


# --- the minimiser keeps the crash it started from --------------------------------------------

class _Allocator:
    """A reader that trusts sizes as memvid does: a Vec for session_count sessions (64 bytes
    each), then a buffer of the first session's declared length; an allocation over 1 GiB
    aborts it, naming its size."""

    normal_exits = (0, 1)

    def run(self, data: bytes, kind: str):
        import struct

        if len(data) < 16 or data[:8] != b"MV2RPLY!":
            return Outcome(1, False, b"", b"", 0), {}
        for size in (struct.unpack_from("<I", data, 12)[0] * 64,
                     struct.unpack_from("<Q", data, 24)[0] if len(data) >= 32 else 0):
            if size >= 1 << 30:
                msg = f"memory allocation of {size} bytes failed\n".encode()
                return Outcome(-6, False, b"", msg, 0), {}
        return Outcome(0, False, b"", b"", 0), {}


def test_minimiser_keeps_the_allocation_it_started_from():
    import struct
    import uuid

    from replayfmt import build_segment
    from replayfmt.fuzz_target import _minimise, cause
    from replayfmt.model import ReplaySession

    seg = bytearray(build_segment([ReplaySession(uuid.UUID(int=7), name="x" * 40)]))
    struct.pack_into("<Q", seg, 24, 2**62)
    target = _Allocator()
    first = target.run(bytes(seg), "segment")[0]
    assert classify(first) == ("signal", "SIGABRT: memory allocation of N bytes failed")
    small = _minimise(target, "segment", bytes(seg), classify(first)[1], 200)
    again = target.run(small, "segment")[0]
    assert b"memory allocation of 4611686018427387904 bytes" in again.stderr, again.stderr
    assert cause(again) == cause(first) == (
        "signal", "SIGABRT: memory allocation of 4611686018427387904 bytes failed")
    # small numbers (offsets, indexes) keep only their magnitude
    assert cause(Outcome(-6, False, b"", b"index 17 out of range\n", 0)) == (
        "signal", "SIGABRT: index N~2^5 out of range")
    assert len(small) < len(seg)
