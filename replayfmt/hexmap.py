"""The forensic hex map: every byte of a segment, sidecar or `.mv2` container, named.

`build_hexmap` runs the tracing parse (`trace`, the one span walker) over the bytes and keeps
its spans with absolute file offsets; `render_text` prints them in `xxd` layout with the fields
that start on each line listed under it, and `render_html` writes one self-contained page
(no network, works from file://) with the field tree beside the hex: hovering or clicking a
field highlights its bytes, clicking a byte selects its field, and `#path` in the URL selects a
field on load. Damaged input maps what decoded, then the undecoded rest as raw bytes with the
error. A `.mv2` is mapped whole (`trace.trace_mv2`): header page, WAL, frame payloads by frame
id, the live segment field by field, TOC-referenced and unreferenced bytes, the TOC field by
field and the footer. A long run of bytes named as one field (a "range": WAL, payload,
reserved or unreferenced bytes) shows its first two hex rows and its last, the rows between
summarised in one line, so a map's size follows its fields, not the file's.

`stream_hexmap` gives the same text, JSON and page without holding the map: the spans of a
segment, a sidecar or a `.mv2` come a few thousand at a time, within a session or a TOC too
(the sink of `trace_segment`, `trace_active_session` and `trace_mv2`), each field is rendered
as it comes into temporary files (the fields waiting for a composite that is still open, all
of a session's until it closes, go to a spill file beyond a few thousand) and the output is
read back from them in pieces. Its memory is bounded by a few thousand fields and the nesting
depth, not by the size of a session or the number of a `.mv2`'s frames: a `.mv2`'s data
region (header, WAL records, frame payloads, its live segment traced in place in the map)
goes as it is laid out, then its TOC, traced a second time at its place. What still grows
with the frames is a tuple per range the TOC names (kept to lay the region out). Damaged
files stream too: a TOC that does not decode up to where it stops, a live segment whose
trace stops with its open fields `closed` there.
`render_text`, `render_html` and the streamed outputs are the same renderers. Nothing here
decodes bytes itself.
"""

from __future__ import annotations

import html
import io
import json
import marshal
import os
import struct
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import attrs

from . import framing
from .errors import ReplayFormatError
from .trace import Span, Trace, trace_active_session, trace_mv2, trace_segment

__all__ = ["HexMap", "Node", "build_hexmap", "render_text", "render_html", "hexmap_json",
           "error_text", "stream_hexmap", "HexMapStream"]

#: Raw bytes after the decoded part shown by default (the rest is counted, not dumped).
RAW_LIMIT = 4096

#: Characters or bytes read back from a temporary file at a time.
_PIECE = 1 << 20


@attrs.frozen
class Node:
    """One field of the map: a trace Span at its absolute offset, with its place in the tree.

    `leaves` is the half-open range of leaf indexes (into HexMap.leaves) the field covers;
    `parent` is the index of the enclosing node in HexMap.nodes (-1 at the top).
    """

    path: str
    offset: int
    size: int
    kind: str
    value: Any
    label: str  # the value as shown to people
    parent: int
    depth: int
    leaves: tuple[int, int]
    is_leaf: bool
    complete: bool = True

    @property
    def end(self) -> int:
        return self.offset + self.size

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "offset": self.offset, "size": self.size, "kind": self.kind,
                "value": _json_value(self.value), "label": self.label,
                "complete": self.complete}


@attrs.frozen
class HexMap:
    """A traced region of a file: `data` is the whole file, `base`..`stop` the mapped bytes.

    From `stream_hexmap`, `nodes` and `leaves` are empty (the fields went to the outputs) and
    `trace.fields` holds only the spans the trace did not hand over (after the last batch)."""

    file_kind: str  # segment | active_session | mv2
    record_kind: str  # segment | active_session | mv2: what the mapped region holds
    data: Any  # bytes, or any buffer (an mmap stays mapped)
    base: int
    stop: int
    trace: Trace
    nodes: tuple[Node, ...]  # every field, in byte order, composites before their contents
    leaves: tuple[int, ...]  # indexes into nodes of the leaf fields, in byte order
    where: str  # one line saying what was mapped

    @property
    def error(self) -> ReplayFormatError | None:
        return self.trace.error

    @property
    def stopped(self) -> bool:
        """True when decoding could not go on (the rest of the region is raw)."""
        return self.trace.error is not None and self.trace.value is None

    @property
    def region(self) -> bytes:
        return bytes(self.data[self.base:self.stop])

    def field_at(self, offset: int) -> Node | None:
        """The leaf field holding the byte at absolute `offset`."""
        for i in self.leaves:
            n = self.nodes[i]
            if n.offset <= offset < n.end:
                return n
        return None


# --- building --------------------------------------------------------------------------------

def _kind_of(data: Any) -> str:
    # a damaged or foreign magic is reported by the segment trace
    return framing.sniff(data) or framing.SEGMENT


class _Out:
    """Where the builder's fields go: every leaf as it is made (`leaf`); every field, once it
    is complete, made into what this output writes of it (`render`: anything `marshal`
    keeps, as a streamed map may keep it in a temporary file for a while), which is then
    given in byte order (`put`); and `advance(upto)` when all fields starting before absolute
    offset `upto` have been given and decoding got at least that far. An output that writes
    nothing of fields but their leaves has `takes_nodes` False (`render` and `put` are then
    not called)."""

    takes_nodes = False

    def leaf(self, k: int, index: int, node: Node) -> None:
        pass

    def render(self, node: Node) -> Any:
        return None

    def put(self, rendered: Any) -> None:
        pass

    def advance(self, upto: int) -> None:
        pass


class _Tee(_Out):
    def __init__(self, outs: Sequence[_Out]) -> None:
        self.outs = outs
        self.takers = [o for o in outs if o.takes_nodes]
        self.takes_nodes = bool(self.takers)

    def leaf(self, k: int, index: int, node: Node) -> None:
        for o in self.outs:
            o.leaf(k, index, node)

    def render(self, node: Node) -> Any:
        return tuple(o.render(node) for o in self.takers)

    def put(self, rendered: Any) -> None:
        for o, r in zip(self.takers, rendered, strict=True):
            o.put(r)

    def advance(self, upto: int) -> None:
        for o in self.outs:
            o.advance(upto)


