"""Run a per-file function over many files: directory walk, process pool, JSON Lines.

`run(func, paths, recursive=..., jobs=...)` applies `func(path) -> dict` to every file named in
`paths` (directories are walked, recursively with `recursive`), in a pool of `jobs` processes,
and writes one JSON object per file to stdout as soon as it is ready, in input order: the
function's dict with "file" first. A progress bar goes to stderr, only when stderr is a
terminal. A function that raises does not stop the run: its line reads
{"file": ..., "status": "error", "error": "..."}.

The function must be picklable (a module-level function, or a functools.partial of one).
Convention for its "status": "ok", "invalid" (the file has findings) or "error" (it could not
be read); `run` returns the counts and the exit status (0 all ok, 1 findings, 2 errors).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator

import attrs
import orjson

__all__ = ["run", "iter_inputs", "BatchResult", "ProgressBar"]


def iter_inputs(paths: Iterable[str], recursive: bool = False) -> Iterator[str]:
    """Files named in `paths`, with directories expanded (sorted, symlinked dirs not
    followed); "-" and plain files are passed through as given."""
    for path in paths:
        if path != "-" and os.path.isdir(path):
            if recursive:
                for root, dirs, files in os.walk(path):
                    dirs.sort()
                    for name in sorted(files):
                        yield os.path.join(root, name)
            else:
                for name in sorted(os.listdir(path)):
                    full = os.path.join(path, name)
                    if os.path.isfile(full):
                        yield full
        else:
            yield path


@attrs.define
class BatchResult:
    counts: dict = attrs.Factory(dict)  # status -> number of files
    files: int = 0

    @property
    def exit_status(self) -> int:
        if self.counts.get("error"):
            return 2
        if any(n for status, n in self.counts.items() if status != "ok"):
            return 1
        return 0


class ProgressBar:
    """`[#####.....] 120/1000  12%  45.1 files/s  ETA 20s` on a terminal, redrawn at most ten
    times a second and erased at the end; silent when `stream` is not a terminal."""

    def __init__(self, total: int, stream=None, enabled: bool | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.start = time.monotonic()
        self.last = 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and self.done < self.total:
            return
        self.last = now
        rate = self.done / max(now - self.start, 1e-9)
        frac = self.done / self.total if self.total else 1.0
        width = 30
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        eta = (self.total - self.done) / rate if rate else 0
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {frac:4.0%} "
                          f"{rate:6.1f} files/s ETA {eta:4.0f}s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _call(task):
    func, path = task
    try:
        result = func(path)
    except Exception as exc:  # one bad file never stops the batch
        return {"file": path, "status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return {"file": path, **result}


def run(func: Callable[[str], dict], paths: Iterable[str], *, recursive: bool = False,
        jobs: int = 1, out=None, progress: bool | None = None) -> BatchResult:
    """Apply `func` to every input file and write JSON Lines to `out` (stdout's buffer).

    jobs <= 0 means one process per CPU. progress None: a bar when stderr is a terminal.
    """
    out = out or sys.stdout.buffer
    files = list(iter_inputs(paths, recursive))
    jobs = (os.cpu_count() or 1) if jobs <= 0 else jobs
    jobs = max(1, min(jobs, len(files)))
    bar = ProgressBar(len(files), enabled=progress)
    result = BatchResult(files=len(files))
    tasks = ((func, path) for path in files)
    pool = None
    if jobs > 1 and "-" not in files:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = multiprocessing.get_context(method).Pool(jobs)
        chunk = max(1, min(32, len(files) // (jobs * 8)))
        results = pool.imap(_call, tasks, chunksize=chunk)
    else:
        results = map(_call, tasks)
    try:
        for line in results:
            status = line.get("status", "ok")
            result.counts[status] = result.counts.get(status, 0) + 1
            out.write(orjson.dumps(line, option=orjson.OPT_NON_STR_KEYS) + b"\n")
            bar.update()
        out.flush()
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    return result
