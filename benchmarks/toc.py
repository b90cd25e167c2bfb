"""Decoding a large `.mv2` TOC, against the time memvid takes to open the same file.

    .venv/bin/python benchmarks/toc.py [FILE.mv2] [--frames N] [--repeat N] [--oracle]

Without FILE, a file with N frames (default 10,000) is built from the memvid-sdk 2.0.160 fixture
by repeating its frame records (ids and uris renumbered, every checksum recomputed): memvid opens
it like its own. Reports the TOC size, decode (the generated container codec, every layout tried
in order), re-encode (checked byte-identical), the container checks, `mv2.live_segment`, and
`memvid stats` / `memvid session list` times (process start included) when the memvid CLI is
installed: medians of --repeat runs (default 3) of wall and CPU time, and their ratios to
`memvid stats`. `--oracle` adds the Construct decode the tests compare against.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replayfmt import mv2, toc  # noqa: E402


def build(frames: int) -> bytes:
    data = gzip.decompress((ROOT / "fixtures" / "sdk" / "2.0.160" / "mem.mv2.gz").read_bytes())
    t = mv2.read_toc(data)
    out = []
    for i in range(frames):
        f = dict(t.frames[i % len(t.frames)])
        f["id"], f["uri"] = i, f"mv2://bench/{i}"
        out.append(f)
    return toc.with_toc(data, toc.encode_toc(t, dict(t.value, frames=out)))


def _cpu() -> float:
    """CPU seconds of this process and its finished children (less sensitive to other load
    on the machine than wall time)."""
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + c.ru_utime + c.ru_stime


def timed(fn: Any, repeat: int) -> Any:
    """(median wall time, median CPU time, the last value) of `repeat` runs of `fn`."""
    times, cpus, value = [], [], None
    for _ in range(repeat):
        c0, t0 = _cpu(), time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    return statistics.median(times), statistics.median(cpus), value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?")
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--oracle", action="store_true",
                    help="also decode through the Construct oracle (the test reference; slow)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="toc-bench-"))
    try:
        path = work / "mem.mv2"
        if args.file:
            shutil.copy(args.file, path)
        else:
            path.write_bytes(build(args.frames))
        data = path.read_bytes()
        lay = mv2.read_layout(data)
        dt, ct, t = timed(lambda: mv2.read_toc(data, lay), args.repeat)
        print(f"file {len(data):,} bytes; TOC {lay.toc_len:,} bytes, {len(t.frames):,} frames, "
              f"layout {t.layout}; medians of {args.repeat} runs")
        rows = [("decode TOC", dt, ct, "")]
        if args.oracle:
            from replayfmt import oracle

            do, co, _ = timed(lambda: oracle.parse_toc(data, lay.footer_offset, lay.footer_pos),
                              args.repeat)
            rows.append(("decode (Construct)", do, co, "the test oracle"))
        de, ce, raw = timed(lambda: toc.encode_toc(t), args.repeat)
        same = raw == data[lay.footer_offset:lay.footer_pos]
        rows.append(("re-encode TOC", de, ce, f"byte-identical: {same}"))
        dc, cc, checks = timed(lambda: toc.container_checks(data, lay.footer_offset,
                                                        lay.footer_pos, t), args.repeat)
        rows.append(("container checks", dc, cc,
                     f"all ok: {all(c.ok for c in checks)}"))
        dl, cl, _ = timed(lambda: mv2.live_segment(data), args.repeat)
        rows.append(("mv2.live_segment", dl, cl, ""))
        di, ci, proc = timed(lambda: subprocess.run(
            [sys.executable, "-m", "replayfmt", "info", str(path)], capture_output=True,
            cwd=ROOT), args.repeat)
        rows.append(("replayfmt info", di, ci,
                     f"exit {proc.returncode} (process start included)"))
        stats = None
        try:
            from replayfmt.peer import MemvidCLI

            with MemvidCLI() as cli:
                for label, cmd in (("memvid stats", ("stats", path, "--json")),
                                   ("memvid session list", ("session", "list", path))):
                    dm, cm, proc = timed(lambda c=cmd: cli.run(*c, cwd=work), args.repeat)
                    rows.append((label, dm, cm, f"exit {proc.returncode}"))
                    stats = (dm, cm) if stats is None else stats
        except Exception as exc:  # no CLI installed: the decode figures still stand
            print(f"memvid CLI not run: {exc}")
        print(f"{'':<20} {'wall':>8}    {'cpu':>8}    ratios to memvid stats (wall, cpu)")
        for label, secs, cpu, note in rows:
            ratio = f"{secs / stats[0]:6.2f}x {cpu / stats[1]:6.2f}x" if stats else ""
            print(f"{label:<20} {secs:8.3f} s  {cpu:8.3f} s  {ratio}  {note}".rstrip())
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
