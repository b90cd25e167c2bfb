"""bytes <-> model: the public parse_* / build_* functions and the two containers.

Records are decoded and encoded by `_generated` (code generated from `schema`); this module adds
the container rules that span records: the segment header (magic, version, session_count,
total_size), the u64 length prefix of every session, the active-session envelope, and strictness
about trailing bytes. Every failure on bad bytes is a ReplayFormatError with an absolute offset
and a field path; no declared length is trusted before it is checked against the bytes left.
"""

from __future__ import annotations

import gc
import mmap
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import blake3

from .accel import G
from .errors import ErrorKind as K
from .errors import ReplayFormatError

if TYPE_CHECKING:  # the model (attrs) is imported where values are built, not to read bytes
    from .model import (
        ActiveSession,
        ReplayManifest,
        ReplaySession,
        Segment,
        SegmentHeader,
        StateSnapshot,
    )

__all__ = [
    "bulk", "segment_blocks", "parse_envelope",
    "parse_segment", "build_segment", "parse_session", "build_session",
    "parse_active_session", "build_active_session", "parse_manifest", "build_manifest",
    "snapshot_state_hash", "encode_snapshot_standard", "SEGMENT_HEADER_SIZE",
    "ENVELOPE_HEADER_SIZE", "MANIFEST_SIZE",
]

SEGMENT_HEADER_SIZE = G.SIZE["SegmentHeader"]  # 24
ENVELOPE_HEADER_SIZE = len(G.ACTIVE_MAGIC) + 8  # 16
MANIFEST_SIZE = G.SIZE["ReplayManifest"]  # 32
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


def _as_bytes(data) -> bytes:
    """bytes, or an mmap as is (the generated parsers read both without copying)."""
    if type(data) is bytes or type(data) is mmap.mmap:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes, bytearray, memoryview or mmap, got {type(data).__name__}")


@contextmanager
def bulk():
    """Pause the cyclic GC while a decoder allocates many objects, and restore it after.

    Decoded records hold no reference cycles, so the collector's passes over a growing heap
    are pure cost (about 40% of a large parse). Only the enabled/disabled state is touched:
    a concurrent thread may re-enable collection early, which costs speed, never correctness.
    """
    was = gc.isenabled()
    if was:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _block_length(b: bytes, p: int, e: int, path: str) -> int:
    """Read a u64 length prefix at p and check it against the bytes after it."""
    if e - p < 8:
        raise ReplayFormatError(K.TRUNCATED, "8-byte length prefix runs past the end",
                                offset=p, path=path, expected=8, actual=e - p)
    (length,) = _U64.unpack_from(b, p)
    if length > e - p - 8:
        raise ReplayFormatError(K.LENGTH_OVERFLOW,
                                f"declared length {length} exceeds the {e - p - 8} bytes left",
                                offset=p, path=path, expected=f"<= {e - p - 8}", actual=length)
    return length


def _exact(end: int, stop: int, path: str, what: str) -> None:
    if end != stop:
        raise ReplayFormatError(K.TRAILING_BYTES, f"{stop - end} bytes after the {what}",
                                offset=end, path=path, expected=0, actual=stop - end)


def _parse_in_block(parse, b: bytes, p: int, e: int, path: str, what: str):
    try:
        value, end = parse(b, p, e)
    except ReplayFormatError as err:
        raise err.prefix(path) if path else err
    _exact(end, e, path, what)
    return value


# --- segment ---------------------------------------------------------------------------------

def parse_segment_header(data) -> SegmentHeader:
    """Decode and check only the 24-byte header (magic, version); returns the header record."""
    b = _as_bytes(data)
    header, _ = G.parse_SegmentHeader(b, 0, len(b))
    if header.version != G.SEGMENT_VERSION:
        raise ReplayFormatError(K.UNSUPPORTED_VERSION, "unsupported segment version", offset=8,
                                path="version", expected=G.SEGMENT_VERSION,
                                actual=header.version)
    return header


