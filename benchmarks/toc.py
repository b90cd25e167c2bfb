"""Decoding a large `.mv2` TOC, against the time memvid takes to open the same file.

    .venv/bin/python benchmarks/toc.py [FILE.mv2] [--frames N]

Without FILE, a file with N frames (default 10,000) is built from the memvid-sdk 2.0.160 fixture
by repeating its frame records (ids and uris renumbered, every checksum recomputed): memvid opens
it like its own. Reports the TOC size, decode (Construct, every layout tried in order), re-encode
(checked byte-identical), the container checks, `mv2.live_segment`, and `memvid stats` /
`memvid session list` wall times (process start included) when the memvid CLI is installed.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
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


def timed(fn, repeat: int = 1):
    best, value = None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best, value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?")
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2)
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
              f"layout {t.layout}")
        print(f"decode TOC           {dt:8.3f} s")
        de, raw = timed(lambda: toc.encode_toc(t))
        same = raw == data[lay.footer_offset:lay.footer_pos]
        print(f"re-encode TOC        {de:8.3f} s  byte-identical: {same}")
        dc, checks = timed(lambda: toc.container_checks(data, lay.footer_offset,
                                                        lay.footer_pos, t))
        print(f"container checks     {dc:8.3f} s  all ok: {all(c.ok for c in checks)}")
        dl, _ = timed(lambda: mv2.live_segment(data))
        print(f"mv2.live_segment     {dl:8.3f} s")
        try:
            from replayfmt.peer import MemvidCLI

            with MemvidCLI() as cli:
                for cmd in (("stats", path, "--json"), ("session", "list", path)):
                    dm, proc = timed(lambda c=cmd: cli.run(*c, cwd=work), args.repeat)
                    print(f"memvid {' '.join(map(str, cmd[:2 if cmd[0] == 'session' else 1])):<14}"
                          f"{dm:8.3f} s  exit {proc.returncode}")
        except Exception as exc:  # no CLI installed: the decode figures still stand
            print(f"memvid CLI not run: {exc}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
