#!/usr/bin/env python3
"""Flat memory on a multi-gigabyte file: peak RSS of streaming reads vs the file size.

    .venv/bin/python benchmarks/bigfile.py --gb 2.5

Writes one replay segment of about --gb gigabytes (copies of a 100k-action synthetic session,
~30 MB each, each with its own session id) into a temp dir, then runs, each in its own process
under /usr/bin/time: `replayfmt.iter_sessions` decoding every session one at a time,
`replayfmt info` (every byte checked, summaries only), `replayfmt info --headers` and
`replayfmt carve --json` (every magic string tried, every candidate fully checked) and
`replayfmt validate`, and
prints wall time and peak RSS next to the file size and the size of one session.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import data_for  # noqa: E402

ITER = """
import sys, replayfmt
n = s = 0
for session in replayfmt.iter_sessions(sys.argv[1]):
    n += len(session.actions); s += 1
print(s, n)
"""


def write_big(path: Path, gigabytes: float, per_session: int) -> tuple[int, int, int]:
    seg, _ = data_for(per_session)
    block = seg[24:]  # u64 length + one session
    count = max(1, int(gigabytes * 1e9 // len(block)))
    total = 24 + count * len(block)
    with open(path, "wb") as fh:
        fh.write(b"MV2RPLY!" + struct.pack("<IIQ", 1, count, total))
        body = bytearray(block)
        for i in range(count):
            body[8 + 8:8 + 24] = i.to_bytes(16, "big")  # a distinct session id per copy
            fh.write(body)
    return count, total, len(block)


def measure(argv: list[str]) -> tuple[float, float, str]:
    stats = tempfile.mktemp(prefix="rf-time-")
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", stats, *argv],
                          capture_output=True)
    if proc.returncode not in (0, 1):  # 1: validate's findings (synthetic hashes are random)
        raise subprocess.CalledProcessError(proc.returncode, argv, proc.stdout, proc.stderr)
    wall = time.perf_counter() - t
    rss = int(Path(stats).read_text().split()[-1]) / 1024
    os.unlink(stats)
    return wall, rss, proc.stdout.decode().strip().splitlines()[-1][:80]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gb", type=float, default=2.5, help="file size in GB")
    ap.add_argument("--per-session", type=int, default=100000, help="actions per session")
    ap.add_argument("--dir", help="where to write the file (default: a temp dir)")
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="replayfmt-big-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "big-segment.bin"
    try:
        count, total, block = write_big(path, args.gb, args.per_session)
        print(f"file: {total / 1e9:.2f} GB, {count} sessions of {args.per_session} actions "
              f"({block / 1e6:.1f} MB each), {count * args.per_session} actions")
        rf = str(Path(sys.executable).with_name("replayfmt"))
        rows = [("iter_sessions (decode every session)", [sys.executable, "-c", ITER, str(path)]),
                ("replayfmt info (every byte checked)", [rf, "info", str(path)]),
                ("replayfmt info --headers", [rf, "info", "--headers", str(path)]),
                ("replayfmt carve --json (every byte checked)", [rf, "carve", "--json", str(path)]),
                ("replayfmt validate (every check)", [rf, "validate", str(path)])]
        print(f"{'what':<40} {'wall s':>8} {'peak RSS MB':>12}  output")
        for label, argv in rows:
            wall, rss, out = measure(argv)
            print(f"{label:<40} {wall:>8.1f} {rss:>12.0f}  {out}")
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