def iter_session_blocks(b: bytes, session_count: int, start: int = SEGMENT_HEADER_SIZE,
                        end: int | None = None, base: int = 0):
    """Yield (index, block start, block end) of each length-prefixed session, checking lengths.

    `base` is where the segment starts in `b` and `end` where its bytes stop (default: the end).
    """
    e = len(b) if end is None else end
    p = start
    for i in range(session_count):
        if p == e:
            raise ReplayFormatError(K.COUNT_MISMATCH,
                                    f"session_count is {session_count} but the data holds {i}",
                                    offset=base + 12, path="session_count", expected=i,
                                    actual=session_count)
        length = _block_length(b, p, e, f"sessions[{i}]")
        yield i, p + 8, p + 8 + length
        p += 8 + length


def segment_blocks(b, base: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int]]:
    """Walk the segment in b[base:end] strictly, yielding (index, start, stop) of each session.

    The header is checked first; each block's length when it is reached; total_size,
    session_count and trailing bytes after the last block (so a consumer that decodes each
    block before asking for the next sees errors in the same order as `parse_segment`).
    Offsets in errors are absolute positions in `b`.
    """
    b = _as_bytes(b)
    e = len(b) if end is None else end
    header, _ = G.json_SegmentHeader(b, base, e)
    version, session_count, total_size = (header["version"], header["session_count"],
                                          header["total_size"])
    if version != G.SEGMENT_VERSION:
        raise ReplayFormatError(K.UNSUPPORTED_VERSION, "unsupported segment version",
                                offset=base + 8, path="version",
                                expected=G.SEGMENT_VERSION, actual=version)
    stop = base + SEGMENT_HEADER_SIZE
    for i, start, stop in iter_session_blocks(b, session_count,
                                              base + SEGMENT_HEADER_SIZE, e, base):
        yield i, start, stop
    if stop != e and total_size == e - base:
        raise ReplayFormatError(K.COUNT_MISMATCH, "bytes that total_size covers follow the "
                                "last declared session", offset=base + 12, path="session_count",
                                expected=f"> {session_count}",
                                actual=session_count)
    if total_size != stop - base:
        raise ReplayFormatError(K.SIZE_MISMATCH, "total_size disagrees with the sessions' bytes",
                                offset=base + 16, path="total_size", expected=stop - base,
                                actual=total_size)
    _exact(stop, e, "", "last session")


def parse_segment(data) -> Segment:
    """Parse a whole `MV2RPLY!` replay segment, strictly.

    Rejects: wrong magic, version other than 1, session_count or total_size that disagree with
    the data, trailing bytes (after the last session or inside a session's block), and every
    record-level error. Raises ReplayFormatError.
    """
    b = _as_bytes(data)
    header = parse_segment_header(b)
    sessions = []
    with bulk():
        for i, start, stop in segment_blocks(b):
            sessions.append(_parse_in_block(G.parse_ReplaySession, b, start, stop,
                                            f"sessions[{i}]", "session"))
    from .model import Segment

    return Segment(header.version, header.session_count, header.total_size, sessions)


def build_segment(sessions: Iterable[ReplaySession], *, version: int = 1) -> bytes:
    """Encode sessions as one replay segment (total_size and the length prefixes computed).

    Everything is written into one buffer (each length prefix patched once its session is
    encoded): no per-session copies."""
    from .model import SegmentHeader

    out = bytearray()
    G.build_SegmentHeader(SegmentHeader(G.SEGMENT_MAGIC, version, 0, 0), out)
    count = 0
    for s in sessions:
        at = len(out)
        out += b"\0" * 8
        _build(G.build_ReplaySession, s, out)
        _U64.pack_into(out, at, len(out) - at - 8)
        count += 1
    if count > 2**32 - 1:
        raise ValueError("a segment holds at most 2^32-1 sessions")
    _U32.pack_into(out, 12, count)
    _U64.pack_into(out, 16, len(out))
    return bytes(out)


