"""Lazy and streaming access: summaries without decoding actions, sessions one at a time.

Files are opened read-only and memory-mapped, so a multi-gigabyte `.mv2` or segment is never
read into memory as a whole: `iter_sessions` decodes one session, yields it, and moves on
(memory is O(largest session)); `scan_segment` checks a whole segment with the generated
skip-parsers (every length, tag, variant index and string is checked exactly as the full
decoder checks it, but no action or checkpoint object is built) and returns per-session
summaries. `.mv2` files are located through the TOC manifest, using those summaries.
"""

from __future__ import annotations

import errno
import mmap
import os
import re
import stat
import sys
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .accel import G, native
from .codec import _exact, _parse_in_block, bulk, parse_envelope, segment_blocks
from .errors import ReplayFormatError

if TYPE_CHECKING:
    from .model import ReplaySession

__all__ = ["release", "session_memvid_json", "DEPTHS", "SessionSummary", "SegmentScan",
           "open_mapped", "scan_segment", "iter_sessions",
           "iter_session_blocks_of", "summarize_active", "open_input", "InputTooLarge",
           "STREAM_LIMIT"]


_PAGE = mmap.PAGESIZE


def release(buf, start: int, stop: int) -> None:
    """Drop the pages of buf[start:stop] from this process's memory when buf is an mmap of a
    file (MADV_DONTNEED; they stay in the page cache): a walk over a huge file then keeps a
    flat resident set instead of accumulating every page it has read."""
    if type(buf) is mmap.mmap and hasattr(mmap, "MADV_DONTNEED"):
        first = start - start % _PAGE
        if stop > first:
            buf.madvise(mmap.MADV_DONTNEED, first, stop - first)


