"""bytes <-> model: the public parse_* / build_* functions and the two containers.

Records are decoded and encoded by `_generated` (code generated from `schema`); the containers
around them (segment header, the u64 length prefix of every session, the active-session
envelope, trailing bytes) are walked by `framing`, strictly. Every failure on bad bytes is a
ReplayFormatError with an absolute offset and a field path; no declared length is trusted
before it is checked against the bytes left.
"""

from __future__ import annotations

import gc
import mmap
import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import blake3

from .accel import G
from .framing import (
    ENVELOPE_HEADER_SIZE,
    SEGMENT_HEADER_SIZE,
    envelope_block,
    exact,
    in_block,
    segment_blocks,
    segment_header,
)

if TYPE_CHECKING:  # the model (attrs) is imported where values are built, not to read bytes
    from ._types import Buf, Readable
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

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
MANIFEST_SIZE = G.SIZE["ReplayManifest"]  # 32


def _as_bytes(data: Readable) -> Buf:
    """bytes, or an mmap as is (the generated parsers read both without copying)."""
    if type(data) is bytes or type(data) is mmap.mmap:
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected bytes, bytearray, memoryview or mmap, got {type(data).__name__}")


@contextmanager
def bulk() -> Iterator[None]:
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


# --- segment ---------------------------------------------------------------------------------

def parse_segment_header(data: Readable) -> SegmentHeader:
    """Decode and check only the 24-byte header (magic, version); returns the header record."""
    from .accel import GM

    b = _as_bytes(data)
    segment_header(b)
    header: SegmentHeader = GM.parse_SegmentHeader(b, 0, len(b))[0]
    return header


def parse_segment(data: Readable) -> Segment:
    """Parse a whole `MV2RPLY!` replay segment, strictly.

    Rejects: wrong magic, version other than 1, session_count or total_size that disagree with
    the data, trailing bytes (after the last session or inside a session's block), and every
    record-level error. Raises ReplayFormatError.
    """
    from .accel import GM

    b = _as_bytes(data)
    header = segment_header(b)
    sessions: list[ReplaySession] = []
    with bulk():
        for i, start, stop in segment_blocks(b, header=header):
            sessions.append(in_block(GM.parse_ReplaySession, b, start, stop,
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

def parse_session(data: Readable) -> ReplaySession:
    """Parse one bincode ReplaySession (the bytes inside a segment's length prefix)."""
    from .accel import GM

    b = _as_bytes(data)
    with bulk():
        session: ReplaySession = in_block(GM.parse_ReplaySession, b, 0, len(b), "", "session")
    return session


def build_session(session: ReplaySession) -> bytes:
    """Encode one ReplaySession (no length prefix)."""
    out = bytearray()
    _build(G.build_ReplaySession, session, out)
    return bytes(out)


def _build(build: Callable[[Any, bytearray], None], value: object, out: bytearray) -> None:
    try:
        build(value, out)
    except struct.error as exc:  # a value mutated in place past its range (e.g. list items)
        raise ValueError(f"cannot encode {type(value).__name__}: {exc}") from exc


# --- active-session envelope -----------------------------------------------------------------

def parse_active_session(data: Readable) -> ActiveSession:
    """Parse an `MV2ACTIV` envelope (the `NAME.mv2.session` sidecar), strictly."""
    from .accel import GM

    with bulk():
        active: ActiveSession = parse_envelope(data, GM.parse_ActiveSession)
    return active


def parse_envelope(data: Readable,
                   parse: Callable[[Buf, int, int], tuple[Any, int]] | None = None) -> Any:
    """Check the `MV2ACTIV` envelope and decode its content with `parse` (a generated parser:
    parse_, json_ or summary_ActiveSession)."""
    if parse is None:
        from .accel import GM

        parse = GM.parse_ActiveSession
    b = _as_bytes(data)
    start, stop = envelope_block(b)
    value = in_block(parse, b, start, stop, "", "active session")
    exact(stop, len(b), "", "envelope")
    return value


def build_active_session(active: ActiveSession) -> bytes:
    """Encode an ActiveSession as an `MV2ACTIV` envelope (sidecar file bytes)."""
    out = bytearray()
    _build(G.build_ActiveSession, active, out)
    magic: bytes = G.ACTIVE_MAGIC
    return magic + _U64.pack(len(out)) + bytes(out)


# --- TOC manifest ----------------------------------------------------------------------------

def parse_manifest(data: Readable, offset: int = 0) -> ReplayManifest:
    """Decode the 32-byte ReplayManifest at `offset` (the bytes after the TOC's Some tag)."""
    from .accel import GM

    b = _as_bytes(data)
    value: ReplayManifest = GM.parse_ReplayManifest(b, offset,
                                                    min(len(b), offset + MANIFEST_SIZE))[0]
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

    data: bytes = schema.StateSnapshotStandard.build(Container(
        frame_count=snapshot.frame_count,
        frame_ids=snapshot.frame_ids,
        lex_index_hash=snapshot.lex_index_hash,
        vec_index_hash=snapshot.vec_index_hash,
        wal_sequence=snapshot.wal_sequence,
        generation=snapshot.generation,
    ))
    return data


def snapshot_state_hash(snapshot: StateSnapshot) -> bytes:
    """BLAKE3 of the standard encoding: what memvid stores as Checkpoint.state_hash."""
    return blake3.blake3(encode_snapshot_standard(snapshot)).digest()