@attrs.define
class _Open:
    span: Span
    index: int
    parent: int
    parent_kind: str
    depth: int
    lo: int  # leaves before it
    at: int = -1  # where its record is in the spill file (-1: not spilled)


#: Fields waiting behind an open composite that a streamed map keeps in memory (rendered);
#: beyond this many they go to its spill file.
SPILL_AT = 4096

#: A spill file record's head: its tag, then the length of the marshalled fields that follow
#: (b"L": a run of rendered fields in order; b"C": a composite that closed after it was
#: spilled, skipped in order and read where its b"P" record points) or, for b"P" (a
#: composite still open when spilled), the offset of its b"C" record (0 while it is open).
_REC = struct.Struct("<cQ")


class _Builder:
    """Spans in byte order, given in batches -> Nodes: nested by containment (composites come
    before what they hold), leaves indexed, each handed to `out` in byte order once complete.

    A composite still open at the end of a batch (neither `complete` nor `closed`: the
    segment's root while its sessions are handed over, a session or a vector a batch ends
    inside) is taken to hold whatever comes until it closes (its span is finished in place by
    then) or the last batch, which has every size final. The fields up to the last such
    composite of the first batch are the `head`: complete only at the end, they come first in
    the output (the renderers write them before what they put in their temporary files);
    after it, a field is handed on once it and every field before it is complete.

    With a `spill` file (a streamed map), the fields waiting behind an open composite (all of
    a session's until it closes), rendered, are kept in memory up to `SPILL_AT`, then written
    to it in order, each composite still open as a record its field is written to when it
    closes; they are read back in order once nothing before them is open. What the builder
    holds is then bounded by a batch, `SPILL_AT` and the nesting depth, not by the size of a
    session."""

    def __init__(self, base: int, out: _Out, spill: IO[bytes] | None = None) -> None:
        self.base = base
        self.out = out
        self.nodes = out.takes_nodes
        self.stack: list[_Open] = []
        self.count = 0  # fields so far
        self.leaf_count = 0
        self.head: list[Node | None] | None = None  # None until the first batch is done
        self.pending: list[Any] = []  # fields from index `first` on, rendered, not handed on
        self.first = 0
        self.spill = spill  # fields before `first` not handed on yet: bytes rpos..wpos
        self.rpos = self.wpos = 0

    def _put(self, index: int, node: Node | None) -> None:
        if self.head is not None and index < len(self.head):
            self.head[index] = node
            return
        item = None if node is None else self.out.render(node) if self.head is not None \
            else node  # rendered once the head is known (the first batch's are then)
        if index - self.first == len(self.pending):
            self.pending.append(item)
        else:
            self.pending[index - self.first] = item

    def _close(self, o: _Open) -> None:
        if not self.nodes:
            return
        s = o.span
        node = Node(s.path, self.base + s.offset, s.size, s.kind, s.value,
                    _label(s, o.parent_kind), o.parent, o.depth, (o.lo, self.leaf_count),
                    False, s.complete)
        if o.at < 0:
            self._put(o.index, node)
            return
        assert self.spill is not None
        fd, rec = self.spill.fileno(), marshal.dumps(self.out.render(node))
        os.pwrite(fd, _REC.pack(b"C", len(rec)) + rec, self.wpos)
        os.pwrite(fd, _REC.pack(b"P", self.wpos), o.at)
        self.wpos += _REC.size + len(rec)

    def _spill_pending(self) -> None:
        """Write the fields in memory to the spill file, in order."""
        assert self.spill is not None
        opened = {o.index: o for o in self.stack}  # the fields pending holds as None
        parts: list[bytes] = []
        pos = self.wpos
        run: list[Any] = []

        def put(tag: bytes, rec: bytes, n: int) -> None:
            nonlocal pos
            parts.append(_REC.pack(tag, n) + rec)
            pos += _REC.size + len(rec)

        for i, item in enumerate(self.pending, self.first):
            if item is not None:
                run.append(item)
                continue
            if run:
                rec = marshal.dumps(run)
                put(b"L", rec, len(rec))
                run = []
            opened[i].at = pos
            put(b"P", b"", 0)
        if run:
            rec = marshal.dumps(run)
            put(b"L", rec, len(rec))
        os.pwrite(self.spill.fileno(), b"".join(parts), self.wpos)
        self.wpos = pos
        self.first += len(self.pending)
        self.pending = []

    def _unspill(self) -> bool:
        """Hand on the spilled fields in order up to one still open; True if none is left
        (the file is then emptied)."""
        assert self.spill is not None
        fd, put = self.spill.fileno(), self.out.put
        while self.rpos < self.wpos:
            tag, n = _REC.unpack(os.pread(fd, _REC.size, self.rpos))
            if tag == b"P":
                if not n:
                    return False
                _, size = _REC.unpack(os.pread(fd, _REC.size, n))
                put(marshal.loads(os.pread(fd, size, n + _REC.size)))
                self.rpos += _REC.size
                continue
            if tag == b"L":
                for item in marshal.loads(os.pread(fd, n, self.rpos + _REC.size)):
                    put(item)
            self.rpos += _REC.size + n
        os.ftruncate(fd, 0)
        self.rpos = self.wpos = 0
        return True

    def feed(self, spans: Sequence[Span], final: bool) -> None:
        stack, nodes = self.stack, self.nodes
        for s in spans:
            while stack:
                top = stack[-1].span
                if not final and not top.complete and not top.closed:
                    break
                # a span still open is not inside a composite that has closed: it started
                # after it, and has bytes of its own (`trace_segment` hands over no open
                # span without a leaf holding bytes after it)
                if (top.offset <= s.offset and s.offset + s.size <= top.offset + top.size
                        and (final or s.complete or s.closed)):
                    break
                self._close(stack.pop())
            index = self.count
            self.count += 1
            parent, parent_kind = ((stack[-1].index, stack[-1].span.kind) if stack
                                   else (-1, ""))
            if s.is_leaf:
                k = self.leaf_count
                self.leaf_count += 1
                node = Node(s.path, self.base + s.offset, s.size, s.kind, s.value,
                            _label(s, parent_kind), parent, len(stack), (k, k + 1), True,
                            s.complete)
                if nodes:
                    self._put(index, node)
                self.out.leaf(k, index, node)
            else:
                if nodes:
                    self._put(index, None)
                stack.append(_Open(s, index, parent, parent_kind, len(stack), self.leaf_count))
        if final:
            while stack:
                self._close(stack.pop())
        if self.head is None:
            opened = [o.index for o in stack if not o.span.complete and not o.span.closed]
            cut = opened[-1] + 1 if opened and not final and nodes else 0
            self.head, rest = self.pending[:cut], self.pending[cut:]
            self.pending = [None if n is None else self.out.render(n) for n in rest]
            self.first = cut
        if self.rpos == self.wpos or self._unspill():
            done = 0
            for item in self.pending:
                if item is None:
                    break
                self.out.put(item)
                done += 1
            del self.pending[:done]
            self.first += done
        if self.spill is not None and len(self.pending) >= SPILL_AT:
            self._spill_pending()
        if not final and spans:
            self.out.advance(self.base + max(s.offset + s.size for s in spans))

    def head_nodes(self) -> list[Node]:
        """The head, once the last batch is in."""
        assert not self.pending and self.rpos == self.wpos and self.head is not None
        out = [n for n in self.head if n is not None]
        assert len(out) == len(self.head)
        return out


