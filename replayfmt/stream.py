"""Lazy and streaming access: files mapped read-only, sessions one at a time, JSON in chunks.

Files are opened read-only and memory-mapped, so a multi-gigabyte `.mv2` or segment is never
read into memory as a whole: `iter_sessions` decodes one session, yields it, and moves on
(memory is O(largest session)). Containers are walked by `framing`; `scan_segment` and the
session summaries (`scan`) are re-exported here; `.mv2` files are read through `mv2`'s live
segment.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import framing
from .accel import G, native
from .codec import bulk
from .errors import ReplayFormatError
from .framing import (  # FileShrank, check_mapped: re-exported
    _MAPPED,
    FileShrank,
    check_mapped,
    envelope_block,
    exact,
    in_block,
    segment_blocks,
)
from .mv2 import live_segment
from .scan import (  # noqa: F401 (the scanning layer, re-exported: stream is the reading face)
    DEPTHS,
    DISPLAY_NAMES,
    SegmentScan,
    SessionSummary,
    release,
    scan_segment,
    summarize_active,
)

if TYPE_CHECKING:
    from .model import ReplaySession

__all__ = ["release", "session_memvid_json", "DEPTHS", "SessionSummary", "SegmentScan",
           "open_mapped", "scan_segment", "iter_sessions",
           "iter_session_blocks_of", "summarize_active", "open_input", "InputTooLarge",
           "STREAM_LIMIT", "FileShrank", "check_mapped"]


@contextmanager
def _registered(fd: int, name: str, size: int) -> Iterator[mmap.mmap]:
    """A read-only map of the open file `fd`, known to `check_mapped` while it is open."""
    mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    _MAPPED[id(mm)] = (fd, name, size)
    try:
        yield mm
    finally:
        del _MAPPED[id(mm)]
        mm.close()


@contextmanager
def open_mapped(path: str | os.PathLike[str]) -> Iterator[Any]:
    """A read-only mmap of the file (b"" for an empty file); closed on exit. While it is
    open, `check_mapped(map)` tells whether the file has shrunk since."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            yield b""
            return
        with _registered(fh.fileno(), os.fsdecode(path), size) as mm:
            yield mm


#: Most bytes read from an input that is not a regular file (a pipe, process substitution,
#: stdin): such input is read whole into memory, so it is capped.
STREAM_LIMIT = 256 << 20


class InputTooLarge(OSError):
    """A pipe or stdin that holds more than the limit (`STREAM_LIMIT`)."""


