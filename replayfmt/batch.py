"""Run a per-file function over many files: directory walk, worker processes, JSON Lines.

`run(func, paths, recursive=..., jobs=...)` applies `func(path) -> dict` to every file named in
`paths` (directories are walked, recursively with `recursive`) and writes one JSON object per
file to `out` as soon as it is ready (in input order with `ordered=True`): the function's dict
with "file" first. A progress bar goes to stderr, only when stderr is a terminal. Nothing stops
the run: a function that raises, a file over the time limit (`timeout` seconds, default 600;
0: none) and a worker process that dies (a signal, SIGBUS from a file that shrank) each give an
error line, {"file": ..., "status": "error", "error": "..."}, and the batch goes on.

What the walk finds and does not open: an unreadable directory is an error line (status
"error"); a FIFO, socket or device found in a directory is a line with status "skipped" (never
opened: a FIFO would block forever). Files named explicitly are passed on as given ("-", pipes
and process substitution included).

File names that are not UTF-8 (POSIX names are bytes): "file" is the name as Python reads it
(undecodable bytes as lone surrogates U+DC80..U+DCFF, written as JSON escapes "\\udcXX": a
Python reader's `os.fsencode(json.loads(line)["file"])` gives the exact bytes back), and
"path_bytes" holds the name's bytes in hex, for any reader.

The function must be picklable (a module-level function, or a functools.partial of one).
Convention for its "status": "ok", "invalid" (the file has findings) or "error" (it could not
be read); `run` returns the counts and the exit status (0 all ok, 1 findings, 2 errors).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import IO, Any, TypeAlias

import attrs
import orjson

__all__ = ["run", "iter_inputs", "BatchResult", "ProgressBar", "DEFAULT_TIMEOUT"]

#: Seconds one file may take before it becomes an error line (0: no limit).
DEFAULT_TIMEOUT = 600.0

#: One output line: the per-file function's JSON-ready dict ("file", "status", ...).
Line: TypeAlias = dict[str, Any]
#: The per-file function (picklable).
FileFunc: TypeAlias = Callable[[str], Line]
#: What the walk left out: (path, status, message).
Problem: TypeAlias = tuple[str, str, str]


def iter_inputs(paths: Iterable[str], recursive: bool = False,
                problems: list[Problem] | None = None) -> Iterator[str]:
    """Files named in `paths`, with directories expanded (sorted, symlinked dirs not
    followed); "-" and plain files are passed through as given.

    What a directory walk cannot use is left out and, when `problems` is a list, appended to it
    as (path, status, message): ("error") a directory that cannot be listed, ("skipped") a
    FIFO, socket or device, never opened."""
    def note(path: str, status: str, message: str) -> None:
        if problems is not None:
            problems.append((path, status, message))

    def listing(directory: str) -> list[tuple[str, bool]]:
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            note(directory, "error", f"cannot read directory: {exc.strerror or exc}")
            return []
        out: list[tuple[str, bool]] = []
        for name in names:
            full = os.path.join(directory, name)
            try:
                st = os.stat(full)
            except OSError as exc:
                if os.path.islink(full):
                    note(full, "skipped", "broken symbolic link")
                else:
                    note(full, "error", f"cannot stat: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(st.st_mode):
                if recursive and not os.path.islink(full):
                    out.append((full, True))
            elif stat.S_ISREG(st.st_mode):
                out.append((full, False))
            else:
                note(full, "skipped", f"not a regular file ({_file_type(st.st_mode)})")
        return out

    for path in paths:
        if path != "-" and os.path.isdir(path):
            stack = [path]
            while stack:
                directory = stack.pop()
                entries = listing(directory)
                files = [p for p, is_dir in entries if not is_dir]
                yield from files
                stack.extend(reversed([p for p, is_dir in entries if is_dir]))
        else:
            yield path


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


@attrs.define
class BatchResult:
    counts: dict[str, int] = attrs.Factory(dict)  # status -> number of files
    files: int = 0

    @property
    def exit_status(self) -> int:
        if self.counts.get("error"):
            return 2
        if any(n for status, n in self.counts.items() if status not in ("ok", "skipped")):
            return 1
        return 0


class ProgressBar:
    """`[#####.....] 120/1000  12%  45.1 files/s  ETA 20s` on a terminal, redrawn at most ten
    times a second and erased at the end; silent when `stream` is not a terminal."""

    def __init__(self, total: int, stream: IO[str] | None = None, enabled: bool | None = None
                 ) -> None:
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


def _call(task: tuple[FileFunc, str]) -> Line:
    func, path = task
    try:
        result = func(path)
    except Exception as exc:  # noqa: BLE001 -- one bad file never stops the batch
        return {"file": path, "status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return {"file": path, **result}


def _line(result: Line) -> bytes:
    """One JSON Lines record; a name that is not UTF-8 gets "path_bytes" and JSON escapes."""
    path = result.get("file")
    if isinstance(path, str):
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            result = {**result, "path_bytes": os.fsencode(path).hex()}
    try:
        return orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS) + b"\n"
    except (orjson.JSONEncodeError, TypeError):  # lone surrogates: escaped, losslessly
        return json.dumps(result, ensure_ascii=True).encode("ascii") + b"\n"


class _Timeout(BaseException):  # not an Exception: `_call` must not catch it
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Timeout


def _call_in_time(task: tuple[FileFunc, str], timeout: float) -> Line:
    """`_call` with a time limit (SIGALRM; only in the main thread where it exists)."""
    usable = (timeout > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        return _call(task)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return _call(task)
    except _Timeout:
        return {"file": task[1], "status": "error",
                "error": f"timed out after {timeout:g} s (--timeout)"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _worker(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(_call(task))


@attrs.define
class _Worker:
    """A worker process, its end of the pipe, the (index, path) it is working on (None: idle)
    and when it started on it."""

    proc: BaseProcess
    conn: Connection
    item: tuple[int, str] | None = None
    started: float = 0.0


class _Pool:
    """Worker processes fed one file at a time: results as they finish, a worker over the time
    limit killed and replaced, a dead worker reported and replaced."""

    def __init__(self, func: FileFunc, jobs: int, timeout: float,
                 warn: Callable[[str], None]) -> None:
        self.func = func
        self.timeout = timeout
        self.ctx = (multiprocessing.get_context("fork")
                    if "fork" in multiprocessing.get_all_start_methods()
                    else multiprocessing.get_context("spawn"))
        self.workers: list[_Worker] = []
        for _ in range(jobs):
            try:
                self.workers.append(self._spawn())
            except OSError as exc:  # e.g. a process limit (EAGAIN)
                warn(f"started {len(self.workers)} of {jobs} worker processes: "
                     f"{exc.strerror or exc}")
                break

    def _spawn(self) -> _Worker:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child,), daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def __len__(self) -> int:
        return len(self.workers)

    def results(self, todo: Iterator[tuple[int, str]]) -> Iterator[tuple[int, Line]]:
        from multiprocessing.connection import wait

        def feed(w: _Worker) -> bool:
            item = next(todo, None)
            if item is None:
                w.item = None
                return False
            w.conn.send((self.func, item[1]))
            w.item, w.started = item, time.monotonic()
            return True

        for w in self.workers:
            feed(w)
        while any(w.item is not None for w in self.workers):
            busy = [w for w in self.workers if w.item is not None]
            limit = None
            if self.timeout > 0:
                limit = max(0.0, min(w.started for w in busy) + self.timeout - time.monotonic())
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], limit)
            now = time.monotonic()
            for i, w in enumerate(self.workers):
                if w.item is None:
                    continue
                index, path = w.item
                line, dead = None, False
                if w.conn in ready or w.proc.sentinel in ready:
                    try:
                        if w.conn.poll():
                            line = w.conn.recv()
                        else:
                            dead = w.proc.sentinel in ready
                    except (EOFError, OSError):
                        dead = True
                if dead:
                    w.proc.join()
                    code = w.proc.exitcode
                    why = (f"killed by signal {-code}" if code is not None and code < 0
                           else f"exited with {code}")
                    if code == -signal.SIGBUS:  # a mapped file cut short under its reader
                        why += ": SIGBUS, the file shrank while it was being read"
                    line = {"file": path, "status": "error",
                            "error": f"worker process died ({why})"}
                    self.workers[i] = w = self._replace(w)
                elif line is None and self.timeout > 0 and now - w.started >= self.timeout:
                    line = {"file": path, "status": "error",
                            "error": f"timed out after {self.timeout:g} s (--timeout)"}
                    self.workers[i] = w = self._replace(w)
                if line is not None:
                    yield index, line
                    feed(w)

    def _replace(self, w: _Worker) -> _Worker:
        w.proc.kill()
        w.proc.join()
        w.conn.close()
        return self._spawn()

    def close(self) -> None:
        for w in self.workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
        for w in self.workers:
            w.proc.join(1)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join()
            w.conn.close()


def run(func: FileFunc, paths: Iterable[str], *, recursive: bool = False,
        jobs: int = 1, out: IO[bytes] | None = None, progress: bool | None = None,
        ordered: bool = False,
        timeout: float = DEFAULT_TIMEOUT) -> BatchResult:
    """Apply `func` to every input file and write JSON Lines to `out` (stdout's buffer).

    jobs <= 0 means one process per CPU; jobs 1 runs in this process. Lines come as files
    finish, in input order with `ordered`. progress None: a bar when stderr is a terminal.
    """
    stream: IO[bytes] = out or sys.stdout.buffer
    problems: list[Problem] = []
    files = list(iter_inputs(paths, recursive, problems))
    jobs = (os.cpu_count() or 1) if jobs <= 0 else jobs
    jobs = max(1, min(jobs, len(files)))
    bar = ProgressBar(len(files) + len(problems), enabled=progress)
    result = BatchResult(files=len(files) + len(problems))

    def emit(line: Line) -> None:
        status = line.get("status", "ok")
        result.counts[status] = result.counts.get(status, 0) + 1
        stream.write(_line(line))
        bar.update()

    def warn(message: str) -> None:
        print(f"replayfmt: {message}", file=sys.stderr)

    pool: _Pool | None = None
    try:
        for path, status, message in problems:
            emit({"file": path, "status": status, "error": message})
        if jobs > 1 and "-" not in files:
            pool = _Pool(func, jobs, timeout, warn)
            if not len(pool):
                pool = None
        if pool is None:
            for path in files:
                emit(_call_in_time((func, path), timeout))
        else:
            pending: dict[int, Line] = {}
            following = 0
            for index, line in pool.results(iter(enumerate(files))):
                if not ordered:
                    emit(line)
                    continue
                pending[index] = line
                while following in pending:
                    emit(pending.pop(following))
                    following += 1
        stream.flush()
    finally:
        bar.close()
        if pool is not None:
            pool.close()
    return result