class _Collect(_Out):
    takes_nodes = True

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.leaves: list[int] = []

    def leaf(self, k: int, index: int, node: Node) -> None:
        self.leaves.append(index)

    def render(self, node: Node) -> Any:
        return node

    def put(self, rendered: Any) -> None:
        self.nodes.append(rendered)


def _trace(data: Any, kind: str | None,
           sink: Callable[[list[Span]], None] | None) -> tuple[str, str, Trace, str]:
    """(file_kind, record_kind, trace, where); the spans go to `sink` if given (all but those
    the trace keeps in `Trace.fields`: a `.mv2`'s footer, a record's trailing bytes)."""
    file_kind = kind or _kind_of(data)
    if file_kind == "mv2":
        if sink is None:
            trace = trace_mv2(data)
            return file_kind, "mv2", trace, _mv2_where(trace)
        named: list[Span] = []  # what `_mv2_where` reads among the spans handed over
        frames = [0]  # the frame payloads among them, counted (one per frame: not kept)

        def take(spans: list[Span]) -> None:
            for s in spans:
                if _where_reads(s):
                    if _is_frame(s):
                        frames[0] += 1
                    else:
                        named.append(s)
            sink(spans)

        trace = trace_mv2(data, take)
        return file_kind, "mv2", trace, _mv2_where(trace, named, frames[0])
    if file_kind == "segment":
        trace = trace_segment(data, sink)
        return file_kind, file_kind, trace, f"replay segment (MV2RPLY!), {len(data)} bytes"
    if file_kind == "active_session":
        trace = trace_active_session(data, sink)
        return (file_kind, file_kind, trace,
                f"active-session envelope (MV2ACTIV), {len(data)} bytes")
    raise ValueError(f"unknown kind {kind!r}")


def build_hexmap(data: Any, kind: str | None = None) -> HexMap:
    """Trace `data` (segment, MV2ACTIV sidecar or .mv2) into a HexMap.

    `kind` forces 'segment' or 'active_session' (default: from the magic; anything that is
    neither a sidecar nor a .mv2 is traced as a segment, so a bad magic is reported as such).
    A .mv2 is mapped whole, damaged or not (what does not decode is raw bytes with the error).
    """
    data = framing.readable(data)  # an mmap stays mapped: a huge sparse file is not copied
    file_kind, record_kind, trace, where = _trace(data, kind, None)
    got = _Collect()
    _Builder(0, got).feed(trace.fields, True)
    return HexMap(file_kind, record_kind, data, 0, len(data), trace, tuple(got.nodes),
                  tuple(got.leaves), where)


def _is_frame(s: Span) -> bool:
    return s.kind == "range" and s.path.startswith("frame#")


def _where_reads(s: Span) -> bool:
    return s.path in ("toc", "replay_segment") or _is_frame(s)


def _mv2_where(trace: Trace, handed: Sequence[Span] = (), handed_frames: int = 0) -> str:
    """One line on a `.mv2`'s map, from its trace's fields (`handed`: those it handed to a
    sink that `_where_reads`, before them, but the frame payloads: `handed_frames` of
    them)."""
    fields = [*handed, *(s for s in trace.fields if _where_reads(s))]
    out = f".mv2 container, {trace.size} bytes"
    toc = next((s for s in fields if s.path == "toc"), None)
    if toc is not None:
        layout = trace.value["toc_layout"] if trace.value else None
        out += f"; TOC at {toc.offset} (0x{toc.offset:x}), {toc.size} bytes"
        out += f" ({layout} layout)" if layout else " (does not decode)"
    segs = [s for s in fields if s.path == "replay_segment"]  # the root, an undecoded rest
    if segs:
        seg = segs[0]
        size = max(s.offset + s.size for s in segs) - seg.offset
        out += (f"; live replay segment at offset {seg.offset} (0x{seg.offset:x}), "
                f"{size} bytes")
        if size != seg.size:
            out += f" ({seg.size} decoded)"
    elif trace.ok:
        out += "; no live replay segment (the TOC manifest is None)"
    frames = handed_frames + sum(1 for s in fields if _is_frame(s))
    if frames:
        out += f"; {frames} frame payload(s)"
    return out


#: Hex rows of a range field shown before its middle rows are summarised.
RANGE_ROWS = 2


