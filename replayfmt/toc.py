"""The `.mv2` table of contents, decoded forward from footer_offset, and the container checksums.

The TOC is one bincode record (`schema.Toc`, or one of the earlier layouts in
`schema.TOC_LAYOUTS`) that fills [footer_offset, footer) exactly. It is decoded here with
Construct from the schema declarations (no generated code yet), layout by layout in the order
memvid's reader tries them; a layout counts only when it consumes every byte of the TOC. A TOC
that no layout decodes is a ReplayFormatError at the offset and path where the layout that got
furthest failed, never a guess.

Checksums (`container_checks`), as memvid writes them and as every real file satisfies:
- footer `toc_hash` = BLAKE3(TOC bytes);
- TOC `toc_checksum` (its last 32 bytes) = BLAKE3(TOC bytes with those 32 bytes zeroed);
- header bytes 48..80 = that same toc_checksum (memvid's `verify` does not look at it);
- each frame's `checksum` = BLAKE3(payload bytes at [payload_offset, +payload_length)).
Nothing here imports the model layer or the generated codec; Construct and the schema are
imported on first decode (reading a plain segment never needs them).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import blake3

from .errors import ErrorKind as K
from .errors import ReplayFormatError

__all__ = ["DecodedToc", "decode_toc", "encode_toc", "toc_checksum", "Check",
           "container_checks"]

_HASH = 32
HEADER_SIZE = 4096  # schema.MV2_HEADER_SIZE
FOOTER_SIZE = 56  # schema.MV2_FOOTER_SIZE
HEADER_CHECKSUM_RANGE = (48, 80)  # schema.MV2_HEADER_CHECKSUM_RANGE


class DecodedToc:
    """A decoded TOC: `layout` (a name from `schema.TOC_LAYOUTS`), `value` (the Construct
    Container), `start`/`end` (absolute offsets of the TOC bytes), `raw` (those bytes) and
    `data` (the whole input, for field spans)."""

    __slots__ = ("layout", "value", "start", "end", "raw", "data", "_trace")

    def __init__(self, layout: str, value, start: int, end: int, raw: bytes, data) -> None:
        self.layout, self.value, self.start, self.end, self.raw = layout, value, start, end, raw
        self.data = data
        self._trace = None

    @property
    def schema(self):
        from .schema import TOC_LAYOUTS

        return TOC_LAYOUTS[self.layout]

    @property
    def frames(self) -> list:
        return self.value.frames

    @property
    def replay_manifest(self) -> dict | None:
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
        """Absolute offset of top-level field `name` (None if the layout has none), from the
        encoded sizes of the fields after it (cheap for the TOC's tail fields)."""
        subs = self.schema.subcons
        names = [sub.name for sub in subs]
        if name not in names:
            return None
        i = names.index(name)
        after = sum(len(sub.build(self.value[sub.name])) for sub in subs[i:])
        return self.end - after

    @property
    def toc_checksum(self) -> bytes:
        return self.value.toc_checksum

    def trace(self):
        """Every field's span (`trace.Trace`, paths under ``toc``), computed on first use."""
        if self._trace is None:
            from .trace import trace_record

            self._trace = trace_record(self.schema, self.data, self.start, self.end, "toc")
        return self._trace

    def span(self, path: str):
        return self.trace().find(path)

    def __repr__(self) -> str:
        return (f"DecodedToc(layout={self.layout!r}, start={self.start}, end={self.end}, "
                f"frames={len(self.frames)})")


def _construct_error(exc, stream, layout: str) -> ReplayFormatError:
    from .oracle import construct_error

    err = construct_error(exc, stream)
    reason = str(exc).split("\n", 1)[-1]  # Construct puts its own path on the first line
    err = ReplayFormatError(err.kind, f"TOC does not decode ({layout} layout): {reason}",
                            offset=err.offset, path=err.path, expected=err.expected,
                            actual=err.actual)
    return err.prefix("toc")


def decode_toc(data, start: int, end: int, layouts: dict | None = None) -> DecodedToc:
    """Decode data[start:end] as a TOC, trying each layout of `layouts` (default
    `schema.TOC_LAYOUTS`) in order; the first that consumes exactly [start, end) wins.

    Raises ReplayFormatError: the failure of the layout that got furthest (a layout that
    decodes with bytes left over fails with TRAILING_BYTES where it stopped).
    """
    from construct import ConstructError

    from . import schema

    raw = bytes(data[start:end])
    best: ReplayFormatError | None = None
    for name, node in (layouts or schema.TOC_LAYOUTS).items():
        stream = schema.OffsetStream(raw, start)
        try:
            value = node.parse_stream(stream)
        except ConstructError as exc:
            err = _construct_error(exc, stream, name)
        else:
            if stream.tell() == len(raw):
                return DecodedToc(name, value, start, end, raw, data)
            stop = start + stream.tell()
            err = ReplayFormatError(K.TRAILING_BYTES,
                                    f"{end - stop} bytes after the TOC ({name} layout)",
                                    offset=stop, path="toc", expected=0, actual=end - stop)
        if best is None or err.offset > best.offset:
            best = err
    assert best is not None
    raise best


def encode_toc(toc: DecodedToc, value=None) -> bytes:
    """The bytes of `value` (default: the decoded value) in `toc`'s layout."""
    return toc.schema.build(toc.value if value is None else value)


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


def container_checks(data, start: int, footer_pos: int, toc: DecodedToc | None = None
                     ) -> list[Check]:
    """Every checksum the container keeps, checked against the bytes (`Check.ok`): the TOC
    hashes need only the TOC range [start, footer_pos); frame checksums need the decoded `toc`
    (skipped without one)."""
    raw = bytes(data[start:footer_pos])
    out = []
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


def frame_checks(data, toc: DecodedToc) -> list[Check]:
    """Frame checksums (BLAKE3 of the stored payload) and payload ranges (inside the data
    region before the TOC). The field offsets come from the trace only for failures."""
    out = []
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


def with_toc(data, toc_bytes: bytes) -> bytes:
    """A copy of the `.mv2` `data` whose TOC is `toc_bytes` (any length, any layout), with
    every checksum made consistent: the TOC's toc_checksum, the header's copy of it, the footer's
    toc_len and toc_hash; header footer_offset and the footer generation are kept. For building
    test files (legacy layouts, tampered-then-resealed manifests); evidence is never edited."""
    from . import schema

    size = len(data)
    footer_pos = size - FOOTER_SIZE
    footer = schema.Mv2Footer.parse(bytes(data[footer_pos:]))
    start = footer_pos - footer.toc_len
    toc_bytes = stamp_toc(toc_bytes)
    lo, hi = HEADER_CHECKSUM_RANGE
    head = bytes(data[:lo]) + toc_bytes[-_HASH:] + bytes(data[hi:start])
    new_footer = schema.Mv2Footer.build({
        "toc_len": len(toc_bytes), "toc_hash": blake3.blake3(toc_bytes).digest(),
        "generation": footer.generation})
    return head + toc_bytes + new_footer
