"""Decoding a large `.mv2` TOC, against the time memvid takes to open the same file.

    .venv/bin/python benchmarks/toc.py [FILE.mv2] [--frames N]

Without FILE, a file with N frames (default 10,000) is built from the memvid-sdk 2.0.160 fixture
by repeating its frame records (ids and uris renumbered, every checksum recomputed): memvid opens
it like its own. Reports the TOC size, decode (the generated container codec, every layout tried
in order), re-encode (checked byte-identical), the container checks, `mv2.live_segment`, and
`memvid stats` / `memvid session list` wall times (process start included) when the memvid CLI
is installed: medians of --repeat runs (default 3), and the ratios to `memvid stats`.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def timed(fn, repeat: int):
    """(median wall time of `repeat` runs, the last run's value)."""
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?")
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
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
        dt, t = timed(lambda: mv2.read_toc(data, lay), args.repeat)
        print(f"file {len(data):,} bytes; TOC {lay.toc_len:,} bytes, {len(t.frames):,} frames, "
              f"layout {t.layout}; medians of {args.repeat} runs")
        rows = [("decode TOC", dt, "")]
        de, raw = timed(lambda: toc.encode_toc(t), args.repeat)
        same = raw == data[lay.footer_offset:lay.footer_pos]
        rows.append(("re-encode TOC", de, f"byte-identical: {same}"))
        dc, checks = timed(lambda: toc.container_checks(data, lay.footer_offset,
                                                        lay.footer_pos, t), args.repeat)
        rows.append(("container checks", dc, f"all ok: {all(c.ok for c in checks)}"))
        dl, _ = timed(lambda: mv2.live_segment(data), args.repeat)
        rows.append(("mv2.live_segment", dl, ""))
        di, proc = timed(lambda: subprocess.run(
            [sys.executable, "-m", "replayfmt", "info", str(path)], capture_output=True,
            cwd=ROOT), args.repeat)
        rows.append(("replayfmt info", di, f"exit {proc.returncode} (process start included)"))
        stats = None
        try:
            from replayfmt.peer import MemvidCLI

            with MemvidCLI() as cli:
                for label, cmd in (("memvid stats", ("stats", path, "--json")),
                                   ("memvid session list", ("session", "list", path))):
                    dm, proc = timed(lambda c=cmd: cli.run(*c, cwd=work), args.repeat)
                    rows.append((label, dm, f"exit {proc.returncode}"))
                    stats = dm if stats is None else stats
        except Exception as exc:  # no CLI installed: the decode figures still stand
            print(f"memvid CLI not run: {exc}")
        for label, secs, note in rows:
            ratio = f"{secs / stats:6.2f}x memvid stats" if stats else ""
            print(f"{label:<20} {secs:8.3f} s  {ratio}  {note}".rstrip())
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
