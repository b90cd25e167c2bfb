"""The `.mv2` memory file around replay segments: header, footer, TOC, and the live segment.

Only what locating segments needs. The live segment is the one the TOC's ReplayManifest points
at; reading the TOC backwards is ambiguous (FORMAT.md), so the manifest is found by searching the
current TOC for `01 | offset | size | session_count | total_actions | version` of a segment that
fully decodes with every value agreeing. No match means no live segment (manifest None).
Session records are not decoded here: candidates are checked with `stream.scan_segment`
(every byte checked, no action built) and the live segment is decoded only on request.
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING

from . import _generated as G
from .codec import MANIFEST_SIZE, parse_segment
from .errors import ErrorKind, ReplayFormatError
from .stream import SegmentScan, scan_segment

if TYPE_CHECKING:
    from .model import ReplayManifest, Segment

__all__ = ["is_mv2", "Mv2Layout", "read_layout", "find_live_segment", "LiveSegment",
           "live_segment"]

FOOTER_SIZE = G.SIZE["Mv2Footer"]  # 56
HEADER_SIZE = 4096


def is_mv2(data) -> bool:
    return bytes(data[:4]) == G.MV2_MAGIC


class Mv2Layout(namedtuple("Mv2Layout", "size footer_offset footer_pos toc_len generation")):
    """Where the parts of a `.mv2` file are: size, footer_offset (header bytes 8..16: where
    the TOC starts), footer_pos (where the 56-byte footer starts), toc_len, generation.
    (A named tuple, not attrs: locating segments does not import the model layer.)"""

    __slots__ = ()

    @property
    def toc_range(self) -> tuple[int, int]:
        return self.footer_offset, self.footer_pos


def read_layout(data) -> Mv2Layout:
    """Header and footer of a `.mv2`.

    Raises ReplayFormatError (a ValueError) with the offset and path of the part that is
    missing or wrong, so every entry point gives a value or that one error.
    """
    size = len(data)
    if size < 4 or not is_mv2(data):
        kind = ErrorKind.TRUNCATED if size < 4 else ErrorKind.BAD_MAGIC
        raise ReplayFormatError(kind, "not a .mv2 file (no MV2\\0 header)", offset=0,
                                path="header.magic", expected=G.MV2_MAGIC,
                                actual=bytes(data[:4]))
    header, _ = _prefixed(G.json_Mv2Header, data, 0, min(size, G.SIZE["Mv2Header"]), "header")
    footer_pos = size - FOOTER_SIZE
    if footer_pos < G.SIZE["Mv2Header"] or bytes(data[footer_pos:footer_pos + 8]) != \
            G.MV2_FOOTER_MAGIC:
        raise ReplayFormatError(ErrorKind.BAD_MAGIC, "no MV2FOOT! footer at the end of the file",
                                offset=max(footer_pos, 0), path="footer.magic",
                                expected=G.MV2_FOOTER_MAGIC,
                                actual=bytes(data[max(footer_pos, 0):footer_pos + 8]))
    footer, _ = _prefixed(G.json_Mv2Footer, data, footer_pos, size, "footer")
    footer_offset = header["footer_offset"]
    toc_len = footer["toc_len"]
    if not 0 <= footer_offset <= footer_pos or footer_pos - footer_offset != toc_len:
        # Trust the footer's toc_len when the header disagrees (e.g. a torn header write).
        footer_offset = footer_pos - toc_len
        if footer_offset < 0:
            raise ReplayFormatError(ErrorKind.LENGTH_OVERFLOW, "TOC length exceeds the file",
                                    offset=footer_pos + 8, path="footer.toc_len",
                                    expected=f"<= {footer_pos}", actual=toc_len)
    return Mv2Layout(size, footer_offset, footer_pos, toc_len, footer["generation"])


def _prefixed(parse, data, start, end, part):
    try:
        return parse(data, start, end)
    except ReplayFormatError as err:
        raise err.prefix(part)


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
