"""The `.mv2` memory file around replay segments: header, footer, TOC, and the live segment.

Only what locating segments needs. The live segment is the one the TOC's ReplayManifest points
at; reading the TOC backwards is ambiguous (FORMAT.md), so the manifest is found by searching the
current TOC for `01 | offset | size | session_count | total_actions | version` of a segment that
fully decodes with every value agreeing. No match means no live segment (manifest None).
Session records are not decoded here: candidates are checked with `stream.scan_segment`
(every byte checked, no action built) and the live segment is decoded only on request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _generated as G
from .codec import MANIFEST_SIZE, parse_segment
from .errors import ReplayFormatError
from .framing import MV2, MV2_FOOTER_SIZE, MV2_HEADER_SIZE, SEGMENT, Mv2Layout, read_layout, sniff
from .scan import SegmentScan, scan_segment

if TYPE_CHECKING:
    from .model import ReplayManifest, Segment

__all__ = ["is_mv2", "Mv2Layout", "read_layout", "find_live_segment", "LiveSegment",
           "live_segment"]

FOOTER_SIZE = MV2_FOOTER_SIZE  # 56
HEADER_SIZE = MV2_HEADER_SIZE  # 4096


def is_mv2(data) -> bool:
    return sniff(data) == MV2


class LiveSegment:
    """The segment the TOC manifest points at: offset, size, tag_pos (absolute position of
    the manifest's Option tag in the TOC), manifest (the ReplayManifest), scan (the segment
    checked and summarised, `stream.SegmentScan`) and segment (decoded on first use)."""

    __slots__ = ("offset", "size", "tag_pos", "manifest_values", "scan", "_data", "_segment",
                 "_manifest")

    def __init__(self, offset: int, size: int, tag_pos: int, manifest_values: dict,
                 scan: SegmentScan, data) -> None:
        self.offset, self.size, self.tag_pos = offset, size, tag_pos
        self.manifest_values = manifest_values  # the manifest's fields, as a dict
        self.scan = scan
        self._data = data
        self._segment = None
        self._manifest = None

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


def _manifest_matches(m: dict, seg: SegmentScan) -> bool:
    return (m["session_count"] == seg.session_count == len(seg.sessions)
            and m["total_actions"] == seg.total_actions
            and m["version"] == seg.version)


def live_segment(data, depth: str = "full") -> LiveSegment | None:
    """The live segment of a `.mv2` (None when the manifest is None); ValueError if not a .mv2.

    A candidate must decode: with depth "full" every byte of it (as `parse_segment`), with
    "outline" its structure, with "head" its container and each session up to its action
    count (what a listing needs; decoding a session later checks the rest).
    """
    layout = read_layout(data)
    start, stop = layout.toc_range
    toc = bytes(data[start:stop])
    magic = G.SEGMENT_MAGIC
    decoded: dict[tuple[int, int], SegmentScan | None] = {}
    found = None
    pos = toc.find(b"\x01")
    while pos != -1 and pos + 1 + MANIFEST_SIZE <= len(toc):
        m, _ = G.json_ReplayManifest(toc, pos + 1, pos + 1 + MANIFEST_SIZE)
        offset, size = m["segment_offset"], m["segment_size"]
        key = (offset, size)
        if offset + size <= start and bytes(data[offset:offset + 8]) == magic:
            if key not in decoded:
                try:
                    decoded[key] = scan_segment(data, offset, offset + size, depth)
                except ReplayFormatError:
                    decoded[key] = None
            seg = decoded[key]
            if seg is not None and _manifest_matches(m, seg):
                found = LiveSegment(offset, size, start + pos, m, seg, data)
        pos = toc.find(b"\x01", pos + 1)
    return found


def find_live_segment(data) -> tuple[int, int] | None:
    """(offset, size) of the live segment of a `.mv2`, or None when there is none."""
    live = live_segment(data)
    return None if live is None else (live.offset, live.size)


def manifest_in_tail(data, layout: Mv2Layout) -> tuple[int, dict | None] | None:
    """(tag position, manifest values or None) read structurally from the TOC's tail, or None:
    what explains a TOC whose manifest matches no segment (`live_segment` is None).

    Tail: Option<ReplayManifest> | u64 task count + 24 bytes per task | updated_at u64 |
    merkle_root [32] | toc_checksum [32]. A Some candidate must point at a segment magic
    before the TOC; the first consistent reading wins.
    """
    footer = layout.footer_pos
    none_hit = None
    for tasks in range(0, max(0, (footer - layout.footer_offset - 80) // 24) + 1):
        count_pos = footer - 80 - 24 * tasks
        if count_pos - 1 < layout.footer_offset:
            break
        if int.from_bytes(data[count_pos:count_pos + 8], "little") != tasks:
            continue
        some = count_pos - 33
        if some >= layout.footer_offset and data[some] == 1:
            m, _ = G.json_ReplayManifest(bytes(data[some + 1:some + 33]), 0, MANIFEST_SIZE)
            at = m["segment_offset"]
            if at + 8 <= layout.footer_offset and sniff(data[at:at + 8]) == SEGMENT:
                return some, m
        if none_hit is None and data[count_pos - 1] == 0:
            none_hit = (count_pos - 1, None)
    return none_hit