# --- single session --------------------------------------------------------------------------

def parse_session(data) -> ReplaySession:
    """Parse one bincode ReplaySession (the bytes inside a segment's length prefix)."""
    b = _as_bytes(data)
    with bulk():
        return _parse_in_block(G.parse_ReplaySession, b, 0, len(b), "", "session")


def build_session(session: ReplaySession) -> bytes:
    """Encode one ReplaySession (no length prefix)."""
    out = bytearray()
    _build(G.build_ReplaySession, session, out)
    return bytes(out)


def _build(build, value, out: bytearray) -> None:
    try:
        build(value, out)
    except struct.error as exc:  # a value mutated in place past its range (e.g. list items)
        raise ValueError(f"cannot encode {type(value).__name__}: {exc}") from exc


# --- active-session envelope -----------------------------------------------------------------

def parse_active_session(data) -> ActiveSession:
    """Parse an `MV2ACTIV` envelope (the `NAME.mv2.session` sidecar), strictly."""
    with bulk():
        return parse_envelope(data, G.parse_ActiveSession)


def parse_envelope(data, parse=None):
    """Check the `MV2ACTIV` envelope and decode its content with `parse` (a generated parser:
    parse_, json_ or summary_ActiveSession)."""
    parse = G.parse_ActiveSession if parse is None else parse
    b = _as_bytes(data)
    e = len(b)
    magic = G.ACTIVE_MAGIC
    if b[:len(magic)] != magic:
        if e < len(magic):
            raise ReplayFormatError(K.TRUNCATED, "shorter than the magic", offset=0,
                                    path="magic", expected=len(magic), actual=e)
        raise ReplayFormatError(K.BAD_MAGIC, "wrong magic", offset=0, path="magic",
                                expected=magic, actual=b[:len(magic)])
    length = _block_length(b, len(magic), e, "length")
    start = ENVELOPE_HEADER_SIZE
    value = _parse_in_block(parse, b, start, start + length, "", "active session")
    _exact(start + length, e, "", "envelope")
    return value


def build_active_session(active: ActiveSession) -> bytes:
    """Encode an ActiveSession as an `MV2ACTIV` envelope (sidecar file bytes)."""
    out = bytearray()
    _build(G.build_ActiveSession, active, out)
    return G.ACTIVE_MAGIC + _U64.pack(len(out)) + bytes(out)


# --- TOC manifest ----------------------------------------------------------------------------

def parse_manifest(data, offset: int = 0) -> ReplayManifest:
    """Decode the 32-byte ReplayManifest at `offset` (the bytes after the TOC's Some tag)."""
    b = _as_bytes(data)
    value, _ = G.parse_ReplayManifest(b, offset, min(len(b), offset + MANIFEST_SIZE))
    return value


def build_manifest(manifest: ReplayManifest) -> bytes:
    out = bytearray()
    _build(G.build_ReplayManifest, manifest, out)
    return bytes(out)


# --- checkpoint state hash -------------------------------------------------------------------

def encode_snapshot_standard(snapshot: StateSnapshot) -> bytes:
    """The snapshot in bincode's standard (varint) configuration, per `schema`."""
    from construct import Container  # Construct is imported only where it is used

    from . import schema

    return schema.StateSnapshotStandard.build(Container(
        frame_count=snapshot.frame_count,
        frame_ids=snapshot.frame_ids,
        lex_index_hash=snapshot.lex_index_hash,
        vec_index_hash=snapshot.vec_index_hash,
        wal_sequence=snapshot.wal_sequence,
        generation=snapshot.generation,
    ))


def snapshot_state_hash(snapshot: StateSnapshot) -> bytes:
    """BLAKE3 of the standard encoding: what memvid stores as Checkpoint.state_hash."""
    return blake3.blake3(encode_snapshot_standard(snapshot)).digest()
