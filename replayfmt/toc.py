"""The `.mv2` table of contents, decoded forward from footer_offset, and the container checksums.

The TOC is one bincode record (`schema.Toc`, or one of the earlier layouts in
`schema.TOC_LAYOUTS`) that fills [footer_offset, footer) exactly. It is decoded and encoded by
the generated container codec (`_generated_toc`, made from the schema by `codegen`; decoded by
its compiled twin in `_native` where that is built, `accel` chooses), layout by
layout in the order memvid's reader tries them; a layout counts only when it consumes every
byte of the TOC. A TOC that no layout decodes is a ReplayFormatError at the offset and path
where the layout that got furthest failed, never a guess. Decoded records are
`_generated_toc.Rec` (dicts whose fields also read as attributes; unit enums are their
variant names). The Construct oracle (`schema` parsed by Construct) is the tests' reference for
the same values and errors.

Checksums (`container_checks`), as memvid writes them and as every real file satisfies:
- footer `toc_hash` = BLAKE3(TOC bytes);
- TOC `toc_checksum` (its last 32 bytes) = BLAKE3(TOC bytes with those 32 bytes zeroed);
- header bytes 48..80 = that same toc_checksum (memvid's `verify` does not look at it);
- each frame's `checksum` = BLAKE3(payload bytes at [payload_offset, +payload_length)).
Nothing here imports the model layer, Construct or the schema.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import blake3

from . import _generated_toc as GT
from .accel import GT as _codec
from .errors import ErrorKind as K
from .errors import ReplayFormatError

if TYPE_CHECKING:
    from construct import Construct

    from ._types import Buf
    from .trace import Span, Trace

__all__ = ["DecodedToc", "decode_toc", "encode_toc", "build_toc", "toc_checksum", "Check",
           "container_checks"]

_HASH = 32
HEADER_SIZE = GT.MV2_HEADER_SIZE  # 4096
FOOTER_SIZE = GT.MV2_FOOTER_SIZE  # 56
HEADER_CHECKSUM_RANGE = GT.MV2_HEADER_CHECKSUM_RANGE  # (48, 80)


class DecodedToc:
    """A decoded TOC: `layout` (a name from `schema.TOC_LAYOUTS`), `value` (a
    `_generated_toc.Rec`), `start`/`end` (absolute offsets of the TOC bytes), `raw` (those
    bytes), `data` (the whole input, for field spans) and `starts` (absolute offset of each
    top-level field)."""

    __slots__ = ("layout", "value", "start", "end", "raw", "data", "starts", "_trace")

    def __init__(self, layout: str, value: GT.Rec, start: int, end: int, raw: bytes, data: Buf,
                 starts: tuple[int, ...] = ()) -> None:
        self.layout, self.value, self.start, self.end, self.raw = layout, value, start, end, raw
        self.data = data
        self.starts = starts
        self._trace: Trace | None = None

    @property
    def schema(self) -> Construct:
        """The layout's Construct declaration (imports Construct: for tracing and tests)."""
        from .schema import TOC_LAYOUTS

        return TOC_LAYOUTS[self.layout]

    @property
    def frames(self) -> list[GT.Rec]:
        frames: list[GT.Rec] = self.value["frames"]
        return frames

    @property
    def replay_manifest(self) -> dict[str, int] | None:
        """The ReplayManifest's fields as a dict, or None (also for layouts without one)."""
        m = self.value.get("replay_manifest")
        if m is None:
            return None
        return {k: m[k] for k in ("segment_offset", "segment_size", "session_count",
                                  "total_actions", "version")}

    @property
    def manifest_tag_pos(self) -> int | None:
        """Absolute offset of the replay_manifest Option tag (None without that field)."""
        return self.field_offset("replay_manifest")

    def field_offset(self, name: str) -> int | None:
        """Absolute offset of top-level field `name` (None if the layout has none), as the
        decoder met it."""
        names = GT.TOC_FIELDS[self.layout]
        if name not in names or len(self.starts) != len(names):
            return None
        return self.starts[names.index(name)]

    @property
    def toc_checksum(self) -> bytes:
        checksum: bytes = self.value["toc_checksum"]
        return checksum

    def trace(self) -> Trace:
        """Every field's span (`trace.Trace`, paths under ``toc``), computed on first use."""
        if self._trace is None:
            from .trace import trace_record

            self._trace = trace_record(self.schema, self.data, self.start, self.end, "toc")
        return self._trace

    def span(self, path: str) -> Span | None:
        return self.trace().find(path)

    def __repr__(self) -> str:
        return (f"DecodedToc(layout={self.layout!r}, start={self.start}, end={self.end}, "
                f"frames={len(self.frames)})")


