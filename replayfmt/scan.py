"""Checking without building: a segment or sidecar checked end to end, one summary per session.

`scan_segment` walks the segment with `framing` and checks each session with a generated
summary parser (every length, tag, variant index and string is checked exactly as the full
decoder checks it, but no action or checkpoint object is built); `SessionSummary` is the one
shape a session is listed in (info, carve, sessions, mv2). The depth switch stops early:
"outline" does not decode strings, "head" stops at each session's action count.
"""

from __future__ import annotations

import mmap
import re
from collections import namedtuple
from typing import Any

from .accel import G
from .framing import (
    envelope_block,
    exact,
    in_block,
    readable,
    segment_blocks,
    segment_header,
)

__all__ = ["release", "SessionSummary", "SegmentScan", "DEPTHS", "DISPLAY_NAMES",
           "scan_segment", "summarize_active"]

_PAGE = mmap.PAGESIZE


def release(buf: Any, start: int, stop: int) -> None:
    """Drop the pages of buf[start:stop] from this process's memory when buf is an mmap of a
    file (MADV_DONTNEED; they stay in the page cache): a walk over a huge file then keeps a
    flat resident set instead of accumulating every page it has read."""
    if type(buf) is mmap.mmap and hasattr(mmap, "MADV_DONTNEED"):
        first = start - start % _PAGE
        if stop > first:
            buf.madvise(mmap.MADV_DONTNEED, first, stop - first)


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

    @classmethod
    def of(cls, session: Any, index: int = 0, offset: int = 0, length: int = 0
           ) -> SessionSummary:
        """The same summary of a decoded session (model objects)."""
        by_variant = [0] * len(DISPLAY_NAMES)
        for a in session.actions:
            by_variant[a.action_type.INDEX] += 1
        counts = {name: n for name, n in zip(DISPLAY_NAMES, by_variant, strict=False) if n}
        return cls(index, offset, length, session.session_id, session.name,
                   session.created_secs, session.ended_secs, len(session.checkpoints),
                   len(session.actions), counts, session.metadata, session.version)

    def listing(self) -> dict[str, Any]:
        """What every listing shows of a session (carve, sessions --all, the fuzz comparison
        with memvid's `session list`): id as text, name, times, counts."""
        return {"session_id": str(self.session_id), "name": self.name,
                "created_secs": self.created_secs, "ended_secs": self.ended_secs,
                "action_count": self.action_count, "checkpoint_count": self.checkpoint_count}

    def to_json(self) -> dict[str, Any]:
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


def _summary(raw: dict[str, Any], index: int, start: int, stop: int) -> SessionSummary:
    by_variant = raw.get("actions_by_variant")
    counts = None if by_variant is None else {
        name: n for name, n in zip(DISPLAY_NAMES, by_variant, strict=False) if n}
    return SessionSummary(index, start, stop - start, raw["session_id"], raw["name"],
                          raw["created_secs"], raw["ended_secs"], raw["checkpoints"],
                          raw["actions"], counts, raw.get("metadata"), raw.get("version"))


def _head(b: Any, p: int, e: int) -> tuple[Any, int]:
    """head_ReplaySession, and nothing is checked after the action count."""
    value, _ = G.head_ReplaySession(b, p, e)
    return value, e


#: How much of each session `scan_segment` checks (the container is always checked whole).
DEPTHS = {
    "full": G.summary_ReplaySession,  # every byte, as parse_segment (strings decoded)
    "outline": G.outline_ReplaySession,  # every length, tag and variant; strings not decoded
    "head": _head,  # the fields before the actions, and the action count: O(sessions)
}


def scan_segment(buf: Any, offset: int = 0, end: int | None = None, depth: str = "full"
                 ) -> SegmentScan:
    """Check the segment at buf[offset:end] and summarise its sessions, without building
    actions; ReplayFormatError (absolute offsets) when it is not valid.

    depth "full" accepts exactly what `parse_segment` accepts; "outline" does not decode strings;
    "head" reads each session only up to its action count (the container, every length
    prefix, total_size and session_count are still checked), so it costs O(sessions) and
    gives no counts by type.
    """
    buf = readable(buf)
    end = len(buf) if end is None else end
    header = segment_header(buf, offset, end)
    parse = DEPTHS[depth]
    sessions = []
    for i, start, stop in segment_blocks(buf, offset, end, header=header):
        raw = in_block(parse, buf, start, stop, f"sessions[{i}]", "session")
        sessions.append(_summary(raw, i, start, stop))
        release(buf, start, stop)
    return SegmentScan(offset, end - offset, header.version, header.session_count,
                       header.total_size, sessions)


def summarize_active(buf: Any) -> tuple[SessionSummary, dict[str, Any]]:
    """Summary of the session in an `MV2ACTIV` envelope, and the envelope's other fields."""
    buf = readable(buf)
    start, stop = envelope_block(buf)
    raw = in_block(G.summary_ActiveSession, buf, start, stop, "", "active session")
    exact(stop, len(buf), "", "envelope")
    session = raw.pop("session")
    return _summary(session, 0, start, len(buf)), raw
