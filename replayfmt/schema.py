"""Construct declarations: the byte truth of memvid's replay formats (FORMAT.md, field for field).

Everything here is a Construct object and nothing else: the bincode primitives (fixed-int,
little-endian), every record, the segment header, the length-prefixed session array, the
active-session envelope, the TOC manifest, and the StateSnapshot in bincode's *standard*
(varint) encoding used for checkpoint state hashes.

The bincode primitives are small Construct classes (`Bool`, `String`, `Option`, `Vec`, `Map`,
`Uuid`, `Enum`, `VarUint`). They parse and build like any Construct (this is the reference
implementation, `Segment.parse(data)` works), and they are the vocabulary that `codegen` walks to
generate the fast codec. No lambdas: sizes and counts are declared by the classes or `this`.

Parsed values on the Construct path: Option -> None or the value, Uuid -> uuid.UUID,
Map -> dict (wire order kept), Enum -> Container({VariantName: Container(fields)}), the serde
"externally tagged" shape.
"""

from __future__ import annotations

import io
import struct
import uuid
from typing import IO, Any

from construct import (
    Array,
    Bytes,
    Const,
    Construct,
    Container,
    Float32l,
    Float64l,
    FormatField,
    Int8ul,
    Int16ul,
    Int32ul,
    Int64sl,
    Int64ul,
    Renamed,
    SizeofError,
    StreamError,
    Struct,
    Subconstruct,
    ValidationError,
    stream_read,
    stream_write,
    this,
)

__all__ = [
    "u8", "u32", "u64", "i64", "Hash32",
    "Bool", "String", "Option", "Vec", "Map", "Uuid", "Enum", "VarUint", "Block",
    "IndexedArray", "OffsetStream", "FieldError", "min_size",
    "Put", "PutMany", "Find", "Ask", "CheckpointAction", "Update", "Delete", "ToolCall",
    "ActionType", "ReplayAction", "StateSnapshot", "Checkpoint", "ReplaySession",
    "ReplayConfig", "ActiveSession", "ReplayManifest",
    "SEGMENT_MAGIC", "ACTIVE_MAGIC", "SEGMENT_VERSION", "SegmentHeader", "Segment",
    "ActiveSessionEnvelope", "StateSnapshotStandard", "RECORDS",
    "MV2_MAGIC", "MV2_FOOTER_MAGIC", "Mv2Header", "Mv2Footer", "TocManifest", "LAYOUT_RECORDS",
]

u8 = Int8ul
u32 = Int32ul
u64 = Int64ul
i64 = Int64sl
Hash32 = Bytes(32)

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


def _read_u64(stream: IO[bytes], path: str) -> int:
    value: int = _U64.unpack(stream_read(stream, 8, path))[0]
    return value


def _remaining(stream: IO[bytes]) -> int:
    pos = stream.tell()
    end = stream.seek(0, 2)
    stream.seek(pos)
    return end - pos


class OffsetStream(io.BytesIO):
    """A BytesIO that knows its absolute position in the input (`base` + tell) and where the
    last read started, so that a failed read can be placed: Construct's own errors carry a
    path but no offset."""

    def __init__(self, data: bytes = b"", base: int = 0, root: OffsetStream | None = None
                 ) -> None:
        super().__init__(data)
        self.base = base
        self.root = root or self  # the outermost stream records every read
        self.last_read = base

    def read(self, size: int | None = -1, /) -> bytes:
        self.root.last_read = self.base + self.tell()
        return super().read(size)


def _at(stream: IO[bytes]) -> int:
    """Absolute position of `stream` (plain streams count from 0)."""
    return getattr(stream, "base", 0) + stream.tell()


class FieldError(ValidationError):  # type: ignore[misc]  # construct has no type information
    """A failure raised by the bincode primitives below, with the absolute offset of the
    offending field and an `ErrorKind` name (`replayfmt.errors`)."""

    def __init__(self, kind: str, message: str, offset: int, path: str) -> None:
        super().__init__(message, path=path)
        self.kind = kind
        self.offset = offset


def _overflow(count: int, stream: IO[bytes], min_size: int, what: str, start: int,
              path: str) -> None:
    left = _remaining(stream)
    if count > left // min_size:
        raise FieldError("length_overflow", f"{what} {count} exceeds the {left} bytes left",
                         start, path)