def _reason(err: ReplayFormatError) -> str:
    """What went wrong, worded as the schema's bincode primitives word it (the oracle's
    text), so that a message reads the same whichever reader met the failure."""
    k = err.kind
    if k == K.TRUNCATED:
        return (f"stream read less than specified amount, expected {err.expected}, "
                f"found {err.actual}")
    if k == K.LENGTH_OVERFLOW:
        return err.reason.removeprefix("declared ")
    if k == K.INVALID_TAG:
        return f"invalid Option tag {err.actual}"
    if k == K.INVALID_BOOL:
        return f"invalid bool byte {err.actual}"
    if k == K.UNKNOWN_VARIANT:
        return f"unknown variant index {err.actual}"
    if k == K.BAD_UUID_LENGTH:
        return f"Uuid length {err.actual}, expected 16"
    if k == K.DUPLICATE_KEY:
        return f"duplicate map key {err.actual!r}"
    return err.reason


def decode_toc(data: Buf, start: int, end: int, layouts: tuple[str, ...] | None = None
               ) -> DecodedToc:
    """Decode data[start:end] as a TOC, trying each layout of `layouts` (names from
    `schema.TOC_LAYOUTS`; default all of them) in order; the first that consumes exactly
    [start, end) wins.

    Raises ReplayFormatError: the failure of the layout that got furthest (a layout that
    decodes with bytes left over fails with TRAILING_BYTES where it stopped). The cyclic
    garbage collector is paused meanwhile (a 10k-frame TOC is some 300,000 objects).
    """
    raw = bytes(data[start:end])
    paused = gc.isenabled()
    if paused:  # no cycles are made, and collections would walk every record again and again
        gc.disable()
    try:
        return _decode(data, raw, start, end, layouts)
    finally:
        if paused:
            gc.enable()


def _decode(data: Buf, raw: bytes, start: int, end: int, layouts: tuple[str, ...] | None
            ) -> DecodedToc:
    n = len(raw)
    best: ReplayFormatError | None = None
    for name in layouts or GT.TOC_LAYOUTS:
        parse = getattr(_codec, f"parse_toc_{name}")  # compiled where built (`accel`)
        try:
            value, stop, starts = parse(raw, 0, n)
        except ReplayFormatError as exc:
            err = ReplayFormatError(exc.kind, f"TOC does not decode ({name} layout): "
                                    f"{_reason(exc)}", offset=start + exc.offset,
                                    path=exc.path).prefix("toc")
        else:
            if stop == n:
                return DecodedToc(name, value, start, end, raw, data,
                                  tuple(start + s for s in starts))
            err = ReplayFormatError(K.TRAILING_BYTES,
                                    f"{n - stop} bytes after the TOC ({name} layout)",
                                    offset=start + stop, path="toc", expected=0,
                                    actual=n - stop)
        if best is None or err.offset > best.offset:
            best = err
    assert best is not None
    raise best


def encode_toc(toc: DecodedToc, value: Mapping[str, Any] | None = None,
               layout: str | None = None) -> bytes:
    """The bytes of `value` (default: the decoded value) in `layout` (default: `toc`'s)."""
    out = bytearray()
    GT.TOC_LAYOUTS[layout or toc.layout][1](toc.value if value is None else value, out)
    return bytes(out)


def build_toc(value: Mapping[str, Any], layout: str = "current") -> bytes:
    """The bytes of a TOC `value` (a mapping of the layout's fields) in `layout`."""
    out = bytearray()
    GT.TOC_LAYOUTS[layout][1](value, out)
    return bytes(out)


def toc_checksum(toc_bytes: bytes) -> bytes:
    """BLAKE3 of the TOC with its last 32 bytes (the toc_checksum field) zeroed."""
    return blake3.blake3(bytes(toc_bytes[:-_HASH]) + bytes(_HASH)).digest()