def _read_bounded(read: Callable[[int], bytes], limit: int, name: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = read(min(1 << 20, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise InputTooLarge(errno.EFBIG, f"more than {limit} bytes from a pipe or stdin "
                                "(save it to a file: files are mapped, not read)", name)


@contextmanager
def open_input(source: Any, *, limit: int = STREAM_LIMIT) -> Iterator[Any]:
    """The one opener: the bytes of `source`, read-only, as cheaply as they can be had.

    `source` is a path (str or PathLike), "-" for stdin, or bytes / bytearray / memoryview /
    mmap (passed through; a memoryview as bytes). A regular file is memory-mapped (b"" when
    empty), never read whole. A pipe, FIFO, socket or process substitution (`<(cat f)`) and
    stdin are read to the end, at most `limit` bytes (InputTooLarge beyond). A directory or a
    device (`/dev/zero`, a disk) is refused before anything is read. Errors are OSError with
    the file name.
    """
    if isinstance(source, (bytes, bytearray, mmap.mmap)):
        yield source
        return
    if isinstance(source, memoryview):
        yield source.tobytes()
        return
    if source == "-":
        yield _read_bounded(sys.stdin.buffer.read, limit, "<stdin>")
        return
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        mode = st.st_mode
        if stat.S_ISREG(mode):
            if st.st_size == 0:
                yield b""
                return
            with _registered(fd, os.fsdecode(source), st.st_size) as mm:
                yield mm
            return
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", os.fsdecode(source))
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            yield _read_bounded(lambda n: os.read(fd, n), limit, os.fsdecode(source))
            return
        what = "character device" if stat.S_ISCHR(mode) else "block device"
        raise OSError(errno.EINVAL, f"not a regular file or a pipe ({what}): refused",
                      os.fsdecode(source))
    finally:
        os.close(fd)


def iter_session_blocks_of(buf: Any, depth: str = "head") -> Iterator[tuple[int, int, int]]:
    """(index, start, stop) of each session block in a segment, sidecar or `.mv2` buffer."""
    kind = framing.sniff(buf)
    if kind == framing.SEGMENT:
        yield from segment_blocks(buf)
    elif kind == framing.SIDECAR:
        yield 0, framing.ENVELOPE_HEADER_SIZE, len(buf)
    elif kind == framing.MV2:
        live = live_segment(buf, depth)
        if live is not None:
            yield from segment_blocks(buf, live.offset, live.offset + live.size)
    else:
        raise ValueError("not a replay segment, active-session envelope or .mv2 file")


def iter_sessions(path: str | os.PathLike[str]) -> Iterator[ReplaySession]:
    """Yield the sessions of a segment, sidecar or `.mv2` (its live segment) one at a time.

    The file is memory-mapped read-only; only the session being yielded is decoded, so memory
    stays flat however large the file is. Container errors (a bad length prefix, total_size,
    trailing bytes) are raised when the walk reaches them, after the sessions before them.
    A file that shrinks meanwhile is FileShrank (an OSError naming it, with its old and new
    size) when the walk reaches the next block, never a SIGBUS: the size is checked before
    each block is touched.
    """
    from .accel import GM

    with open_mapped(path) as buf:
        check_mapped(buf)
        if framing.sniff(buf) == framing.SIDECAR:
            start, stop = envelope_block(buf)
            with bulk():
                active = in_block(GM.parse_ActiveSession, buf, start, stop, "",
                                  "active session")
            exact(stop, len(buf), "", "envelope")
            yield active.session
            return
        blocks = iter_session_blocks_of(buf)
        while True:
            check_mapped(buf)  # the walk reads the next length prefix (or a .mv2's TOC)
            try:
                i, start, stop = next(blocks)
            except StopIteration:
                break
            check_mapped(buf)
            with bulk():
                session = in_block(GM.parse_ReplaySession, buf, start, stop,
                                   f"sessions[{i}]", "session")
            release(buf, start, stop)
            yield session
            del session


# --- memvid JSON, rendered in chunks -----------------------------------------------------------

_MARK = "\x00actions\x00"
_CHUNK = 4096


def session_memvid_json(buf: Any, start: int, stop: int, path: str = "", nesting: int = 0
                        ) -> list[bytes]:
    """The session in buf[start:stop] as memvid prints it (`session view --format json`, with
    serde_json's pretty layout), without ever holding all of it as Python objects.

    The fields around the actions are decoded with the generated jsonhead_/jsontail_ parsers
    and the actions a chunk at a time; each chunk is rendered by orjson (byte-identical to
    serde_json) and indented to its nesting. Returns the text as a list of pieces to write in
    order (joining them would copy it all once more), only once the whole session decoded,
    so a damaged session prints nothing. `nesting` is the level of the session object in the
    output (0 at the top). Errors are those of `json_ReplaySession`.
    """
    if native is not None:  # the compiled path writes the same text straight from the bytes
        pieces: list[bytes] = native.session_memvid_json(buf, start, stop, path, nesting)
        return pieces
    import orjson

    option = orjson.OPT_INDENT_2
    pad = b"\n" + b" " * (2 * (nesting + 1))
    parts = []
    try:
        with bulk():
            head, p = G.jsonhead_ReplaySession(buf, start, stop)
            count = head["actions"]
            chunk = []
            i = 0
            try:
                for i in range(count):  # noqa: B007 -- i names the failing action
                    action, p = G.json_ReplayAction(buf, p, stop)
                    chunk.append(action)
                    if len(chunk) == _CHUNK:
                        parts.append(orjson.dumps(chunk, option=option)[2:-2].replace(b"\n", pad))
                        chunk = []
            except ReplayFormatError as err:
                raise err.prefix(f"[{i}]").prefix("actions") from None
            if chunk:
                parts.append(orjson.dumps(chunk, option=option)[2:-2].replace(b"\n", pad))
            del chunk
            tail, p = G.jsontail_ReplaySession(buf, p, stop)
    except ReplayFormatError as err:
        raise (err.prefix(path) if path else err) from None
    exact(p, stop, path, "session")
    head["actions"] = _MARK
    head.update(tail)
    text = orjson.dumps(head, option=option)
    if nesting:
        text = text.replace(b"\n", b"\n" + b" " * (2 * nesting))
    before, after = text.split(orjson.dumps(_MARK), 1)
    if not parts:
        return [before, b"[]", after]
    close = b"\n" + b" " * (2 * (nesting + 1)) + b"]"
    out = [before, b"[", pad]
    for k, part in enumerate(parts):
        if k:
            out.append(b"," + pad)
        out.append(part)
    out += [close, after]
    return out
