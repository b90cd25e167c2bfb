#!/usr/bin/env python3
"""replayfmt benchmark suite: codecs in process, and whole commands against the memvid CLI.

    .venv/bin/python benchmarks/run.py                 # 1k, 10k, 100k, 1M actions
    .venv/bin/python benchmarks/run.py --quick         # 1k and 10k, fewer repeats
    .venv/bin/python benchmarks/run.py --sizes 100000 --repeat 7 --json out.json

In process, per size (one synthetic session, ~300 bytes/action, benchmarks/synth.py):
parse and build with replayfmt (the generated codec), the hand-written struct reference
(benchmarks/handwritten.py), Construct interpreted and Construct compiled (sizes up to
--construct-max), all interleaved in the same run; model memory as retained bytes / wire
bytes (tracemalloc). Whole process, per --e2e-sizes: `memvid session view --format json` vs
`replayfmt dump --format memvid-json` (outputs compared byte for byte) and `memvid session
list` vs `replayfmt info` / `replayfmt info --headers`, on a .mv2 made by the real CLI
(`memvid create`, our sidecar of N actions, `memvid session end`), as the interop tests do.

Times are medians over --repeat runs; ratios to the hand-written codec are medians of the
ratios within each repeat (the codecs run back to back). In-process times are CPU time
(time.process_time) of this process; whole-process times are wall clock, and user+sys CPU
and peak RSS of the child (/usr/bin/time). Every ratio compares numbers measured in the same run.
The cyclic GC is paused during every bulk decode (replayfmt does it itself; the others get the
same).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import handwritten as _handwritten  # noqa: E402
import synth  # noqa: E402

from replayfmt import _generated as _G  # noqa: E402
from replayfmt import _generated_model as _GM  # noqa: E402
from replayfmt import (  # noqa: E402
    codec,
    oracle,  # noqa: E402
    schema,
)
from replayfmt.accel import native as _N  # noqa: E402

# the codecs measured, called as they come (generated and hand-written code, untyped)
G: Any = _G
GM: Any = _GM
N: Any = _N
handwritten: Any = _handwritten

DATA = HERE / ".data"
CPU = time.process_time
TRACE_MAX = 100_000


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def data_for(n: int) -> tuple[bytes, bytes]:
    """(segment bytes, sidecar bytes) of one synthetic session of n actions, cached."""
    DATA.mkdir(exist_ok=True)
    seg, side = DATA / f"seg-{n}.bin", DATA / f"active-{n}.session"
    if not (seg.exists() and side.exists()):
        print(f"  generating {n} actions ...", file=sys.stderr, flush=True)
        session = synth.make_session(n, ended=False)
        side.write_bytes(codec.build_active_session(synth.make_active_from(session)))
        session.ended_secs = session.created_secs + 30_000
        seg.write_bytes(codec.build_segment([session]))
        del session
        gc.collect()
    return seg.read_bytes(), side.read_bytes()


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    gc.collect()
    with codec.bulk():
        t = CPU()
        value = fn(*args)
        return CPU() - t, value


# --- the codecs --------------------------------------------------------------------------

def rf_parse(b: bytes) -> Any:
    """The generated Python (the pure path), on the same bytes as hand_parse."""
    s, _ = GM.parse_ReplaySession(b, 32, len(b))
    return s


def native_parse(b: bytes) -> Any:  # the compiled path (replayfmt._native), when it is built
    s, _ = N.parse_ReplaySession(b, 32, len(b))
    return s


def hand_parse(b: bytes) -> Any:
    s, _ = handwritten.parse_session(b, 32, len(b))
    return s


def rf_build(seg: Any) -> bytearray:
    out = bytearray()  # the same work as hand_build: one session into a bytearray
    G.build_ReplaySession(seg.sessions[0], out)
    return out


def native_build(seg: Any) -> bytearray:
    out = bytearray()
    N.build_ReplaySession(seg.sessions[0], out)
    return out


def hand_build(seg: Any) -> bytearray:
    out = bytearray()
    handwritten.build_session(seg.sessions[0], out)
    return out


_COMPILED: Any = None


def construct_compiled() -> Any:
    global _COMPILED
    if _COMPILED is None:
        _COMPILED = schema.Segment.compile()
    return _COMPILED


def codec_bench(n: int, repeat: int, construct_max: int) -> list[dict[str, Any]]:
    b, _ = data_for(n)
    names = ["replayfmt", "native", "hand-written", "construct", "construct-compiled"]
    times: dict[tuple[str, str], list[float]] = {
        (k, op): [] for k in names for op in ("parse", "build")}
    seg = codec.parse_segment(b)
    hand = hand_parse(b)
    assert hand == seg.sessions[0], "hand-written reference disagrees"
    assert rf_parse(b) == hand
    if N is not None:
        assert native_parse(b) == hand, "compiled path disagrees"
    assert codec.build_segment(seg.sessions) == b
    assert bytes(rf_build(seg)) == bytes(hand_build(seg)) == b[32:]
    if N is not None:
        assert bytes(native_build(seg)) == b[32:], "compiled encoder disagrees"
    container = None
    use_construct = n <= construct_max
    if use_construct:
        container = schema.Segment.parse(b)
        to_model: Any = oracle.to_model
        assert to_model(schema.ReplaySession, container.sessions[0]) == hand
    for _ in range(repeat):  # interleaved, so that a noisy neighbour hits every codec alike
        times["replayfmt", "parse"].append(timed(rf_parse, b)[0])
        times["hand-written", "parse"].append(timed(hand_parse, b)[0])
        if N is not None:
            times["native", "parse"].append(timed(native_parse, b)[0])
            times["native", "build"].append(timed(native_build, seg)[0])
        times["replayfmt", "build"].append(timed(rf_build, seg)[0])
        times["hand-written", "build"].append(timed(hand_build, seg)[0])
        if use_construct:
            times["construct", "parse"].append(timed(schema.Segment.parse, b)[0])
            times["construct-compiled", "parse"].append(timed(construct_compiled().parse, b)[0])
            times["construct", "build"].append(timed(schema.Segment.build, container)[0])
            times["construct-compiled", "build"].append(
                timed(construct_compiled().build, container)[0])
    del container
    gc.collect()
    # model memory: bytes retained by the decoded model, over the wire size (tracemalloc up
    # to --trace-max actions; above, the growth of this process's RSS, an upper bound)
    del seg
    gc.collect()
    if n <= TRACE_MAX:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        kept = codec.parse_segment(b)
        model_bytes = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    else:
        before = _rss()
        kept = codec.parse_segment(b)
        model_bytes = _rss() - before
    del kept
    out = []
    for name in names:
        row = {"size": n, "codec": name, "wire_bytes": len(b)}
        for op in ("parse", "build"):
            ts = times[name, op]
            if ts:
                med = statistics.median(ts)
                row[f"{op}_s"] = med
                row[f"{op}_us_per_action"] = med / n * 1e6
                row[f"{op}_mb_s"] = len(b) / med / 1e6
        if name == "replayfmt":
            row["model_bytes"] = model_bytes
            row["model_over_wire"] = model_bytes / len(b)
        out.append(row)
    # Ratios are medians of paired ratios (each codec against the hand-written one measured
    # right before or after it in the same repeat): robust to a neighbour's load drifting.
    for row in out:
        for op in ("parse", "build"):
            mine, ref = times[str(row["codec"]), op], times["hand-written", op]
            if mine and ref:
                pairs = zip(mine, ref, strict=False)
                row[f"{op}_vs_hand"] = statistics.median(a / b for a, b in pairs)
    return out


# --- whole process against memvid ---------------------------------------------------------

def run_process(argv: list[str], env: dict[str, str] | None = None,
                stdout_path: Path | None = None) -> dict[str, float]:
    """Wall time, user+sys CPU and peak RSS of one child process.

    The child runs under /usr/bin/time when it exists: a forked Python child would count this
    (large) process's pages in its own peak RSS.
    """
    timer = shutil.which("time") or "/usr/bin/time"
    stats = None
    if os.path.exists(timer):
        fd, stats = tempfile.mkstemp(prefix="rf-time-")
        os.close(fd)
        argv = [timer, "-f", "%U %S %M", "-o", stats, *argv]
    out: Any = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        t = time.perf_counter()
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, env=env)
        wall = time.perf_counter() - t
    finally:
        if stdout_path:
            out.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[-6:]))} failed: {proc.stderr[-500:]!r}")
    if stats:
        user, sys_, rss_kb = Path(stats).read_text().split()[-3:]
        os.unlink(stats)
        return {"wall": wall, "cpu": float(user) + float(sys_), "rss_mb": int(rss_kb) / 1024}
    return {"wall": wall, "cpu": float("nan"), "rss_mb": float("nan")}


def sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def e2e_bench(n: int, repeat: int, work: Path, dump_max: int) -> list[dict[str, Any]]:
    from replayfmt.peer import MemvidCLI

    _, sidecar = data_for(n)
    case = work / f"n{n}"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir(parents=True)
    mv2 = case / "mem.mv2"
    rows = []
    with MemvidCLI() as memvid:
        memvid.create(mv2)
        (case / "mem.mv2.session").write_bytes(sidecar)
        memvid.session_end(mv2)
        sid = json.loads(memvid.session_list_json(mv2))[0]["session_id"]
        env = memvid.environ()
        mv = [str(memvid.binary)]
        rf = [str(Path(sys.executable).with_name("replayfmt"))]
        pure = {**os.environ, "REPLAYFMT_PURE": "1"}
        native = None if N is not None else pure  # without the build both rows are pure

        def both(name: str, argv: list[str]
                 ) -> list[tuple[str, list[str], dict[str, str] | None]]:
            """The compiled path (when built) and the pure-Python path."""
            return [(name, argv, native), (f"{name} [pure]", argv, pure)]

        pairs = [("list --format json", mv + ["session", "list", str(mv2), "--format", "json"],
                  both("info", rf + ["info", str(mv2)])
                  + both("validate", rf + ["validate", str(mv2)])
                  + [("info --headers", rf + ["info", "--headers", str(mv2)], native)])]
        if n <= dump_max:
            pairs.append(("view --format json",
                          mv + ["session", "view", str(mv2), "-s", sid, "--format", "json"],
                          both("dump --format memvid-json",
                               rf + ["dump", str(mv2), "-s", sid, "--format", "memvid-json"])))
        for label, mv_argv, ours in pairs:
            results: dict[str, list[dict[str, float]]] = {label: []}
            results.update({o: [] for o, _, _ in ours})
            mv_out, rf_out = case / "memvid.out", case / "replayfmt.out"
            for _ in range(repeat):
                results[label].append(run_process(mv_argv, env, mv_out))
                for o, argv, o_env in ours:
                    results[o].append(run_process(argv, o_env, rf_out))
                    if o.startswith("dump"):
                        assert sha(mv_out) == sha(rf_out), "dump output differs from memvid's"
            base: dict[str, Any] = {}
            for name, runs in results.items():
                row: dict[str, Any] = {
                       "size": n, "tool": "memvid" if name == label else "replayfmt",
                       "command": name,
                       "wall_s": statistics.median(r["wall"] for r in runs),
                       "cpu_s": statistics.median(r["cpu"] for r in runs),
                       "rss_mb": max(r["rss_mb"] for r in runs)}
                if name == label:
                    base = row
                else:
                    row["wall_vs_memvid"] = row["wall_s"] / base["wall_s"]
                    row["cpu_vs_memvid"] = row["cpu_s"] / base["cpu_s"]
                    if name.startswith("dump"):
                        row["identical_output"] = True
                rows.append(row)
    shutil.rmtree(case, ignore_errors=True)
    return rows


# --- report -------------------------------------------------------------------------------

def fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def print_tables(codec_rows: list[dict[str, Any]], e2e_rows: list[dict[str, Any]]) -> None:
    if codec_rows:
        print("\nParse and build in process (median CPU time; ratio = this / hand-written, "
              "same run)")
        print(f"{'actions':>9} {'codec':<19} {'parse us/act':>12} {'MB/s':>7} {'ratio':>6} "
              f"{'build us/act':>12} {'MB/s':>7} {'ratio':>6} {'model/wire':>10}")
        for r in codec_rows:
            if "parse_s" not in r:
                continue
            print(f"{r['size']:>9} {r['codec']:<19} {fmt(r.get('parse_us_per_action')):>12} "
                  f"{fmt(r.get('parse_mb_s'), '.0f'):>7} {fmt(r.get('parse_vs_hand')):>6} "
                  f"{fmt(r.get('build_us_per_action')):>12} {fmt(r.get('build_mb_s'), '.0f'):>7} "
                  f"{fmt(r.get('build_vs_hand')):>6} {fmt(r.get('model_over_wire')):>10}")
    if e2e_rows:
        print("\nWhole process against the memvid CLI (median wall / user+sys CPU; peak RSS; "
              "ratio = replayfmt / memvid, same run)")
        print(f"{'actions':>9} {'command':<44} {'wall s':>7} {'cpu s':>7} {'RSS MB':>7} "
              f"{'wall x':>7} {'cpu x':>6}")
        for r in e2e_rows:
            cmd = f"{r['tool']} {r['command']}"
            print(f"{r['size']:>9} {cmd:<44} {r['wall_s']:>7.3f} {r['cpu_s']:>7.3f} "
                  f"{r['rss_mb']:>7.0f} {fmt(r.get('wall_vs_memvid')):>7} "
                  f"{fmt(r.get('cpu_vs_memvid')):>6}")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu": cpu, "cores": os.cpu_count(), "load": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000",
                    help="actions per session, comma-separated")
    ap.add_argument("--quick", action="store_true", help="1k and 10k actions, 3 repeats")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    ap.add_argument("--construct-max", type=int, default=10000,
                    help="largest size also run through Construct (it is slow)")
    ap.add_argument("--e2e-sizes", default=None,
                    help="sizes for the memvid comparison (default: the --sizes >= 100000, "
                         "or 10000 with --quick)")
    ap.add_argument("--dump-max", type=int, default=100000,
                    help="largest size for the dump/view comparison (memvid prints ~1.3 KB "
                         "of JSON per action)")
    ap.add_argument("--no-memvid", action="store_true", help="skip the whole-process part")
    ap.add_argument("--json", metavar="FILE", help="also write every row as JSON")
    args = ap.parse_args(argv)
    sizes = [1000, 10000] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeat = 3 if args.quick and args.repeat == 5 else args.repeat
    if args.e2e_sizes:
        e2e_sizes = [int(s) for s in args.e2e_sizes.split(",")]
    else:
        e2e_sizes = [10000] if args.quick else [s for s in sizes if s >= 100000]
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "replayfmt")],
                   check=True)  # as an installed package has: no recompiling per process
    info = machine()
    print(f"replayfmt benchmarks: Python {info['python']}, {info['cpu']}, {info['cores']} "
          f"cores, load {info['load'][0]:.2f}", flush=True)
    codec_rows, e2e_rows = [], []
    for n in sizes:
        print(f"codecs: {n} actions ...", file=sys.stderr, flush=True)
        codec_rows += codec_bench(n, repeat, args.construct_max)
    if not args.no_memvid and e2e_sizes:
        work = Path(tempfile.mkdtemp(prefix="replayfmt-bench-"))
        try:
            for n in e2e_sizes:
                print(f"memvid: {n} actions ...", file=sys.stderr, flush=True)
                e2e_rows += e2e_bench(n, repeat, work, args.dump_max)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print_tables(codec_rows, e2e_rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "codecs": codec_rows,
                                               "memvid": e2e_rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
