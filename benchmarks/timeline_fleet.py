#!/usr/bin/env python3
"""The timeline of a fleet of files: one process, a local process pool, and Dask.

    .venv/bin/python benchmarks/timeline_fleet.py --files 1000

Makes --files files in a temp dir by copying the real fixtures (segments, sidecars, .mv2) and
varying a third of the segments (fresh session ids, times shifted by up to a day), then times
the same timeline four ways, checking each gives the same rows as the first:

- local: `iter_timeline(files)` in this process (merged, time-ordered);
- local -j 2: `iter_timeline(files, jobs=2)` (a process pool of two);
- Dask bag: `dask_bag(files).compute()` on a `distributed.LocalCluster` with two worker
  processes (one thread each), cluster start-up timed apart;
- Dask dataframe: `to_dask_dataframe(files).compute()` on that cluster;
- the per-file function through `client.map` over 16 chunks (no bag or dataframe layer).

The Dask runs are timed twice (cold: the workers import replayfmt, pandas and pyarrow first).

Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def make_fleet(directory: Path, n: int, seed: int = 7) -> list[str]:
    """n files from the real fixtures: copies, and every third segment re-built with new
    session ids and shifted times."""
    from replayfmt import build_segment, parse_segment

    real = ROOT / "fixtures" / "real"
    sources = (sorted(real.glob("p*/segment-*.bin")) + sorted(real.glob("p*/active-*.bin"))
               + sorted(real.glob("p*/mem.mv2")))
    rng = random.Random(seed)
    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        dst = directory / f"f{i:05d}-{src.parent.name}-{src.name}"
        if src.name.startswith("segment-") and i % 3 == 0:
            seg = parse_segment(src.read_bytes())
            for s in seg.sessions:
                s.session_id = uuid.UUID(int=rng.getrandbits(128))
                shift = rng.randrange(-86400, 86400)
                s.created_secs += shift
                if s.ended_secs is not None:
                    s.ended_secs += shift
                for a in s.actions:
                    a.timestamp_secs += shift
                for c in s.checkpoints:
                    c.timestamp_secs += shift
            dst.write_bytes(build_segment(seg.sessions))
        else:
            shutil.copy(src, dst)
        out.append(str(dst))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from replayfmt import timeline as T

    tmp = Path(tempfile.mkdtemp(prefix="replayfmt-fleet-"))
    try:
        files = make_fleet(tmp, args.files)
        size = sum(os.path.getsize(f) for f in files)
        order = {f: i for i, f in enumerate(files)}

        def key(r: dict[str, Any]) -> tuple[Any, int, int]:
            return (r["time"], order[r["file"]], r["event_index"])

        res: dict[str, Any] = {"files": len(files), "bytes": size, "cpus": os.cpu_count()}
        t = time.perf_counter()
        local = list(T.iter_timeline(files))
        res["local_s"] = round(time.perf_counter() - t, 2)
        res["rows"] = len(local)
        t = time.perf_counter()
        pooled = list(T.iter_timeline(files, jobs=args.workers))
        res[f"local_j{args.workers}_s"] = round(time.perf_counter() - t, 2)
        assert pooled == local

        import distributed as _distributed

        distributed: Any = _distributed

        t = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=args.workers, processes=True,
                                           threads_per_worker=1, dashboard_address=None,
                                           silence_logs=40)
        client = distributed.Client(cluster)
        res["cluster_start_s"] = round(time.perf_counter() - t, 2)
        try:
            # the first run of each also pays the workers' imports (replayfmt, pandas, pyarrow)
            for run in ("cold", "warm"):
                t = time.perf_counter()
                rows = T.dask_bag(files).compute()
                res[f"dask_bag_{run}_s"] = round(time.perf_counter() - t, 2)
                assert sorted(rows, key=key) == local
            for run in ("cold", "warm"):
                t = time.perf_counter()
                df = T.to_dask_dataframe(files).compute()
                res[f"dask_dataframe_{run}_s"] = round(time.perf_counter() - t, 2)
                assert len(df) == len(local)
            t = time.perf_counter()
            parts = client.gather(client.map(T._rows_of_files, T._chunks(files, 16)))
            res["client_map_16_chunks_s"] = round(time.perf_counter() - t, 2)
            assert sorted((r for p in parts for r in p), key=key) == local
        finally:
            client.close()
            cluster.close()
        res["same_rows"] = True
        res["load_average"] = os.getloadavg()[0]
        print(json.dumps(res))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
