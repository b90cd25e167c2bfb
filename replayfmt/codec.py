"""bytes <-> model: the public parse_* / build_* functions and the two containers.

Records are decoded and encoded by `_generated` (code generated from `schema`); this module adds
the container rules that span records: the segment header (magic, version, session_count,
total_size), the u64 length prefix of every session, the active-session envelope, and strictness
about trailing bytes. Every failure on bad bytes is a ReplayFormatError with an absolute offset
and a field path; no declared length is trusted before it is checked against the bytes left.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import blake3
from construct import Container

from . import _generated as G
from . import schema
from .errors import ErrorKind as K
from .errors import ReplayFormatError
from .model import (
    ActiveSession,
    ReplayManifest,
    ReplaySession,
    Segment,
    SegmentHeader,
    StateSnapshot,
)

__all__ = [
    "parse_segment", "build_segment", "parse_session", "build_session",
    "parse_active_session", "build_active_session", "parse_manifest", "build_manifest",
    "snapshot_state_hash", "encode_snapshot_standard", "SEGMENT_HEADER_SIZE",
    "ENVELOPE_HEADER_SIZE", "MANIFEST_SIZE",
]

SEGMENT_HEADER_SIZE = schema.SegmentHeader.sizeof()  # 24
ENVELOPE_HEADER_SIZE = len(schema.ACTIVE_MAGIC) + 8  # 16
MANIFEST_SIZE = schema.ReplayManifest.sizeof()  # 32
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


def _as_bytes(data) -> bytes:
    if type(data) is bytes:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes, bytearray or memoryview, got {type(data).__name__}")


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
    if header.version != schema.SEGMENT_VERSION:
        raise ReplayFormatError(K.UNSUPPORTED_VERSION, "unsupported segment version", offset=8,
                                path="version", expected=schema.SEGMENT_VERSION,
                                actual=header.version)
    return header


def iter_session_blocks(b: bytes, session_count: int, start: int = SEGMENT_HEADER_SIZE):
    """Yield (index, block start, block end) of each length-prefixed session, checking lengths."""
    e = len(b)
    p = start
    for i in range(session_count):
        if p == e:
            raise ReplayFormatError(K.COUNT_MISMATCH,
                                    f"session_count is {session_count} but the data holds {i}",
                                    offset=12, path="session_count", expected=i,
                                    actual=session_count)
        length = _block_length(b, p, e, f"sessions[{i}]")
        yield i, p + 8, p + 8 + length
        p += 8 + length


def parse_segment(data) -> Segment:
    """Parse a whole `MV2RPLY!` replay segment, strictly.

    Rejects: wrong magic, version other than 1, session_count or total_size that disagree with
    the data, trailing bytes (after the last session or inside a session's block), and every
    record-level error. Raises ReplayFormatError.
    """
    b = _as_bytes(data)
    header = parse_segment_header(b)
    sessions = []
    end = SEGMENT_HEADER_SIZE
    for i, start, stop in iter_session_blocks(b, header.session_count):
        sessions.append(_parse_in_block(G.parse_ReplaySession, b, start, stop, f"sessions[{i}]",
                                        "session"))
        end = stop
    if end != len(b) and header.total_size == len(b):
        raise ReplayFormatError(K.COUNT_MISMATCH, "bytes that total_size covers follow the "
                                "last declared session", offset=12, path="session_count",
                                expected=f"> {header.session_count}",
                                actual=header.session_count)
    if header.total_size != end:
        raise ReplayFormatError(K.SIZE_MISMATCH, "total_size disagrees with the sessions' bytes",
                                offset=16, path="total_size", expected=end,
                                actual=header.total_size)
    _exact(end, len(b), "", "last session")
    return Segment(header.version, header.session_count, header.total_size, sessions)


def build_segment(sessions: Iterable[ReplaySession], *, version: int = 1) -> bytes:
    """Encode sessions as one replay segment (total_size and the length prefixes computed)."""
    blocks = [build_session(s) for s in sessions]
    if len(blocks) > 2**32 - 1:
        raise ValueError("a segment holds at most 2^32-1 sessions")
    total = SEGMENT_HEADER_SIZE + sum(8 + len(blk) for blk in blocks)
    out = bytearray()
    G.build_SegmentHeader(SegmentHeader(schema.SEGMENT_MAGIC, version, len(blocks), total), out)
    for blk in blocks:
        out += _U64.pack(len(blk))
        out += blk
    return bytes(out)


# --- single session --------------------------------------------------------------------------

def parse_session(data) -> ReplaySession:
    """Parse one bincode ReplaySession (the bytes inside a segment's length prefix)."""
    b = _as_bytes(data)
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
    b = _as_bytes(data)
    e = len(b)
    magic = schema.ACTIVE_MAGIC
    if b[:len(magic)] != magic:
        if e < len(magic):
            raise ReplayFormatError(K.TRUNCATED, "shorter than the magic", offset=0,
                                    path="magic", expected=len(magic), actual=e)
        raise ReplayFormatError(K.BAD_MAGIC, "wrong magic", offset=0, path="magic",
                                expected=magic, actual=b[:len(magic)])
    length = _block_length(b, len(magic), e, "length")
    start = ENVELOPE_HEADER_SIZE
    value = _parse_in_block(G.parse_ActiveSession, b, start, start + length, "",
                            "active session")
    _exact(start + length, e, "", "envelope")
    return value


def build_active_session(active: ActiveSession) -> bytes:
    """Encode an ActiveSession as an `MV2ACTIV` envelope (sidecar file bytes)."""
    out = bytearray()
    _build(G.build_ActiveSession, active, out)
    return schema.ACTIVE_MAGIC + _U64.pack(len(out)) + bytes(out)


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