@contextmanager
def open_mapped(path: str | os.PathLike):
    """A read-only mmap of the file (b"" for an empty file); closed on exit."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            yield b""
            return
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield mm
        finally:
            mm.close()


#: Most bytes read from an input that is not a regular file (a pipe, process substitution,
#: stdin): such input is read whole into memory, so it is capped.
STREAM_LIMIT = 256 << 20


class InputTooLarge(OSError):
    """A pipe or stdin that holds more than the limit (`STREAM_LIMIT`)."""


def _read_bounded(read, limit: int, name: str) -> bytes:
    chunks, total = [], 0
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
def open_input(source, *, limit: int = STREAM_LIMIT):
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
            mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            try:
                yield mm
            finally:
                mm.close()
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


class SessionSummary(namedtuple("SessionSummary", (
        "index offset length session_id name created_secs ended_secs checkpoint_count "
        "action_count actions_by_type metadata version"))):
    """What `session list` shows about a session, read without decoding its actions.

    index; offset (absolute position of the session's bytes, after its length prefix);
    length; session_id (uuid.UUID); name; created_secs; ended_secs; checkpoint_count;
    action_count; actions_by_type (display name -> count in variant order, zero counts left
    out); metadata; version. The last three are None for a header-only listing (depth "head"),
    which never reads the actions. (Named tuples: listing does not import the model layer.)
    """

    __slots__ = ()

    def to_json(self) -> dict:
        """The memvid `session list --format json` fields plus the counts by type."""
        duration = None if self.ended_secs is None else self.ended_secs - self.created_secs
        return {"session_id": str(self.session_id), "name": self.name,
                "created_secs": self.created_secs, "ended_secs": self.ended_secs,
                "action_count": self.action_count, "checkpoint_count": self.checkpoint_count,
                "duration_secs": duration,
                "actions_by_type": None if self.actions_by_type is None
                else dict(self.actions_by_type)}


class SegmentScan(namedtuple("SegmentScan",
                             "offset size version session_count total_size sessions")):
    """A segment checked end to end, with a SessionSummary per session."""

    __slots__ = ()

    @property
    def total_actions(self) -> int:
        return sum(s.action_count for s in self.sessions)


def _display(variant: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", variant).upper()  # PutMany -> PUT_MANY


#: ActionType display names by wire index, from the schema (model.VARIANTS' DISPLAY).
DISPLAY_NAMES = tuple(_display(v) for v in G.ACTION_VARIANTS)


def _summary(raw: dict, index: int, start: int, stop: int) -> SessionSummary:
    by_variant = raw.get("actions_by_variant")
    counts = None if by_variant is None else {
        name: n for name, n in zip(DISPLAY_NAMES, by_variant) if n}
    return SessionSummary(index, start, stop - start, raw["session_id"], raw["name"],
                          raw["created_secs"], raw["ended_secs"], raw["checkpoints"],
                          raw["actions"], counts, raw.get("metadata"), raw.get("version"))


def _head(b, p, e):
    """head_ReplaySession, and nothing is checked after the action count."""
    value, _ = G.head_ReplaySession(b, p, e)
    return value, e


#: How much of each session `scan_segment` checks (the container is always checked whole).
DEPTHS = {
    "full": G.summary_ReplaySession,  # every byte, as parse_segment (strings decoded)
    "outline": G.outline_ReplaySession,  # every length, tag and variant; strings not decoded
    "head": _head,  # the fields before the actions, and the action count: O(sessions)
}


def scan_segment(buf, offset: int = 0, end: int | None = None, depth: str = "full"
                 ) -> SegmentScan:
    """Check the segment at buf[offset:end] and summarise its sessions, without building
    actions; ReplayFormatError (absolute offsets) when it is not valid.

    depth "full" accepts exactly what `parse_segment` accepts; "outline" does not decode strings;
    "head" reads each session only up to its action count (the container, every length
    prefix, total_size and session_count are still checked), so it costs O(sessions) and
    gives no counts by type.
    """
    end = len(buf) if end is None else end
    header, _ = G.json_SegmentHeader(buf, offset, end)
    parse = DEPTHS[depth]
    sessions = []
    for i, start, stop in segment_blocks(buf, offset, end):
        raw = _parse_in_block(parse, buf, start, stop, f"sessions[{i}]", "session")
        sessions.append(_summary(raw, i, start, stop))
        release(buf, start, stop)
    return SegmentScan(offset, end - offset, header["version"], header["session_count"],
                       header["total_size"], sessions)


def summarize_active(buf) -> tuple[SessionSummary, dict]:
    """Summary of the session in an `MV2ACTIV` envelope, and the envelope's other fields."""
    raw = parse_envelope(buf, G.summary_ActiveSession)
    session = raw.pop("session")
    length = len(buf) - 16
    return _summary(session, 0, 16, 16 + length), raw


def iter_session_blocks_of(buf, depth: str = "head") -> Iterator[tuple[int, int, int]]:
    """(index, start, stop) of each session block in a segment, sidecar or `.mv2` buffer."""
    head = bytes(buf[:8])
    if head == G.SEGMENT_MAGIC:
        yield from segment_blocks(buf)
    elif head == G.ACTIVE_MAGIC:
        yield 0, 16, len(buf)
    elif head[:4] == G.MV2_MAGIC:
        from .mv2 import live_segment

        live = live_segment(buf, depth)
        if live is not None:
            yield from segment_blocks(buf, live.offset, live.offset + live.size)
    else:
        raise ValueError("not a replay segment, active-session envelope or .mv2 file")


def iter_sessions(path: str | os.PathLike) -> Iterator[ReplaySession]:
    """Yield the sessions of a segment, sidecar or `.mv2` (its live segment) one at a time.

    The file is memory-mapped read-only; only the session being yielded is decoded, so memory
    stays flat however large the file is. Container errors (a bad length prefix, total_size,
    trailing bytes) are raised when the walk reaches them, after the sessions before them.
    """
    with open_mapped(path) as buf:
        head = bytes(buf[:8])
        if head == G.ACTIVE_MAGIC:
            with bulk():
                active = parse_envelope(buf, G.parse_ActiveSession)
            yield active.session
            return
        for i, start, stop in iter_session_blocks_of(buf):
            with bulk():
                session = _parse_in_block(G.parse_ReplaySession, buf, start, stop,
                                          f"sessions[{i}]", "session")
            release(buf, start, stop)
            yield session
            del session


# --- memvid JSON, rendered in chunks -----------------------------------------------------------

_MARK = "\x00actions\x00"
_CHUNK = 4096


def session_memvid_json(buf, start: int, stop: int, path: str = "", depth: int = 0
                        ) -> list[bytes]:
    """The session in buf[start:stop] as memvid prints it (`session view --format json`, with
    serde_json's pretty layout), without ever holding all of it as Python objects.

    The fields around the actions are decoded with the generated jsonhead_/jsontail_ parsers
    and the actions a chunk at a time; each chunk is rendered by orjson (byte-identical to
    serde_json) and indented to its depth. Returns the text as a list of pieces to write in
    order (joining them would copy it all once more), only once the whole session decoded,
    so a damaged session prints nothing. `depth` is the nesting of the session object in the
    output (0 at the top). Errors are those of `json_ReplaySession`.
    """
    if native is not None:
        return native.session_memvid_json(buf, start, stop, path, depth)
    import orjson

    option = orjson.OPT_INDENT_2
    pad = b"\n" + b" " * (2 * (depth + 1))
    parts = []
    try:
        with bulk():
            head, p = G.jsonhead_ReplaySession(buf, start, stop)
            count = head["actions"]
            chunk = []
            i = 0
            try:
                for i in range(count):
                    action, p = G.json_ReplayAction(buf, p, stop)
                    chunk.append(action)
                    if len(chunk) == _CHUNK:
                        parts.append(orjson.dumps(chunk, option=option)[2:-2].replace(b"\n", pad))
                        chunk = []
            except ReplayFormatError as err:
                raise err.prefix(f"[{i}]").prefix("actions")
            if chunk:
                parts.append(orjson.dumps(chunk, option=option)[2:-2].replace(b"\n", pad))
            del chunk
            tail, p = G.jsontail_ReplaySession(buf, p, stop)
    except ReplayFormatError as err:
        raise err.prefix(path) if path else err
    _exact(p, stop, path, "session")
    head["actions"] = _MARK
    head.update(tail)
    text = orjson.dumps(head, option=option)
    if depth:
        text = text.replace(b"\n", b"\n" + b" " * (2 * depth))
    before, after = text.split(orjson.dumps(_MARK), 1)
    if not parts:
        return [before, b"[]", after]
    close = b"\n" + b" " * (2 * (depth + 1)) + b"]"
    out = [before, b"[", pad]
    for k, part in enumerate(parts):
        if k:
            out.append(b"," + pad)
        out.append(part)
    out += [close, after]
    return out