def _skip_of(n: Node) -> tuple[int, int] | None:
    """The rows of a long run named as one field that are not dumped, (lo, hi), or None: rows
    lo..hi lie wholly inside the field; the first RANGE_ROWS rows and the row holding its end
    are shown. For a range field, or an unparsed run before the decoded end."""
    if n.kind != "range" and n.kind != "unparsed":
        return None
    lo = n.offset - n.offset % 16 + 16 * RANGE_ROWS
    hi = n.end - n.end % 16
    return (lo, hi) if hi - lo >= 32 else None


def _skips(hm: HexMap) -> list[tuple[int, int, str, int]]:
    """Rows not dumped: (lo, hi, path, k) for each range field (and each unparsed run before
    the decoded end) with more than a few whole rows inside it; k is its index in hm.leaves."""
    decoded_end = hm.base + hm.trace.end
    out = []
    for k, i in enumerate(hm.leaves):
        n = hm.nodes[i]
        skip = _skip_of(n)
        if skip is not None and (n.kind == "range" or n.end <= decoded_end):
            out.append((*skip, n.path, k))
    return out


def _short_text(text: str, limit: int = 80) -> str:
    shown = json.dumps(text, ensure_ascii=False)
    return shown if len(shown) <= limit else shown[:limit - 4] + '..."'


def _label(s: Span, parent_kind: str) -> str:
    v, k = s.value, s.kind
    if k == "len":
        return f"{'count' if parent_kind in ('vec', 'map') else 'length'} {v}"
    if k == "tag":
        return {0: "None", 1: "Some"}.get(v, str(v))
    if k == "variant":
        return str(v)
    if k == "magic":
        return bytes(v).decode("latin-1")
    if k == "text" or k == "string":
        return _short_text(v) if v is not None else "(incomplete)"
    if k == "bytes":
        if parent_kind == "uuid":
            return str(uuid.UUID(bytes=bytes(v)))
        return bytes(v).hex()
    if k == "unparsed":
        return f"{s.size} bytes not decoded"
    if k == "trailing":
        return f"{s.size} bytes after the record"
    if k == "range":
        v = v or {}
        what = (f"frame id {v['frame_id']} ({v['toc']})" if "frame_id" in v
                else f"named by {v['toc']}" if "toc" in v else "")
        if v.get("overlaps"):
            what += "; starts inside the range before it"
        return f"{s.size} bytes" + (f", {what}" if what else "")
    if k == "uuid":
        return str(v) if v is not None else "(incomplete)"
    if k == "option":
        return "None" if s.complete and v is None and s.size == 1 else ("Some" if s.complete
                                                                       else "(incomplete)")
    if k == "vec":
        return f"{len(v)} items" if v is not None else "(incomplete)"
    if k == "map":
        return f"{len(v)} entries" if v is not None else "(incomplete)"
    if k == "enum":
        return next(iter(v)) if v else "(incomplete)"
    if k in ("struct", "segment", "envelope", "sessions", "mv2"):
        return "" if s.complete else "(incomplete)"
    if k == "bool":
        return "true" if v else "false"
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return None  # composites: see their fields


def _error_json(err: ReplayFormatError | None, base: int) -> dict[str, Any] | None:
    if err is None:
        return None
    return {"kind": err.kind, "offset": base + err.offset, "path": err.path,
            "reason": err.reason, "message": _error_text(err, base)}


def _error_text(err: ReplayFormatError, base: int) -> str:
    if not base:
        return str(err)
    return f"{err} (file offset {base + err.offset}, 0x{base + err.offset:x})"


def error_text(hm: HexMap) -> str | None:
    """Where and why the trace stopped, in words (None when everything decoded)."""
    return None if hm.error is None else _error_text(hm.error, hm.base)


def _json_head(hm: HexMap) -> dict[str, Any]:
    return {"file_kind": hm.file_kind, "record_kind": hm.record_kind, "where": hm.where,
            "start": hm.base, "end": hm.stop, "decoded_end": hm.base + hm.trace.end,
            "error": _error_json(hm.error, hm.base),
            "problems": [_error_json(p, hm.base) for p in hm.trace.problems]}


def hexmap_json(hm: HexMap) -> dict[str, Any]:
    """Every field with absolute offset, size, path, kind, value and label, plus the error."""
    return {**_json_head(hm), "fields": [n.to_json() for n in hm.nodes]}


def _replay(hm: HexMap, out: _Out) -> None:
    """A built map's fields given to a renderer as `stream_hexmap` gives them."""
    for k, i in enumerate(hm.leaves):
        out.leaf(k, i, hm.nodes[i])
    for n in hm.nodes:
        out.put(out.render(n))


def _read_back(spool: IO[Any]) -> Iterator[Any]:
    spool.seek(0)
    while piece := spool.read(_PIECE):
        yield piece


# --- text ------------------------------------------------------------------------------------

def _hex_line(addr: int, chunk: bytes, start_col: int = 0) -> str:
    cells = ["  "] * start_col + [f"{b:02x}" for b in chunk]
    cells += ["  "] * (16 - len(cells))
    groups = " ".join(cells[i] + cells[i + 1] for i in range(0, 16, 2))
    text = " " * start_col + "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
    return f"{addr:08x}: {groups}  {text}"


