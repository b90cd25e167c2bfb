"""The `.mv2` memory file around replay segments: header, footer, TOC, and the live segment.

The TOC is decoded forward from footer_offset (`toc.decode_toc`, every layout memvid wrote);
the live segment is the one its `replay_manifest` names, and nothing else: a TOC that does not
decode, or a manifest naming bytes that are not a segment, is a ReplayFormatError with offset
and path. A manifest of None (or a layout without one) means no live segment. Session records
are not decoded here: the live segment is checked with `scan.scan_segment` (every byte
checked, no action built) and decoded only on request. Whether the manifest's counts agree
with the segment is `validate`'s question, not a reason to look elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import _generated as G
from .codec import parse_segment
from .errors import ErrorKind, ReplayFormatError
from .framing import (
    MV2,
    MV2_FOOTER_SIZE,
    MV2_HEADER_SIZE,
    SEGMENT,
    Mv2Layout,
    read_layout,
    readable,
    sniff,
)
from .scan import SegmentScan, scan_segment
from .toc import DecodedToc, decode_toc

if TYPE_CHECKING:
    from mmap import mmap
    from typing import TypeAlias

    from .model import ReplayManifest, Segment

    #: The bytes of an input file as the readers take them (a mapped file, or bytes).
    Data: TypeAlias = bytes | bytearray | memoryview | mmap

__all__ = ["is_mv2", "Mv2Layout", "read_layout", "read_toc", "find_live_segment",
           "LiveSegment", "live_segment"]

FOOTER_SIZE = MV2_FOOTER_SIZE  # 56
HEADER_SIZE = MV2_HEADER_SIZE  # 4096


def is_mv2(data: Data) -> bool:
    return sniff(data) == MV2


def read_toc(data: Data, layout: Mv2Layout | None = None) -> DecodedToc:
    """The decoded TOC of a `.mv2` (ReplayFormatError with offset and path if it does not
    decode in any layout)."""
    layout = layout or read_layout(data)
    if isinstance(data, memoryview):  # the TOC readers slice and decode: bytes, as parse_* read it
        data = data.tobytes()
    return decode_toc(data, layout.footer_offset, layout.footer_pos)


class LiveSegment:
    """The segment the TOC manifest points at: offset, size, tag_pos (absolute position of
    the manifest's Option tag in the TOC), manifest (the ReplayManifest), scan (the segment
    checked and summarised, `stream.SegmentScan`), segment (decoded on first use) and toc (the
    decoded TOC)."""

    __slots__ = ("offset", "size", "tag_pos", "manifest_values", "scan", "toc", "_data",
                 "_segment", "_manifest")

    def __init__(self, offset: int, size: int, tag_pos: int, manifest_values: Mapping[str, int],
                 scan: SegmentScan, data: Data, toc: DecodedToc | None = None) -> None:
        self.offset, self.size, self.tag_pos = offset, size, tag_pos
        self.manifest_values = manifest_values  # the manifest's fields, as a dict
        self.scan = scan
        self.toc = toc
        self._data = data
        self._segment: Segment | None = None
        self._manifest: ReplayManifest | None = None

    @property
    def manifest(self) -> ReplayManifest:
        if self._manifest is None:
            from .model import ReplayManifest

            self._manifest = ReplayManifest(**self.manifest_values)
        return self._manifest

    @property
    def segment(self) -> Segment:
        if self._segment is None:
            self._segment = parse_segment(self._data[self.offset:self.offset + self.size])
        return self._segment

    def __repr__(self) -> str:
        return (f"LiveSegment(offset={self.offset}, size={self.size}, tag_pos={self.tag_pos}, "
                f"manifest={self.manifest_values!r})")


def manifest_target_error(data: Data, layout: Mv2Layout, toc: DecodedToc, check_size: bool = True
                          ) -> ReplayFormatError | None:
    """Why the Some manifest of `toc` does not name a segment inside the data region (None
    when its range is inside [header, TOC) and starts with the segment magic). Without
    `check_size` only segment_offset is checked (a wrong size is then the caller's finding)."""
    m = toc.replay_manifest
    tag = toc.manifest_tag_pos
    assert m is not None and tag is not None  # the caller's toc holds a Some manifest
    offset, size = m["segment_offset"], m["segment_size"] if check_size else 8
    if offset < HEADER_SIZE or offset + size > layout.footer_offset:
        return ReplayFormatError(
            ErrorKind.LENGTH_OVERFLOW,
            "replay manifest names bytes outside the data region before the TOC",
            offset=tag + 1, path="toc.replay_manifest.segment_offset",
            expected=f"[{HEADER_SIZE}, {layout.footer_offset})",
            actual=f"[{offset}, {offset + size})")
    head = bytes(data[offset:offset + 8])
    if sniff(head) != SEGMENT:
        return ReplayFormatError(
            ErrorKind.BAD_MAGIC, f"replay manifest names offset {offset}, which holds no "
            "replay segment", offset=tag + 1, path="toc.replay_manifest.segment_offset",
            expected=G.SEGMENT_MAGIC, actual=head)
    return None


def live_segment(data: Data, depth: str = "full") -> LiveSegment | None:
    """The live segment of a `.mv2`: the one its decoded TOC's replay_manifest names (None
    when the manifest is None).

    Raises ReplayFormatError when the file is not a usable `.mv2`, the TOC does not decode, or
    the manifest names bytes that are not a segment that decodes: with depth "full" every byte
    of it (as `parse_segment`), with "outline" its structure, with "head" its container and each
    session up to its action count (what a listing needs; decoding a session later checks the
    rest).
    """
    data = readable(data)  # type: ignore[no-untyped-call, unused-ignore]  # framing: untyped
    layout = read_layout(data)
    toc = read_toc(data, layout)
    m = toc.replay_manifest
    if m is None:
        return None
    err = manifest_target_error(data, layout, toc)
    if err is not None:
        raise err
    offset, size = m["segment_offset"], m["segment_size"]
    scan = scan_segment(data, offset, offset + size, depth)
    tag = toc.manifest_tag_pos
    assert tag is not None  # a layout with a manifest has its tag
    return LiveSegment(offset, size, tag, m, scan, data, toc)


def find_live_segment(data: Data) -> tuple[int, int] | None:
    """(offset, size) of the live segment of a `.mv2`, or None when there is none."""
    live = live_segment(data)
    return None if live is None else (live.offset, live.size)