class Bool(Construct):  # type: ignore[misc]  # construct has no type information
    """bincode bool: one byte, 0 or 1; any other byte is invalid."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> bool:
        start = _at(stream)
        byte: int = stream_read(stream, 1, path)[0]
        if byte > 1:
            raise FieldError("invalid_bool", f"invalid bool byte {byte}", start, path)
        return byte == 1

    def _build(self, obj: bool, stream: IO[bytes], context: Any, path: str
               ) -> bool:
        stream_write(stream, b"\x01" if obj else b"\x00", 1, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        return 1


class String(Construct):  # type: ignore[misc]  # construct has no type information
    """bincode String: u64 byte length, then that many bytes of UTF-8 (strict)."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> str:
        start = _at(stream)
        length = _read_u64(stream, path)
        _overflow(length, stream, 1, "string length", start, path)
        body = _at(stream)
        raw: bytes = stream_read(stream, length, path)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FieldError("invalid_utf8", f"invalid UTF-8 at byte {exc.start}",
                             body + exc.start, path) from exc

    def _build(self, obj: str, stream: IO[bytes], context: Any, path: str
               ) -> str:
        raw = obj.encode("utf-8")
        stream_write(stream, _U64.pack(len(raw)) + raw, 8 + len(raw), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("String is variable-sized", path=path)


class Option(Subconstruct):  # type: ignore[misc]  # construct has no type information
    """bincode Option<T>: tag byte 0 = None, 1 = Some followed by T; other tags invalid."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> Any:
        start = _at(stream)
        tag = stream_read(stream, 1, path)[0]
        if tag == 0:
            return None
        if tag != 1:
            raise FieldError("invalid_tag", f"invalid Option tag {tag}", start, path)
        return self.subcon._parsereport(stream, context, path)

    def _build(self, obj: Any, stream: IO[bytes], context: Any, path: str
               ) -> Any:
        if obj is None:
            stream_write(stream, b"\x00", 1, path)
            return None
        stream_write(stream, b"\x01", 1, path)
        return self.subcon._build(obj, stream, context, path)

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("Option is variable-sized", path=path)


class Vec(Subconstruct):  # type: ignore[misc]  # construct has no type information
    """bincode Vec<T>: u64 element count, then the elements."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> list[Any]:
        start = _at(stream)
        count = _read_u64(stream, path)
        # Checked against the fewest bytes the elements can take, before anything is built.
        _overflow(count, stream, min_size(self.subcon), "element count", start, path)
        return [self.subcon._parsereport(stream, context, f"{path} -> [{i}]")
                for i in range(count)]

    def _build(self, obj: list[Any], stream: IO[bytes], context: Any, path: str
               ) -> list[Any]:
        stream_write(stream, _U64.pack(len(obj)), 8, path)
        return [self.subcon._build(item, stream, context, path) for item in obj]

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("Vec is variable-sized", path=path)


class Map(Construct):  # type: ignore[misc]  # construct has no type information
    """bincode HashMap<K, V>: u64 entry count, then key, value, key, value...

    Parsed as a dict in wire order (Rust writes an arbitrary order; keeping it makes a rebuild
    byte-identical). A repeated key is invalid: Rust would silently keep one of them.
    """

    def __init__(self, key: Construct, value: Construct) -> None:
        super().__init__()
        self.key = key
        self.value = value

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> dict[Any, Any]:
        start = _at(stream)
        count = _read_u64(stream, path)
        _overflow(count, stream, min_size(self.key) + min_size(self.value), "entry count",
                  start, path)
        out = {}
        for i in range(count):
            key_at = _at(stream)
            k = self.key._parsereport(stream, context, f"{path} -> [{i}] -> key")
            v = self.value._parsereport(stream, context, f"{path} -> [{i}] -> value")
            if k in out:
                raise FieldError("duplicate_key", f"duplicate map key {k!r}", key_at,
                                 f"{path} -> [{i}] -> key")
            out[k] = v
        return out

    def _build(self, obj: dict[Any, Any], stream: IO[bytes], context: Any, path: str
               ) -> dict[Any, Any]:
        stream_write(stream, _U64.pack(len(obj)), 8, path)
        for k, v in obj.items():
            self.key._build(k, stream, context, path)
            self.value._build(v, stream, context, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("Map is variable-sized", path=path)


class Uuid(Construct):  # type: ignore[misc]  # construct has no type information
    """uuid::Uuid as serde bytes: u64 length (always 16), then 16 bytes in RFC 4122 order."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> uuid.UUID:
        start = _at(stream)
        length = _read_u64(stream, path)
        if length != 16:
            raise FieldError("bad_uuid_length", f"Uuid length {length}, expected 16", start,
                             path)
        return uuid.UUID(bytes=stream_read(stream, 16, path))

    def _build(self, obj: uuid.UUID, stream: IO[bytes], context: Any, path: str
               ) -> uuid.UUID:
        stream_write(stream, _U64.pack(16) + obj.bytes, 24, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        return 24


class Enum(Construct):  # type: ignore[misc]  # construct has no type information
    """A Rust enum: u32 variant index, then the variant's fields (externally tagged on parse)."""

    def __init__(self, *variants: tuple[str, Construct]) -> None:
        super().__init__()
        self.variants = list(variants)
        self.by_name = {name: (index, sub) for index, (name, sub) in enumerate(variants)}

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> Container:
        start = _at(stream)
        index = _U32.unpack(stream_read(stream, 4, path))[0]
        if index >= len(self.variants):
            raise FieldError("unknown_variant", f"unknown variant index {index}", start, path)
        name, sub = self.variants[index]
        return Container({name: sub._parsereport(stream, context, f"{path} -> {name}")})

    def _build(self, obj: Any, stream: IO[bytes], context: Any, path: str
               ) -> Any:
        (name, fields), = obj.items()
        index, sub = self.by_name[name]
        stream_write(stream, _U32.pack(index), 4, path)
        sub._build(fields, stream, context, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("Enum is variable-sized", path=path)


class VarUint(Construct):  # type: ignore[misc]  # construct has no type information
    """bincode *standard* varint: < 251 in one byte, else 251/252/253 + u16/u32/u64 LE."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> int:
        first: int = stream_read(stream, 1, path)[0]
        value: int
        if first < 251:
            return first
        if first == 251:
            value, = struct.unpack("<H", stream_read(stream, 2, path))
            return value
        if first == 252:
            value, = struct.unpack("<I", stream_read(stream, 4, path))
            return value
        if first == 253:
            return _read_u64(stream, path)
        raise ValidationError(f"invalid varint marker {first}", path=path)

    def _build(self, obj: int, stream: IO[bytes], context: Any, path: str
               ) -> int:
        if obj < 251:
            data = bytes([obj])
        elif obj < 1 << 16:
            data = b"\xfb" + struct.pack("<H", obj)
        elif obj < 1 << 32:
            data = b"\xfc" + struct.pack("<I", obj)
        else:
            data = b"\xfd" + _U64.pack(obj)
        stream_write(stream, data, len(data), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("VarUint is variable-sized", path=path)


class VarVec(Subconstruct):  # type: ignore[misc]  # construct has no type information
    """bincode *standard* Vec<T>: varint element count, then the elements."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> list[Any]:
        count = VarUint()._parse(stream, context, path)
        if count > _remaining(stream):
            raise StreamError(f"element count {count} exceeds the bytes left", path=path)
        return [self.subcon._parsereport(stream, context, path) for _ in range(count)]

    def _build(self, obj: list[Any], stream: IO[bytes], context: Any, path: str
               ) -> list[Any]:
        VarUint()._build(len(obj), stream, context, path)
        return [self.subcon._build(item, stream, context, path) for item in obj]

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("VarVec is variable-sized", path=path)


class Block(Subconstruct):  # type: ignore[misc]  # construct has no type information
    """u64 byte length, then exactly that many bytes holding one `subcon` (a session in a
    segment, the ActiveSession in an envelope). The subcon is parsed from its own
    OffsetStream, so offsets stay absolute and bytes it leaves unread are an error."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> Any:
        start = _at(stream)
        length = _read_u64(stream, path)
        left = _remaining(stream)
        if length > left:
            raise FieldError("length_overflow",
                             f"declared length {length} exceeds the {left} bytes left", start,
                             path)
        base = _at(stream)
        sub = OffsetStream(stream_read(stream, length, path), base, getattr(stream, "root", None))
        value = self.subcon._parsereport(sub, context, path)
        if sub.tell() != length:
            raise FieldError("trailing_bytes", f"{length - sub.tell()} bytes after the record",
                             base + sub.tell(), path)
        return value

    def _build(self, obj: Any, stream: IO[bytes], context: Any, path: str
               ) -> Any:
        data = self.subcon.build(obj)
        stream_write(stream, _U64.pack(len(data)) + data, 8 + len(data), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise SizeofError("Block is variable-sized", path=path)


class IndexedArray(Array):  # type: ignore[misc]  # construct has no type information
    """Construct's Array, with the element index in the error path (`sessions -> [3]`)."""

    def _parse(self, stream: IO[bytes], context: Any, path: str) -> list[Any]:
        count = self.count(context) if callable(self.count) else self.count
        out = []
        for i in range(count):
            context._index = i
            out.append(self.subcon._parsereport(stream, context, f"{path} -> [{i}]"))
        return out


def min_size(node: Construct) -> int:
    """The fewest bytes one value of `node` can take (the bound a declared count is checked
    against before anything is allocated)."""
    while isinstance(node, Renamed):
        node = node.subcon
    if isinstance(node, FormatField):
        return struct.calcsize(node.fmtstr)
    if isinstance(node, Bytes) and isinstance(node.length, int):
        return node.length
    if isinstance(node, (String, Vec, Map)):
        return 8
    if isinstance(node, (Option, Bool)):
        return 1
    if isinstance(node, Uuid):
        return 24
    if isinstance(node, Const):
        return len(node.value)
    if isinstance(node, Enum):
        return 4 + min(min_size(sub) for _, sub in node.variants)
    if isinstance(node, Struct):
        return sum(min_size(sub) for sub in node.subcons)
    raise TypeError(f"no minimum size for {type(node).__name__}")


# --- ActionType variants (index order is the wire index) -------------------------------------

Put = Struct("frame_id" / u64)
PutMany = Struct("frame_ids" / Vec(u64), "count" / u64)
Find = Struct("query" / String(), "mode" / String(), "result_count" / u64)
Ask = Struct("query" / String(), "provider" / String(), "model" / String())
CheckpointAction = Struct("checkpoint_id" / u64)
Update = Struct("frame_id" / u64)
Delete = Struct("frame_id" / u64)
ToolCall = Struct("name" / String(), "args_hash" / Hash32)

ActionType = Enum(
    ("Put", Put),
    ("PutMany", PutMany),
    ("Find", Find),
    ("Ask", Ask),
    ("Checkpoint", CheckpointAction),
    ("Update", Update),
    ("Delete", Delete),
    ("ToolCall", ToolCall),
)

# --- Records ---------------------------------------------------------------------------------

ReplayAction = Struct(
    "sequence" / u64,
    "timestamp_secs" / i64,
    "action_type" / ActionType,
    "input_hash" / Hash32,
    "output_hash" / Hash32,
    "input_preview" / String(),
    "output_preview" / String(),
    "affected_frames" / Vec(u64),
    "duration_ms" / u64,
)

StateSnapshot = Struct(
    "frame_count" / u64,
    "frame_ids" / Vec(u64),
    "lex_index_hash" / Option(Hash32),
    "vec_index_hash" / Option(Hash32),
    "wal_sequence" / u64,
    "generation" / u64,
)

Checkpoint = Struct(
    "id" / u64,
    "at_sequence" / u64,
    "timestamp_secs" / i64,
    "state_hash" / Hash32,
    "snapshot" / StateSnapshot,
)

ReplaySession = Struct(
    "session_id" / Uuid(),
    "name" / Option(String()),
    "created_secs" / i64,
    "ended_secs" / Option(i64),
    "checkpoints" / Vec(Checkpoint),
    "actions" / Vec(ReplayAction),
    "metadata" / Map(String(), String()),
    "version" / u32,
)

ReplayConfig = Struct(
    "auto_checkpoint_interval" / u64,
    "max_actions_per_session" / Option(u64),
    "auto_record" / Bool(),
)

ActiveSession = Struct(
    "session" / ReplaySession,
    "next_checkpoint_id" / u64,
    "actions_since_checkpoint" / u64,
    "config" / ReplayConfig,
)

ReplayManifest = Struct(
    "segment_offset" / u64,
    "segment_size" / u64,
    "session_count" / u32,
    "total_actions" / u64,
    "version" / u32,
)

# --- Containers ------------------------------------------------------------------------------

SEGMENT_MAGIC = b"MV2RPLY!"
ACTIVE_MAGIC = b"MV2ACTIV"
SEGMENT_VERSION = 1

SegmentHeader = Struct(
    "magic" / Const(SEGMENT_MAGIC),
    "version" / u32,
    "session_count" / u32,
    "total_size" / u64,
)

#: The whole segment: header, then session_count times (u64 length, ReplaySession).
Segment = Struct(
    "header" / SegmentHeader,
    "sessions" / IndexedArray(this.header.session_count, Block(ReplaySession)),
)

#: The `NAME.mv2.session` sidecar: magic, u64 length, one ActiveSession.
ActiveSessionEnvelope = Struct(
    "magic" / Const(ACTIVE_MAGIC),
    "active_session" / Block(ActiveSession),
)

#: StateSnapshot in bincode's standard (varint) configuration: BLAKE3 of these bytes is the
#: checkpoint's state_hash. Option tags stay one byte and hashes stay raw.
StateSnapshotStandard = Struct(
    "frame_count" / VarUint(),
    "frame_ids" / VarVec(VarUint()),
    "lex_index_hash" / Option(Hash32),
    "vec_index_hash" / Option(Hash32),
    "wal_sequence" / VarUint(),
    "generation" / VarUint(),
)

#: The records the codec maps to model classes (name -> Struct), in dependency order.
RECORDS = {
    "StateSnapshot": StateSnapshot,
    "Checkpoint": Checkpoint,
    "ReplayAction": ReplayAction,
    "ReplaySession": ReplaySession,
    "ReplayConfig": ReplayConfig,
    "ActiveSession": ActiveSession,
    "ReplayManifest": ReplayManifest,
    "SegmentHeader": SegmentHeader,
}

# --- The .mv2 memory file around the segments (only what locating them needs) ----------------

MV2_MAGIC = b"MV2\x00"
MV2_FOOTER_MAGIC = b"MV2FOOT!"

#: The first bytes of the 4096-byte `.mv2` header.
Mv2Header = Struct(
    "magic" / Const(MV2_MAGIC),
    "version" / Int16ul,
    "spec" / Bytes(2),
    "footer_offset" / u64,
    "wal_offset" / u64,
    "wal_size" / u64,
    "wal_checkpoint_pos" / u64,
    "wal_sequence" / u64,
    "toc_checksum" / Hash32,
)

#: The 56-byte footer that ends a `.mv2` file; the TOC is the toc_len bytes before it.
Mv2Footer = Struct(
    "magic" / Const(MV2_FOOTER_MAGIC),
    "toc_len" / u64,
    "toc_hash" / Hash32,
    "generation" / u64,
)

#: One record of the write-ahead log (memvid `src/io/wal.rs`): this header, then `length` bytes
#: of entry (a bincode `WalEntry`: a put's frame and payload, ...) whose BLAKE3 is `checksum`.
#: Records follow each other from the start of the WAL region up to an all-zero header.
WalRecordHeader = Struct(
    "sequence" / u64,
    "length" / Int32ul,
    "reserved" / Bytes(4),
    "checksum" / Hash32,
)
WAL_RECORD_HEADER_SIZE = 48

#: Option<ReplayManifest> as it sits in the TOC when present: tag 1, then the manifest.
TocManifest = Struct("tag" / Const(b"\x01"), "manifest" / ReplayManifest)

#: The `.mv2` structures codegen also emits (dict-returning) parsers for.
LAYOUT_RECORDS = {"Mv2Header": Mv2Header, "Mv2Footer": Mv2Footer}


# =============================================================================================
# The .mv2 container: header page, table of contents (TOC) and footer, as memvid declares them
# (`src/types/manifest.rs`, `src/types/frame.rs`, `src/types/metadata.rs`, `src/toc.rs`,
# `src/io/header.rs`, `src/footer.rs`). serde + bincode fixed-int little-endian like the replay
# records: a struct is its fields in order, an enum is a u32 variant index then its fields, a
# tuple is its elements, BTreeMap is a Map (sorted keys on the wire), usize is u64, f32/f64 are
# IEEE little-endian, chrono's DateTime<Utc> is its RFC 3339 String, [u8; 32] is 32 raw bytes.
# =============================================================================================

u16 = Int16ul
f32 = Float32l
f64 = Float64l

MV2_HEADER_SIZE = 4096
MV2_FOOTER_SIZE = 56
#: Header bytes that hold the TOC checksum's copy.
MV2_HEADER_CHECKSUM_RANGE = (48, 80)


def _unit_enum(*names: str) -> Enum:
    """A Rust enum whose variants carry no data: the u32 index alone."""
    return Enum(*((name, Struct()) for name in names))


SegmentCompression = _unit_enum("None", "Zstd", "Lz4")
VectorCompression = _unit_enum("None", "Pq96")
SegmentKind = _unit_enum("Lexical", "Vector", "Time", "Temporal", "Tantivy")
AnchorSource = _unit_enum("Explicit", "FrameTimestamp", "Metadata", "IngestionClock")
FrameRole = _unit_enum("Document", "DocumentChunk", "ExtractedImage")
FrameStatus = _unit_enum("Active", "Superseded", "Deleted")
EnrichmentState = _unit_enum("Searchable", "Enriched")
#: CanonicalEncoding is serialised by hand as a u32 (0 Plain, 1 Zstd); memvid reads any value
#: and keeps its low byte, so the wire field is a plain u32.
CanonicalEncoding = u32

# --- Frame and its metadata (src/types/frame.rs, src/types/metadata.rs) ----------------------

DocGpsMetadata = Struct("latitude" / f64, "longitude" / f64)

DocExifMetadata = Struct(
    "make" / Option(String()),
    "model" / Option(String()),
    "lens" / Option(String()),
    "datetime" / Option(String()),
    "gps" / Option(DocGpsMetadata),
)

AudioSegmentMetadata = Struct(
    "start_seconds" / f32,
    "end_seconds" / f32,
    "label" / Option(String()),
)

DocAudioMetadata = Struct(
    "duration_secs" / Option(f32),
    "sample_rate_hz" / Option(u32),
    "channels" / Option(u8),
    "bitrate_kbps" / Option(u32),
    "codec" / Option(String()),
    "segments" / Vec(AudioSegmentMetadata),
    "tags" / Map(String(), String()),
)

MediaManifest = Struct(
    "kind" / String(),
    "mime" / String(),
    "bytes" / u64,
    "filename" / Option(String()),
    "duration_ms" / Option(u64),
    "width" / Option(u32),
    "height" / Option(u32),
    "codec" / Option(String()),
)

DocMetadata = Struct(
    "mime" / Option(String()),
    "bytes" / Option(u64),
    "hash" / Option(String()),
    "width" / Option(u32),
    "height" / Option(u32),
    "colors" / Option(Vec(String())),
    "caption" / Option(String()),
    "exif" / Option(DocExifMetadata),
    "audio" / Option(DocAudioMetadata),
    "media" / Option(MediaManifest),
)

TextChunkRange = Struct("start" / u64, "end" / u64)
TextChunkManifest = Struct("chunk_chars" / u64, "chunks" / Vec(TextChunkRange))

#: One stored document (or chunk of one). `checksum` is BLAKE3 of the payload bytes as stored
#: at [payload_offset, payload_offset + payload_length).
Frame = Struct(
    "id" / u64,
    "timestamp" / i64,
    "anchor_ts" / Option(i64),
    "anchor_source" / Option(AnchorSource),
    "kind" / Option(String()),
    "track" / Option(String()),
    "payload_offset" / u64,
    "payload_length" / u64,
    "checksum" / Hash32,
    "uri" / Option(String()),
    "title" / Option(String()),
    "canonical_encoding" / CanonicalEncoding,
    "canonical_length" / Option(u64),
    "metadata" / Option(DocMetadata),
    "search_text" / Option(String()),
    "tags" / Vec(String()),
    "labels" / Vec(String()),
    "extra_metadata" / Map(String(), String()),
    "content_dates" / Vec(String()),
    "chunk_manifest" / Option(TextChunkManifest),
    "role" / FrameRole,
    "parent_id" / Option(u64),
    "chunk_index" / Option(u32),
    "chunk_count" / Option(u32),
    "status" / FrameStatus,
    "supersedes" / Option(u64),
    "superseded_by" / Option(u64),
    "source_sha256" / Option(Hash32),
    "source_path" / Option(String()),
    "enrichment_state" / EnrichmentState,
)
#: Frame as releases before 2.0.131 wrote it: no source_sha256, source_path, enrichment_state.
FrameV0 = Struct(*Frame.subcons[:-3])

# --- Segments and index manifests (src/types/manifest.rs) ------------------------------------

SegmentMeta = Struct(
    "id" / u64,
    "frame_range" / Struct("start" / u64, "end" / u64),
    "primary_checksum" / Hash32,
    "compression" / SegmentCompression,
    "bytes_offset" / u64,
    "bytes_length" / u64,
)

LexIndexManifest = Struct(
    "doc_count" / u64,
    "generation" / u64,
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "checksum" / Hash32,
)

LexSegmentManifest = Struct(
    "path" / String(),
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "checksum" / Hash32,
)

_VEC_INDEX_FIELDS = (
    "vector_count" / u64,
    "dimension" / u32,
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "checksum" / Hash32,
    "compression_mode" / VectorCompression,
)
VecIndexManifest = Struct(*_VEC_INDEX_FIELDS, "model" / Option(String()))
#: Before memvid bound the vector index to its embedding model (no `model` field).
VecIndexManifestV1 = Struct(*_VEC_INDEX_FIELDS)

ClipIndexManifest = Struct(
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "vector_count" / u64,
    "dimension" / u32,
    "checksum" / Hash32,
    "model_name" / String(),
)


def _index_manifests(vec: Struct) -> Struct:
    return Struct(
        "lex" / Option(LexIndexManifest),
        "lex_segments" / Vec(LexSegmentManifest),
        "vec" / Option(vec),
        "clip" / Option(ClipIndexManifest),
    )


IndexManifests = _index_manifests(VecIndexManifest)
IndexManifestsV1 = _index_manifests(VecIndexManifestV1)

TimeIndexManifest = Struct(
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "entry_count" / u64,
    "checksum" / Hash32,
)

TemporalTrackManifest = Struct(
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "entry_count" / u64,
    "anchor_count" / u64,
    "checksum" / Hash32,
    "flags" / u32,
)

MemoriesTrackManifest = Struct(
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "card_count" / u64,
    "entity_count" / u64,
    "checksum" / Hash32,
)

LogicMeshManifest = Struct(
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "node_count" / u64,
    "edge_count" / u64,
    "checksum" / Hash32,
)

SketchTrackManifest = Struct(
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "entry_count" / u64,
    "entry_size" / u16,
    "flags" / u32,
    "checksum" / Hash32,
)

# --- Segment catalog: SegmentCommon's fields, flattened into each descriptor ------------------

SegmentSpan = Struct(
    "frame_start" / u64,
    "frame_end" / u64,
    "page_start" / u32,
    "page_end" / u32,
    "token_start" / u64,
    "token_end" / u64,
)

_SEGMENT_COMMON_FIELDS = (
    "segment_id" / u64,
    "bytes_offset" / u64,
    "bytes_length" / u64,
    "checksum" / Hash32,
    "build_sequence" / u64,
    "codec_version" / u16,
    "compression" / SegmentCompression,
    "span" / Option(SegmentSpan),
)
SegmentCommon = Struct(*_SEGMENT_COMMON_FIELDS)

LexSegmentDescriptor = Struct(*_SEGMENT_COMMON_FIELDS, "doc_count" / u64)
VecSegmentDescriptor = Struct(*_SEGMENT_COMMON_FIELDS, "vector_count" / u64,
                              "dimension" / u32, "vector_compression" / VectorCompression)
TimeSegmentDescriptor = Struct(*_SEGMENT_COMMON_FIELDS, "entry_count" / u64)
TemporalSegmentDescriptor = Struct(*_SEGMENT_COMMON_FIELDS, "entry_count" / u64,
                                   "anchor_count" / u64, "flags" / u32)
TantivySegmentDescriptor = Struct(*_SEGMENT_COMMON_FIELDS, "path" / String())

SegmentStats = Struct(
    "doc_count" / u64,
    "vector_count" / u64,
    "time_entries" / u64,
    "bytes_uncompressed" / u64,
    "build_micros" / u64,
)

IndexSegmentRef = Struct(
    "kind" / SegmentKind,
    "common" / SegmentCommon,
    "stats" / SegmentStats,
)

SegmentCatalog = Struct(
    "next_segment_id" / u64,
    "version" / u32,
    "lex_enabled" / Bool(),
    "lex_segments" / Vec(LexSegmentDescriptor),
    "vec_segments" / Vec(VecSegmentDescriptor),
    "time_segments" / Vec(TimeSegmentDescriptor),
    "temporal_segments" / Vec(TemporalSegmentDescriptor),
    "tantivy_segments" / Vec(TantivySegmentDescriptor),
    "index_segments" / Vec(IndexSegmentRef),
)

# --- Ticket, binding, enrichment queue --------------------------------------------------------

_TICKET_FIELDS = (
    "issuer" / String(),
    "seq_no" / i64,
    "expires_in_secs" / u64,
    "capacity_bytes" / u64,
)
TicketRef = Struct(*_TICKET_FIELDS, "verified" / Bool())
#: Before signed tickets (no `verified` field).
TicketRefV1 = Struct(*_TICKET_FIELDS)

MemoryBinding = Struct(
    "memory_id" / Uuid(),
    "memory_name" / String(),
    "bound_at" / String(),  # chrono DateTime<Utc>, RFC 3339 text
    "api_url" / String(),
)

EnrichmentTask = Struct(
    "frame_id" / u64,
    "created_at" / u64,
    "chunks_done" / u32,
    "chunks_total" / u32,
)

EnrichmentQueueManifest = Struct(
    "tasks" / Vec(EnrichmentTask),
    "updated_at" / u64,
)

# --- The TOC itself, current and legacy layouts ----------------------------------------------

_TOC_TAIL = ("merkle_root" / Hash32, "toc_checksum" / Hash32)


def _toc(frame: Struct, indexes: Struct, ticket: Struct, *, tracks: bool, sketch: bool,
         replay: bool, enrichment: bool) -> Struct:
    """One TOC layout: `tracks` = memories_track and logic_mesh; `sketch` = sketch_track;
    `replay` = replay_manifest; `enrichment` = enrichment_queue."""
    fields = ["toc_version" / u64, "segments" / Vec(SegmentMeta), "frames" / Vec(frame),
              "indexes" / indexes, "time_index" / Option(TimeIndexManifest),
              "temporal_track" / Option(TemporalTrackManifest)]
    if tracks:
        fields += ["memories_track" / Option(MemoriesTrackManifest),
                   "logic_mesh" / Option(LogicMeshManifest)]
    if sketch:
        fields.append("sketch_track" / Option(SketchTrackManifest))
    fields += ["segment_catalog" / SegmentCatalog, "ticket_ref" / ticket,
               "memory_binding" / Option(MemoryBinding)]
    if replay:
        fields.append("replay_manifest" / Option(ReplayManifest))
    if enrichment:
        fields.append("enrichment_queue" / EnrichmentQueueManifest)
    return Struct(*fields, *_TOC_TAIL)


#: The current TOC (memvid's `Toc`; CLI 2.0.140, memvid-sdk 2.0.160).
Toc = _toc(Frame, IndexManifests, TicketRef, tracks=True, sketch=True, replay=True,
           enrichment=True)
#: The current TOC before signed tickets and model-bound vector indexes (TicketRef without
#: `verified`, VecIndexManifest without `model`): memvid-sdk 2.0.131 to 2.0.140.
TocPreTicketSig = _toc(Frame, IndexManifestsV1, TicketRefV1, tracks=True, sketch=True,
                       replay=True, enrichment=True)
#: Before the sketch track and progressive ingestion: no sketch_track, no enrichment_queue,
#: frames without source_sha256 / source_path / enrichment_state (`FrameV0`), and the
#: pre-signature TicketRef and VecIndexManifest: memvid-sdk 2.0.124. memvid's current reader
#: has no such layout.
TocPreSketch = _toc(FrameV0, IndexManifestsV1, TicketRefV1, tracks=True, sketch=False,
                    replay=True, enrichment=False)
#: memvid's `LegacyTocV2` (src/toc.rs): memories_track and logic_mesh, no sketch_track,
#: replay_manifest or enrichment_queue; current frames and tickets.
TocLegacyV2 = _toc(Frame, IndexManifests, TicketRef, tracks=True, sketch=False, replay=False,
                   enrichment=False)
#: memvid's `LegacyTocV1`: no memories_track / logic_mesh either.
TocLegacyV1 = _toc(Frame, IndexManifests, TicketRef, tracks=False, sketch=False, replay=False,
                   enrichment=False)

#: Every TOC layout, in the order a reader tries them: name -> Struct. memvid tries current,
#: legacy_v2, legacy_v1; the other two are what earlier releases wrote.
TOC_LAYOUTS = {
    "current": Toc,
    "pre_ticket_signature": TocPreTicketSig,
    "pre_sketch": TocPreSketch,
    "legacy_v2": TocLegacyV2,
    "legacy_v1": TocLegacyV1,
}

#: The whole 4096-byte header page: the fields `Mv2Header` declares, then reserved bytes
#: (zero in files memvid writes; 80..140 once held a lock record that memvid clears).
Mv2HeaderPage = Struct(*Mv2Header.subcons, "reserved" / Bytes(MV2_HEADER_SIZE - 80))

#: The .mv2 container records (name -> Struct), for tracing and tests.
CONTAINER_RECORDS = {
    "Mv2HeaderPage": Mv2HeaderPage,
    "Mv2Footer": Mv2Footer,
    "Toc": Toc,
    "Frame": Frame,
    "SegmentMeta": SegmentMeta,
    "IndexManifests": IndexManifests,
    "SegmentCatalog": SegmentCatalog,
    "TicketRef": TicketRef,
    "MemoryBinding": MemoryBinding,
    "ReplayManifest": ReplayManifest,
    "EnrichmentQueueManifest": EnrichmentQueueManifest,
}

__all__ += [
    "u16", "f32", "f64", "MV2_HEADER_SIZE", "MV2_FOOTER_SIZE", "MV2_HEADER_CHECKSUM_RANGE",
    "SegmentCompression", "VectorCompression", "SegmentKind", "AnchorSource", "FrameRole",
    "FrameStatus", "EnrichmentState", "CanonicalEncoding", "DocGpsMetadata", "DocExifMetadata",
    "AudioSegmentMetadata", "DocAudioMetadata", "MediaManifest", "DocMetadata", "TextChunkRange",
    "TextChunkManifest", "Frame", "FrameV0", "SegmentMeta", "LexIndexManifest",
    "LexSegmentManifest",
    "VecIndexManifest", "VecIndexManifestV1", "ClipIndexManifest", "IndexManifests",
    "IndexManifestsV1", "TimeIndexManifest", "TemporalTrackManifest", "MemoriesTrackManifest",
    "LogicMeshManifest", "SketchTrackManifest", "SegmentSpan", "SegmentCommon",
    "LexSegmentDescriptor", "VecSegmentDescriptor", "TimeSegmentDescriptor",
    "TemporalSegmentDescriptor", "TantivySegmentDescriptor", "SegmentStats", "IndexSegmentRef",
    "SegmentCatalog", "TicketRef", "TicketRefV1", "MemoryBinding", "EnrichmentTask",
    "EnrichmentQueueManifest", "Toc", "TocPreSketch", "TocLegacyV2", "TocLegacyV1",
    "TocPreTicketSig",
    "TOC_LAYOUTS", "Mv2HeaderPage", "CONTAINER_RECORDS",
]