class Check(NamedTuple):
    """One container checksum: `name` (footer_toc_hash, toc_checksum, header_toc_checksum,
    frame_checksum, frame_payload_range), `ok`, where the stored value is (`offset`, `length`,
    `path`), what it should be (`expected`) and what it is (`actual`), and `frame_id` for
    frame checks."""

    name: str
    ok: bool
    offset: int
    length: int
    path: str
    expected: Any
    actual: Any
    frame_id: int | None = None


def container_checks(data: Buf, start: int, footer_pos: int, toc: DecodedToc | None = None
                     ) -> list[Check]:
    """Every checksum the container keeps, checked against the bytes (`Check.ok`): the TOC
    hashes need only the TOC range [start, footer_pos); frame checksums need the decoded `toc`
    (skipped without one)."""
    raw = bytes(data[start:footer_pos])
    out: list[Check] = []
    stored = bytes(data[footer_pos + 16:footer_pos + 48])
    digest = blake3.blake3(raw).digest()
    out.append(Check("footer_toc_hash", stored == digest, footer_pos + 16, _HASH,
                     "footer.toc_hash", digest.hex(), stored.hex()))
    if len(raw) >= _HASH:
        stored = raw[-_HASH:]
        digest = toc_checksum(raw)
        out.append(Check("toc_checksum", stored == digest, footer_pos - _HASH, _HASH,
                         "toc.toc_checksum", digest.hex(), stored.hex()))
        lo, hi = HEADER_CHECKSUM_RANGE
        header_copy = bytes(data[lo:hi])
        out.append(Check("header_toc_checksum", header_copy == stored, lo, hi - lo,
                         "header.toc_checksum", stored.hex(), header_copy.hex()))
    if toc is not None:
        out.extend(frame_checks(data, toc))
    return out


def frame_checks(data: Buf, toc: DecodedToc) -> list[Check]:
    """Frame checksums (BLAKE3 of the stored payload) and payload ranges (inside the data
    region before the TOC). The field offsets come from the trace only for failures."""
    out: list[Check] = []
    for i, frame in enumerate(toc.frames):
        po, pl = frame.payload_offset, frame.payload_length
        if po < HEADER_SIZE and pl or po + pl > toc.start:
            span = toc.span(f"toc.frames[{i}].payload_offset")
            out.append(Check("frame_payload_range", False, span.offset if span else toc.start,
                             16, f"toc.frames[{i}].payload_offset",
                             f"[{HEADER_SIZE}, {toc.start})", f"[{po}, {po + pl})",
                             frame.id))
            continue
        digest = blake3.blake3(bytes(data[po:po + pl])).digest()
        if digest != frame.checksum:
            span = toc.span(f"toc.frames[{i}].checksum")
            out.append(Check("frame_checksum", False, span.offset if span else toc.start,
                             _HASH, f"toc.frames[{i}].checksum", digest.hex(),
                             frame.checksum.hex(), frame.id))
    return out


def stamp_toc(toc_bytes: bytes) -> bytes:
    """`toc_bytes` with its toc_checksum (last 32 bytes) set to what the rest implies."""
    return bytes(toc_bytes[:-_HASH]) + toc_checksum(toc_bytes)


def with_toc(data: Buf, toc_bytes: bytes) -> bytes:
    """A copy of the `.mv2` `data` whose TOC is `toc_bytes` (any length, any layout), with
    every checksum made consistent: the TOC's toc_checksum, the header's copy of it, the footer's
    toc_len and toc_hash; header footer_offset and the footer generation are kept. For building
    test files (legacy layouts, tampered-then-resealed manifests); evidence is never edited."""
    size = len(data)
    footer_pos = size - FOOTER_SIZE
    footer, _ = GT.parse_Mv2Footer(bytes(data[footer_pos:]), 0, FOOTER_SIZE)
    start = footer_pos - footer.toc_len
    toc_bytes = stamp_toc(toc_bytes)
    header, _ = GT.parse_Mv2HeaderPage(bytes(data[:HEADER_SIZE]), 0, HEADER_SIZE)
    out = bytearray()
    GT.build_Mv2HeaderPage(GT.Rec(header, toc_checksum=toc_bytes[-_HASH:]), out)
    out += data[HEADER_SIZE:start]
    out += toc_bytes
    GT.build_Mv2Footer(GT.Rec(footer, toc_len=len(toc_bytes),
                              toc_hash=blake3.blake3(toc_bytes).digest()), out)
    return bytes(out)