class _Text(_Out):
    """xxd rows written to `spool` as the fields starting on them are known; the lines before
    them (what was mapped, the problems) once the trace is done."""

    def __init__(self, data: Any, base: int, stop: int, raw_limit: int,
                 spool: IO[str]) -> None:
        self.data, self.base, self.stop, self.raw_limit = data, base, stop, raw_limit
        self.spool = spool
        self.row = base - base % 16
        self.starts: dict[int, list[Node]] = {}
        self.skips: dict[int, tuple[int, str]] = {}
        # undecoded runs not yet known to lie before the decoded end (`Trace.end`): summarised
        # if they do, once `advance` or `finish` shows it
        self.unparsed: list[Node] = []
        self.raw_shown = 0
        self.skipped_from: int | None = None

    def leaf(self, k: int, index: int, node: Node) -> None:
        self.starts.setdefault(node.offset - node.offset % 16, []).append(node)
        skip = _skip_of(node)
        if skip is not None:
            if node.kind == "range":
                self.skips[skip[0]] = (skip[1], node.path)
            else:
                self.unparsed.append(node)

    def _summarise(self, decoded_end: int) -> None:
        """The undecoded runs ending by `decoded_end` are summarised (as `finish` does)."""
        keep = []
        for n in self.unparsed:
            skip = _skip_of(n)
            if skip is not None and n.end <= decoded_end:
                self.skips[skip[0]] = (skip[1], n.path)
            else:
                keep.append(n)
        self.unparsed = keep

    def advance(self, upto: int) -> None:
        # decoding got at least to `upto`, past every field given so far: an undecoded run
        # among them (a .mv2's data region when its TOC does not decode) is summarised now,
        # as `finish` would, before its rows are written
        self._summarise(upto)
        self._rows(upto, upto)

    def _rows(self, limit: int | None, decoded_end: int) -> None:
        """Rows up to the one holding `limit` (None: all); bytes from `decoded_end` are raw."""
        data, write = self.data, self.spool.write
        row = self.row
        while row < self.stop and self.skipped_from is None and (limit is None
                                                                  or row + 16 <= limit):
            if row in self.skips:
                hi, path = self.skips.pop(row)
                write(f"          ... {hi - row} bytes of {path} not shown ({row}..{hi})\n")
                row = hi
                continue
            lo, hi = max(row, self.base), min(row + 16, self.stop)
            in_raw = decoded_end <= lo
            if in_raw and self.raw_shown >= self.raw_limit:
                self.skipped_from = lo
                break
            write(_hex_line(row, bytes(data[lo:hi]), lo - row) + "\n")
            if in_raw:
                self.raw_shown += hi - lo
            notes = self.starts.pop(row, [])
            for j, n in enumerate(notes):
                branch = "└" if j == len(notes) - 1 else "├"
                name = n.path or ("<rest>" if n.kind in ("unparsed", "trailing") else "<root>")
                if n.kind not in ("text", "bytes", "u8", "u16", "u32", "u64", "i64", "bool",
                                  "magic"):
                    name += f" ({n.kind})"
                write(f"          {branch} {n.offset:#07x} {n.size:>5}  {name}  {n.label}\n")
            row += 16
        self.row = row

    def finish(self, hm: HexMap) -> Iterator[str]:
        decoded_end = hm.base + hm.trace.end
        self._summarise(decoded_end)
        self._rows(None, decoded_end)
        out = [f"# {hm.where}"]
        for i, p in enumerate(hm.trace.problems):
            what = "decoding stopped" if i == 0 and hm.stopped else "problem"
            out.append(f"# {what}: {_error_text(p, hm.base)}")
        if hm.stopped:
            out.append(f"# decoded bytes {hm.base}..{hm.base + hm.trace.end}; the rest is raw")
        yield "\n".join(out) + "\n"
        yield from _read_back(self.spool)
        if self.skipped_from is not None:
            yield (f"# ... {hm.stop - self.skipped_from} more raw bytes not shown "
                   f"({self.skipped_from}..{hm.stop}; --raw-limit)\n")


def render_text(hm: HexMap, raw_limit: int = RAW_LIMIT) -> str:
    """xxd layout over the mapped bytes; under each line, the fields that start on it:
    offset, size, path (kind) and decoded value."""
    out = _Text(hm.data, hm.base, hm.stop, raw_limit, io.StringIO())
    _replay(hm, out)
    return "".join(out.finish(hm))


# --- JSON ------------------------------------------------------------------------------------

