#!/usr/bin/env python3
"""Peak memory of each former blowup of issue 13, every command under a 2 GB address-space cap.

    .venv/bin/python benchmarks/blowups.py [--dir DIR] [--cap-gb 2]

Builds each hostile or merely large input with the library in a temporary directory, runs the
command as `python -m replayfmt ...` in a child process whose RLIMIT_AS is the cap, and prints
the exit code, the wall time and the peak resident set (ru_maxrss of the children: the
command's own process included) next to the input size. The numbers go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import replayfmt as R  # noqa: E402
from replayfmt import mv2  # noqa: E402
from replayfmt.model import Find, Put, ReplayAction, ReplaySession  # noqa: E402

P09 = ROOT / "fixtures" / "real" / "p09_auto_checkpoint_3"


def _session(i: int, actions: int, text: str = "a query about memory") -> ReplaySession:
    acts = [ReplayAction(k, 1_700_000_000 + k,
                         Find(text, "lexical", 1) if k % 2 else Put(k),
                         input_preview=text, affected_frames=[k] if k % 2 else [])
            for k in range(actions)]
    return ReplaySession(uuid.UUID(int=i + 1), f"s{i}", 1_700_000_000, 1_800_000_000, [],
                         acts)


def segment_of(size: int, actions: int = 1000) -> bytes:
    """A clean segment of about `size` bytes: sessions of `actions` actions, distinct ids."""
    one = R.build_segment([_session(0, actions)])
    block = one[24:]
    count = max(1, size // len(block))
    out = bytearray(b"MV2RPLY!" + struct.pack("<IIQ", 1, count, 24 + count * len(block)))
    body = bytearray(block)
    for i in range(count):
        body[16:32] = (i + 1).to_bytes(16, "big")  # the session id (Uuid: u64 16, 16 bytes)
        out += body
    return bytes(out)


def sparse_mv2(path: Path, hole: int) -> None:
    """A real .mv2 with a `hole`-byte sparse gap between its data and its TOC (the header's
    footer_offset moved past it; the TOC and its hashes are unchanged)."""
    data = (P09 / "mem.mv2").read_bytes()
    layout = mv2.read_layout(data)
    head = bytearray(data[:layout.footer_offset])
    at = head.find(struct.pack("<Q", layout.footer_offset), 0, 4096)
    struct.pack_into("<Q", head, at, layout.footer_offset + hole)
    with open(path, "wb") as fh:
        fh.write(head)
        fh.seek(hole, os.SEEK_CUR)
        fh.write(data[layout.footer_offset:])


def write_inputs(work: Path) -> None:
    seg25 = segment_of(24_800_000)
    (work / "seg25.bin").write_bytes(seg25)
    (work / "seg25-trailing.bin").write_bytes(seg25 + b"\x00")
    damaged = bytearray(seg25)
    at = damaged.index(b"a query about memory", len(damaged) // 2)
    damaged[at] = 0xFF  # invalid UTF-8 in a session in the middle
    (work / "seg25-damaged.bin").write_bytes(bytes(damaged))
    n = 2_000_000  # 16 MB of empty session blocks: one diagnostic each
    (work / "flood.bin").write_bytes(b"MV2RPLY!" + struct.pack("<IIQ", 1, n, 24 + 8 * n)
                                     + bytes(8 * n))
    (work / "seg124.bin").write_bytes(segment_of(124_000_000))
    magics = (b"MV2RPLY!" + b"MV2ACTIV") * (160_000_000 // 16)
    (work / "magics.bin").write_bytes(magics)
    sparse_mv2(work / "sparse.mv2", 4_600_000_000)
    (work / "small.bin").write_bytes((P09 / "segment-0.bin").read_bytes())
    with open(work / "sparse.json", "wb") as fh:
        fh.truncate(4_600_000_000)


def rows(work: Path) -> list[tuple[str, list[str], Path]]:
    nul = str(work / "out")
    return [
        ("validate, one trailing byte (24.8 MB)", ["validate", "seg25-trailing.bin"],
         work / "seg25-trailing.bin"),
        ("validate, bad UTF-8 in a middle session (24.8 MB)", ["validate", "seg25-damaged.bin"],
         work / "seg25-damaged.bin"),
        ("validate, clean (24.8 MB)", ["validate", "seg25.bin"], work / "seg25.bin"),
        ("hexmap text (24.8 MB)", ["hexmap", "seg25.bin"],
         work / "seg25.bin"),
        ("validate --json, 2M diagnostics (16 MB)", ["validate", "--json", "flood.bin"],
         work / "flood.bin"),
        ("dump, whole segment (124 MB)", ["dump", "seg124.bin", "-o", nul, "--force"],
         work / "seg124.bin"),
        ("carve, 160 MB of magic strings", ["carve", "magics.bin"], work / "magics.bin"),
        ("diff, 4.6 GB sparse .mv2 vs its segment", ["diff", "sparse.mv2", "small.bin"],
         work / "sparse.mv2"),
        ("hexmap, 4.6 GB sparse .mv2", ["hexmap", "sparse.mv2"], work / "sparse.mv2"),
        ("info, 4.6 GB sparse .mv2", ["info", "sparse.mv2"], work / "sparse.mv2"),
        ("build, 4.6 GB sparse file", ["build", "sparse.json", "-o", nul, "--force"],
         work / "sparse.json"),
        ("build/diff/hexmap of /dev/zero", ["hexmap", "/dev/zero"], Path("/dev/zero")),
    ]


def run(argv: list[str], cwd: Path, cap: int) -> tuple[int, float, float]:
    def limit() -> None:
        if cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "replayfmt", *argv], cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1):
        print(f"    stderr: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    # ru_maxrss of the children is a running maximum: each case runs from a fresh
    # interpreter (`--one`), so the value printed is the case's own.
    return proc.returncode, wall, peak / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", help="where to write the inputs (default: a temp dir)")
    ap.add_argument("--cap-gb", type=float, default=2.0,
                    help="RLIMIT_AS of each command (0: no cap)")
    ap.add_argument("--only", help="run only the cases whose label contains this")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run case i alone
    args = ap.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="replayfmt-blowups-"))
    work.mkdir(parents=True, exist_ok=True)
    cap = int(args.cap_gb * (1 << 30))
    try:
        if args.one is not None:  # a fresh process per case: ru_maxrss is then its own
            label, argv, _ = rows(work)[args.one]
            code, wall, rss = run(argv, work, cap)
            print(f"{code} {wall:.2f} {rss:.0f}")
            return 0
        if not (work / "small.bin").exists():
            print("writing the inputs ...", flush=True)
            write_inputs(work)
        print(f"{'what':<50} {'input':>10} {'exit':>5} {'wall s':>7} {'peak RSS MB':>12}")
        for i, (label, _argv, path) in enumerate(rows(work)):
            if args.only and args.only not in label:
                continue
            out = subprocess.run([sys.executable, __file__, "--dir", str(work), "--cap-gb",
                                  str(args.cap_gb), "--one", str(i)],
                                 capture_output=True, text=True, check=True).stdout.split()
            code_s, wall_s, rss_s = out[-3:]
            size = path.stat().st_size if path.is_file() else 0
            shown = f"{size / 1e6:.1f} MB" if size < 1e9 else f"{size / 1e9:.1f} GB"
            print(f"{label:<50} {shown:>10} {code_s:>5} {float(wall_s):>7.1f} "
                  f"{float(rss_s):>12.0f}", flush=True)
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