class _Json(_Out):
    """`hexmap_json` as the CLI prints it (`memvid_json.dumps`: two-space indents), each field
    written to `spool` as it comes."""

    def __init__(self, spool: IO[bytes]) -> None:
        self.spool = spool

    @staticmethod
    def _field(n: Node) -> bytes:
        import orjson

        return b",\n    " + orjson.dumps(n.to_json(), option=orjson.OPT_INDENT_2).replace(
            b"\n", b"\n    ")

    takes_nodes = True

    def render(self, node: Node) -> Any:
        return self._field(node)

    def put(self, rendered: Any) -> None:
        self.spool.write(rendered)

    def finish(self, hm: HexMap, head: Sequence[Node]) -> Iterator[bytes]:
        from .memvid_json import dumps

        top = dumps(_json_head(hm))
        assert top.endswith(b"\n}\n")
        fields = b"".join(self._field(n) for n in head)
        if not fields and not self.spool.tell():
            yield top[:-3] + b',\n  "fields": []\n}\n'
            return
        yield top[:-3] + b',\n  "fields": ['
        yield fields[1:]
        pieces = _read_back(self.spool)
        if not head:
            yield next(pieces)[1:]
        yield from pieces
        yield b"\n  ]\n}\n"


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
body{margin:0;font:13px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#222}
header{padding:6px 10px;background:#f3f3f3;border-bottom:1px solid #ccc}
header h1{font-size:14px;margin:0 0 2px 0}
.error{color:#a00;font-weight:bold}
#main{display:flex;height:calc(100vh - 74px)}
#tree{flex:0 0 46%;overflow:auto;border-right:1px solid #ccc;padding:4px 6px}
#hex{flex:1;overflow:auto;padding:4px 8px;white-space:pre}
#status{padding:3px 10px;border-top:1px solid #ccc;background:#fafafa;height:18px;
  white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
ul{list-style:none;margin:0;padding-left:14px}
#tree>ul{padding-left:0}
.n{cursor:pointer;border-radius:2px;padding:0 2px}
.n:hover,.n.sel{background:#ffe08a}
.k{color:#888}.v{color:#05a}.o{color:#999}
.tg{display:inline-block;width:12px;cursor:pointer;color:#777}
li.closed>ul{display:none}
li.fold>.tg::before{content:"\\25be"}li.fold.closed>.tg::before{content:"\\25b8"}
.r{cursor:pointer}.a{color:#999}
.r.raw{color:#a00}
.r.hl{background:#ffe08a}.r.hl2{background:#ffd0d0}
.r:hover{outline:1px solid #999}
"""

_JS = r"""
(function(){
  "use strict";
  var D = JSON.parse(document.getElementById("hexmap-data").textContent);
  var bytes = (function(h){var a=new Uint8Array(h.length/2);
    for(var i=0;i<a.length;i++)a[i]=parseInt(h.substr(2*i,2),16);return a;})(D.hex);
  var N = D.nodes, L = D.leaves, base = D.start;
  var runsByLeaf = [], nodeEls = [], selected = -1, hovered = -1;
  function esc(s){return String(s).replace(/[&<>"]/g,function(c){
    return {"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c];});}
  function leafAt(off){ // binary search over leaves by offset
    var lo=0, hi=L.length-1;
    while(lo<=hi){var m=(lo+hi)>>1, n=N[L[m]];
      if(off<n.offset)hi=m-1; else if(off>=n.offset+n.size)lo=m+1; else return m;}
    return -1;}
  // --- hex pane: one element per run of bytes of one leaf within a row ---
  var hex = document.getElementById("hex"), parts = [];
  var first = base - base % 16, raw = D.decoded_end;
  for(var row=first; row<D.end; row+=16){
    var hx=[], asc=[], o=row, pad=Math.max(0, base-row);
    hx.push(("0000000"+row.toString(16)).slice(-8)+": ");
    for(var i=0;i<pad;i++){hx.push("   ");asc.push(" ");}
    o = row+pad;
    while(o<row+16 && o<D.end){
      var li = leafAt(o), stop = Math.min(row+16, D.end);
      if(li>=0) stop = Math.min(stop, N[L[li]].offset+N[L[li]].size);
      else { var nx=o+1; while(nx<stop && leafAt(nx)<0) nx++; stop=nx; }
      var h=[], t="";
      for(var p=o;p<stop;p++){var b=bytes[p-base];h.push((b<16?"0":"")+b.toString(16));
        t+= (b>=32&&b<127)?String.fromCharCode(b):".";}
      var cls = "r"+(o>=raw?" raw":"");
      hx.push('<span class="'+cls+'" data-f="'+li+'" data-o="'+o+'" data-n="'+(stop-o)+'">'+
              h.join(" ")+'</span>');
      hx.push(" ");
      asc.push('<span class="'+cls+' a" data-f="'+li+'" data-o="'+o+'" data-n="'+(stop-o)+
               '">'+esc(t)+'</span>');
      o = stop;
    }
    var used = o-row; for(var q=used;q<16;q++)hx.push("   ");
    parts.push(hx.join("")+" "+asc.join(""));
  }
  hex.innerHTML = parts.join("\n");
  var runs = hex.querySelectorAll("span.r");
  for(var r=0;r<runs.length;r++){var f=+runs[r].getAttribute("data-f");
    if(f>=0)(runsByLeaf[f]=runsByLeaf[f]||[]).push(runs[r]);}
  // --- tree pane ---
  var kids = N.map(function(){return [];}), roots=[];
  N.forEach(function(n,i){(n.parent<0?roots:kids[n.parent]).push(i);});
  function build(list){
    var ul=document.createElement("ul");
    list.forEach(function(i){
      var n=N[i], li=document.createElement("li"), name=n.path.split(".").pop()||"<root>";
      if(n.parent>=0 && N[n.parent].path===n.path) name="\u00b7";
      var tg = '<span class="tg"></span>';
      li.innerHTML = tg+'<span class="n" data-i="'+i+'">'+esc(name)+' <span class="k">'+
        esc(n.kind)+'</span> <span class="v">'+esc(n.label)+'</span> <span class="o">@'+
        n.offset+' +'+n.size+'</span></span>';
      nodeEls[i]=li.querySelector(".n");
      if(kids[i].length){ li.appendChild(build(kids[i])); li.classList.add("fold");
        if(n.depth>=4) li.classList.add("closed"); }
      ul.appendChild(li);
    });
    return ul;}
  document.getElementById("tree").appendChild(build(roots));
  // --- highlight ---
  function mark(i, cls, on){
    if(i<0)return; var n=N[i];
    for(var k=n.leaves[0];k<n.leaves[1];k++)(runsByLeaf[k]||[]).forEach(function(e){
      e.classList.toggle(cls,on);});}
  function report(){
    var s = selected>=0?N[selected]:null, h = hovered>=0?N[hovered]:null, cur = h||s;
    document.body.setAttribute("data-selected", s? s.path : "");
    document.body.setAttribute("data-selected-range", s? s.offset+"-"+(s.offset+s.size) : "");
    document.body.setAttribute("data-hovered", h? h.path : "");
    var hl=[]; hex.querySelectorAll("span.hl:not(.a)").forEach(function(e){
      hl.push(e.getAttribute("data-o")+"+"+e.getAttribute("data-n"));});
    document.body.setAttribute("data-highlight", hl.join(","));
    document.getElementById("status").textContent = cur ?
      (cur.path||"<root>")+"  ("+cur.kind+")  offset "+cur.offset+" (0x"+cur.offset.toString(16)+
      "), "+cur.size+" bytes  "+cur.label : "hover or click a field or a byte";
  }
  function openTo(i){ for(var p=i;p>=0;p=N[p].parent){
    var li=nodeEls[p].parentNode; li.classList.remove("closed");} }
  function select(i, scroll){
    if(selected>=0){ mark(selected,"hl",false); nodeEls[selected].classList.remove("sel"); }
    selected=i;
    if(i>=0){ mark(i,"hl",true); nodeEls[i].classList.add("sel"); openTo(i);
      if(scroll){ nodeEls[i].scrollIntoView({block:"nearest"});
        var e=(runsByLeaf[N[i].leaves[0]]||[])[0]; if(e)e.scrollIntoView({block:"nearest"}); } }
    report();}
  function hover(i){ if(hovered>=0)mark(hovered,"hl2",false); hovered=i;
    if(i>=0)mark(i,"hl2",true); report(); }
  document.getElementById("tree").addEventListener("click",function(ev){
    var t=ev.target.closest(".tg");
    if(t){t.parentNode.classList.toggle("closed");return;}
    var n=ev.target.closest(".n"); if(n)select(+n.getAttribute("data-i"),true);});
  document.getElementById("tree").addEventListener("mouseover",function(ev){
    var n=ev.target.closest(".n"); hover(n?+n.getAttribute("data-i"):-1);});
  document.getElementById("tree").addEventListener("mouseleave",function(){hover(-1);});
  hex.addEventListener("click",function(ev){var e=ev.target.closest(".r");
    if(e&&+e.getAttribute("data-f")>=0)select(L[+e.getAttribute("data-f")],true);});
  hex.addEventListener("mouseover",function(ev){var e=ev.target.closest(".r");
    hover(e&&+e.getAttribute("data-f")>=0?L[+e.getAttribute("data-f")]:-1);});
  hex.addEventListener("mouseleave",function(){hover(-1);});
  function byPath(path){ for(var i=0;i<N.length;i++) if(N[i].path===path) return i; return -1; }
  function fromHash(){ var h=decodeURIComponent(location.hash.slice(1));
    if(h && h!=="selftest"){ select(byPath(h),true); } }
  window.addEventListener("hashchange",fromHash);
  // Test hook: #selftest clicks and hovers through the real handlers and reports into the DOM.
  function selftest(){
    var res={clicks:[],hovers:[],bytes:[]}, ev=function(type){return new MouseEvent(type,
      {bubbles:true,cancelable:true,view:window});};
    for(var i=0;i<N.length;i++){
      nodeEls[i].dispatchEvent(ev("click"));
      res.clicks.push({i:i,path:N[i].path,selected:document.body.getAttribute("data-selected"),
        highlight:document.body.getAttribute("data-highlight")});
      nodeEls[i].dispatchEvent(ev("mouseover"));
      var h=[]; hex.querySelectorAll("span.hl2:not(.a)").forEach(function(e){
        h.push(e.getAttribute("data-o")+"+"+e.getAttribute("data-n"));});
      res.hovers.push({i:i,hovered:document.body.getAttribute("data-hovered"),
        highlight:h.join(",")});
    }
    runs.forEach(function(e){ if(e.classList.contains("a"))return;
      e.dispatchEvent(ev("mouseover"));
      res.bytes.push({o:+e.getAttribute("data-o"),n:+e.getAttribute("data-n"),
        hovered:document.body.getAttribute("data-hovered")});
      e.dispatchEvent(ev("click"));
    });
    hex.dispatchEvent(new MouseEvent("mouseleave",{bubbles:false}));
    var pre=document.createElement("pre"); pre.id="selftest-result"; pre.hidden=true;
    pre.textContent=JSON.stringify(res); document.body.appendChild(pre);
  }
  report();
  if(location.hash==="#selftest") selftest(); else fromHash();
  document.body.setAttribute("data-ready","1");
})();
"""


def _blob(value: Any) -> str:
    # every "<" escaped: no "</script" ends the block early and no "<!--" switches the
    # HTML tokenizer into its escaped script states (which would swallow the rest of the page)
    return json.dumps(value, ensure_ascii=True).replace("<", "\\u003c")


class _Html(_Out):
    """The page: its data block (leaf indexes and fields) written to two spools as they come,
    the hex of the shown bytes read from the input at the end."""

    def __init__(self, title: str, raw_limit: int, leaves: IO[bytes],
                 nodes: IO[bytes]) -> None:
        self.title, self.raw_limit = title, raw_limit
        self.leaves, self.nodes = leaves, nodes
        self.skips: list[tuple[int, int, str, int, Node]] = []

    def leaf(self, k: int, index: int, node: Node) -> None:
        self.leaves.write(b", %d" % index)
        skip = _skip_of(node)
        if skip is not None:
            self.skips.append((*skip, node.path, k, node))

    takes_nodes = True

    def render(self, node: Node) -> Any:
        return b", " + self._node(node)

    def put(self, rendered: Any) -> None:
        self.nodes.write(rendered)

    @staticmethod
    def _node(n: Node) -> bytes:
        return _blob({"path": n.path, "offset": n.offset, "size": n.size, "kind": n.kind,
                      "label": n.label, "parent": n.parent, "depth": n.depth,
                      "leaves": list(n.leaves)}).encode()

    @staticmethod
    def _list(head: bytes, spool: IO[bytes]) -> Iterator[bytes]:
        """`[` the items `]`: each item is written with ", " before it."""
        yield b"["
        pieces = _read_back(spool)
        if head:
            yield head[2:]
        else:
            yield next(pieces, b", ")[2:]
        yield from pieces
        yield b"]"

    @staticmethod
    def _hex(data: Any, lo: int, hi: int) -> Iterator[bytes]:
        yield b'"'
        for p in range(lo, hi, _PIECE):
            yield bytes(data[p:min(hi, p + _PIECE)]).hex().encode()
        yield b'"'

    def finish(self, hm: HexMap, head: Sequence[Node]) -> Iterator[bytes]:
        decoded_end = hm.base + hm.trace.end
        shown_end = min(hm.stop, decoded_end + max(0, self.raw_limit))
        skips = [(lo, hi, path, k) for lo, hi, path, k, n in self.skips
                 if (n.kind == "range" or n.end <= decoded_end) and hi <= shown_end]
        err = "".join(
            f'<div class="error">{"decoding stopped" if i == 0 and hm.stopped else "problem"}: '
            f"{html.escape(_error_text(p, hm.base))}</div>"
            for i, p in enumerate(hm.trace.problems))
        if hm.stopped:
            err += (f'<div class="error">bytes from {decoded_end} on were not decoded '
                    "and are shown raw (red)</div>")
        if shown_end < hm.stop:
            err += (f'<div class="error">{hm.stop - shown_end} raw bytes '
                    f"({shown_end}..{hm.stop}) are not in this page (--raw-limit)</div>")
        yield (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head>\n<body>"
            f"<header><h1>{html.escape(self.title)}</h1><div id=\"where\">"
            f"{html.escape(hm.where)}</div>"
            f"{err}</header>\n<div id=\"main\"><div id=\"tree\"></div><div id=\"hex\"></div>"
            "</div><div id=\"status\"></div>\n"
            "<script type=\"application/json\" id=\"hexmap-data\">").encode()
        yield (f'{{"start": {hm.base}, "end": {shown_end}, "decoded_end": {decoded_end}, '
               '"hex": ').encode()
        if skips:  # the summarised rows' bytes stay out of the page
            pos, sep = hm.base, b"["
            for lo, hi, _, _ in skips:
                yield sep + b"[%d, " % pos
                yield from self._hex(hm.data, pos, lo)
                yield b"]"
                pos, sep = hi, b", "
            yield sep + b"[%d, " % pos
            yield from self._hex(hm.data, pos, shown_end)
            yield b"]]"
        else:
            yield from self._hex(hm.data, hm.base, shown_end)
        yield b', "leaves": '
        yield from self._list(b"", self.leaves)
        yield b', "nodes": '
        yield from self._list(b"".join(b", " + self._node(n) for n in head), self.nodes)
        yield b', "error": ' + _blob(_error_json(hm.error, hm.base)).encode()
        if skips:
            yield b', "skips": ' + _blob([list(s) for s in skips]).encode()
        yield (f"}}</script>\n<script>{_JS_SKIPS if skips else _JS}</script>\n"
               "</body></html>\n").encode()


def render_html(hm: HexMap, title: str = "replayfmt hexmap", raw_limit: int = RAW_LIMIT) -> str:
    """One self-contained HTML page: field tree beside the hex, linked both ways.

    Of the bytes after the decoded part, only the first `raw_limit` are put in the page."""
    out = _Html(title, raw_limit, io.BytesIO(), io.BytesIO())
    _replay(hm, out)
    return b"".join(out.finish(hm, ())).decode("utf-8")


# --- streaming -------------------------------------------------------------------------------

@attrs.define
class HexMapStream:
    """What `stream_hexmap` made: `hexmap` (the trace's outcome: error, problems, decoded end;
    no fields) and, for each output asked for, its pieces in order: `text()` (str), `json()`
    (bytes: `memvid_json.dumps(hexmap_json(...))`), `html()` (bytes, UTF-8)."""

    hexmap: HexMap
    builder: _Builder
    text_out: _Text | None
    json_out: _Json | None
    html_out: _Html | None
    spools: list[IO[Any]]

    def text(self) -> Iterator[str]:
        assert self.text_out is not None
        return self.text_out.finish(self.hexmap)

    def json(self) -> Iterator[bytes]:
        assert self.json_out is not None
        return self.json_out.finish(self.hexmap, self.builder.head_nodes())

    def html(self) -> Iterator[bytes]:
        assert self.html_out is not None
        return self.html_out.finish(self.hexmap, self.builder.head_nodes())

    def close(self) -> None:
        """Remove the temporary files."""
        for spool in self.spools:
            spool.close()


def stream_hexmap(data: Any, kind: str | None = None, *, text: bool = False,
                  json: bool = False, html: str | None = None,
                  raw_limit: int = RAW_LIMIT) -> HexMapStream:
    """Trace `data` as `build_hexmap` does and render the outputs asked for (`text`, `json`,
    `html`: the page's title) into temporary files as the fields come, without holding them:
    memory is bounded by a few thousand fields and the nesting depth, whatever the size of a
    session or the number of a `.mv2`'s frames (see `_Builder`). Read the outputs from the
    result
    (`text()`, `json()`, `html()`: the same as `render_text`, `hexmap_json` and `render_html`
    give) and `close()` it."""
    data = framing.readable(data)
    spools: list[IO[Any]] = []

    def spool(binary: bool = True) -> IO[Any]:
        f: IO[Any] = (tempfile.TemporaryFile("w+b") if binary else
                      tempfile.TemporaryFile("w+", encoding="utf-8", newline=""))
        spools.append(f)
        return f

    try:
        text_out = _Text(data, 0, len(data), raw_limit, spool(False)) if text else None
        json_out = _Json(spool()) if json else None
        html_out = _Html(html, raw_limit, spool(), spool()) if html is not None else None
        outs: list[_Out] = [o for o in (text_out, json_out, html_out) if o is not None]
        builder = _Builder(0, _Tee(outs), spool())
        file_kind, record_kind, trace, where = _trace(
            data, kind, lambda spans: builder.feed(spans, False))
        builder.feed(trace.fields, True)
    except BaseException:
        for f in spools:
            f.close()
        raise
    hm = HexMap(file_kind, record_kind, data, 0, len(data), trace, (), (), where)
    return HexMapStream(hm, builder, text_out, json_out, html_out, spools)


def _js_with_skips() -> str:
    """The page script for maps with summarised rows: bytes come in chunks, and each run of
    summarised rows is one element of its field (it highlights, hovers and selects as the
    field's bytes do)."""
    js = _JS
    edits = [
        ("    for(var i=0;i<a.length;i++)a[i]=parseInt(h.substr(2*i,2),16);return a;})(D.hex);",
         "    for(var i=0;i<a.length;i++)a[i]=parseInt(h.substr(2*i,2),16);return a;})(\"\");\n"
         "  bytes = new Uint8Array(D.end-D.start);\n"
         "  D.hex.forEach(function(c){for(var i=0;i<c[1].length/2;i++)\n"
         "    bytes[c[0]-D.start+i]=parseInt(c[1].substr(2*i,2),16);});\n"
         "  var skips = {}; (D.skips||[]).forEach(function(s){skips[s[0]]=s;});"),
        ("  for(var row=first; row<D.end; row+=16){\n",
         "  for(var row=first; row<D.end; row+=16){\n"
         "    var sk=skips[row];\n"
         "    if(sk){parts.push(\"          \"+'<span class=\"r\" data-f=\"'+sk[3]+'\" data-o=\"'+"
         "row+\n"
         "      '\" data-n=\"'+(sk[1]-row)+'\">... '+(sk[1]-row)+' bytes of '+esc(sk[2])+\n"
         "      ' not shown ('+row+'..'+sk[1]+')</span>'); row=sk[1]-16; continue;}\n"),
    ]
    for old, new in edits:
        assert js.count(old) == 1, old
        js = js.replace(old, new)
    return js


_JS_SKIPS = _js_with_skips()
