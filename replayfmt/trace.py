"""Tracing parse: every decoded field with its path, absolute offset, size and value.

The one interpreted reader of the bytes, for tools that must explain them: the hex map,
validation's locating, salvage's field reads (`decode_field`) and the fuzz field map stand on
its spans. It walks the Construct tree in `schema` instead of running the generated codec (the
containers around the records are walked by `framing`, lenient), and records a `Span` per field:
composite spans (struct, vec, option, string...) first, then the leaf spans inside them, so the
leaves partition every decoded byte. It stops at the first undecodable byte and keeps everything
before it; `Trace.error` is then the ReplayFormatError the strict codec raises for the same
bytes (same kind, offset, path, expected, actual) and `Trace.end` is where decoding stopped.

Container rules that do not stop decoding (segment version, total_size, session_count, bytes
after a record) are checked by `framing` in the codec's order: `Trace.error` is the codec's
error, and `Trace.problems` lists every such problem met before decoding stopped. Nothing here
is fast or meant for multi-gigabyte inputs; it is meant to be exact.
"""

from __future__ import annotations

import bisect
import struct
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
from construct import Bytes, Const, Construct, FormatField, Renamed, Struct

from . import errors as E
from . import schema
from .errors import ErrorKind as K
from .errors import ReplayFormatError
from .framing import (
    Policy,
    envelope_block,
    exact,
    segment_blocks,
    segment_header,
)
from .schema import Bool, Enum, Map, Option, String, Uuid, Vec, min_size

if TYPE_CHECKING:
    from mmap import mmap

#: The bytes a tracer reads: sliceable, indexable and read by `struct.unpack_from`.
_Buf: TypeAlias = "bytes | bytearray | mmap"
#: What the entry points take (as `mv2.Data`; not imported from there: mv2 uses this module).
Data: TypeAlias = "bytes | bytearray | memoryview | mmap"

__all__ = ["Span", "Trace", "Elided", "trace_segment", "trace_active_session", "trace_record",
           "trace_mv2", "decode_field", "LEAF_KINDS", "HAND_OVER"]

#: Kinds of spans that hold bytes directly (they never overlap; composites contain them).
LEAF_KINDS = frozenset({
    "u8", "u16", "u32", "u64", "i64", "f32", "f64", "bytes", "magic", "len", "tag", "bool",
    "variant", "text",
    "trailing", "unparsed", "range",
})

_INT_KINDS = {"B": "u8", "H": "u16", "I": "u32", "L": "u32", "Q": "u64", "q": "i64",
              "f": "f32", "d": "f64"}
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")

#: Spans a tracer with a sink gathers before it hands them over (`trace_segment`).
HAND_OVER = 4096


class Elided:
    """The value of a struct, vector or map traced for a sink (`trace_segment`): its parts
    went to the sink as spans of their own, so only their number is kept (``len()``: fields,
    items or entries)."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"Elided({self.count})"


@attrs.define(slots=True)
class Span:
    """One decoded field: `path` (``sessions[0].actions[3].input_preview``), absolute `offset`,
    `size` in bytes, decoded `value`, and `kind` (a leaf kind from LEAF_KINDS, or a composite:
    struct, string, option, vec, map, uuid, enum, segment, envelope, sessions, mv2). A "range"
    leaf is a run of bytes named as a whole (a `.mv2`'s WAL, a frame payload, reserved or
    unreferenced bytes), never split per byte.

    A composite cut short by the error that stopped decoding has ``complete=False``, its size
    running to `Trace.end` (in a `.mv2`, a live segment's to where the segment's decoding
    stopped: then ``closed=True``, its size final before the rest of the file is traced) and
    its value None. Traced for a sink, a struct's, vector's or
    map's value is `Elided` (an enum's is ``{variant: None}``). A "len" leaf's `unit` is the
    fewest bytes each unit it counts takes (1 for string and block lengths; a vector's or
    map's minimum element size), so a declared value needs ``end + value * unit`` bytes to
    hold.
    """

    path: str
    offset: int
    size: int
    value: Any
    kind: str
    complete: bool = True
    unit: int = 0
    closed: bool = False

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def is_leaf(self) -> bool:
        return self.kind in LEAF_KINDS


@attrs.define
class Trace:
    """The result of a tracing parse.

    fields: every Span in byte order, composites before the fields inside them.
    error: the ReplayFormatError the strict codec raises for these bytes, or None.
    end: offset where decoding stopped (the error's offset when it could not go on; else the end
        of the last decoded field, which is before `size` when trailing bytes follow).
    size: length of the input.
    problems: every error met, in the codec's order (the first one is `error`).
    value: the decoded value (dicts, lists, str, UUID...), or None when decoding stopped early.
    """

    kind: str
    fields: list[Span]
    error: ReplayFormatError | None
    end: int
    size: int
    problems: list[ReplayFormatError] = attrs.Factory(list)
    value: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def leaves(self) -> list[Span]:
        return [s for s in self.fields if s.is_leaf]

    def find(self, path: str, kind: str | None = None) -> Span | None:
        """The outermost span with this path (and kind), or None."""
        for s in self.fields:
            if s.path == path and (kind is None or s.kind == kind):
                return s
        return None

    def at(self, offset: int) -> Span | None:
        """The leaf span holding the byte at `offset`, or None."""
        leaves = [s for s in self.fields if s.is_leaf and s.size]
        i = bisect.bisect_right([s.offset for s in leaves], offset) - 1
        if i >= 0 and leaves[i].offset <= offset < leaves[i].end:
            return leaves[i]
        return None


class _Stop(Exception):
    """Decoding cannot go on; carries the codec-equivalent error."""

    def __init__(self, error: ReplayFormatError, at: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.at = error.offset if at is None else at  # where decoding stopped


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _unwrap(node: Construct) -> Construct:
    while isinstance(node, Renamed):
        node = node.subcon
    return node


class _Tracer:
    """Walks schema nodes over b[p:e], appending spans; raises _Stop at undecodable bytes.

    With `keep` False (a sink takes the spans), the values of structs, vectors and maps are
    not built (`Elided`). Once `flow` has set a sink, the spans go to it every `HAND_OVER`
    of them, mid-record: a span is then final unless it is a composite still open (its size,
    value and `complete` are set in place when it closes, before any span after its end is
    handed over). The spans of a map entry are held until its key is known to be new: a
    duplicate key stops decoding at the key, before spans already recorded, and every span
    handed over must lie inside the composites still open when decoding stops."""

    def __init__(self, b: _Buf, keep: bool = True) -> None:
        self.b = b
        self.keep = keep
        self.spans: list[Span] = []
        self.handed: list[Span] = []  # composites handed to a sink while still open
        self.sink: Callable[[list[Span]], object] | None = None
        self.limit = 1 << 62  # hand over once this many spans are gathered (with a sink)
        self.hold: int | None = None  # spans from this index on are held (a map entry)

    def hand_over(self, sink: Callable[[list[Span]], object], whole: bool = True) -> None:
        """Give the spans so far (those before a held map entry) to `sink` and keep none of
        them (the open ones are finished later).

        Not `whole` (mid-record), the spans after the last leaf holding bytes are kept too:
        a composite still open when handed over then has bytes of its own, so it cannot be
        taken for an empty field inside the one before it (where it starts)."""
        spans = self.spans
        cut = len(spans) if self.hold is None else self.hold
        if not whole:
            while cut and not (spans[cut - 1].size and spans[cut - 1].kind in LEAF_KINDS):
                cut -= 1
        if cut:
            spans = self.spans[:cut]
            del self.spans[:cut]
            if self.hold is not None:
                self.hold = 0
            self.handed = [s for s in self.handed if not s.complete]
            self.handed.extend(s for s in spans if not s.complete)
            sink(spans)
        self.flow(self.sink)

    def flow(self, sink: Callable[[list[Span]], object] | None) -> None:
        """From now on, hand the spans to `sink` every `HAND_OVER` of them (None: stop)."""
        self.sink = sink
        self.limit = 1 << 62 if sink is None else len(self.spans) + HAND_OVER

    def _full(self) -> None:
        assert self.sink is not None
        self.hand_over(self.sink, whole=False)

    # -- helpers mirroring the generated codec's error conventions --

    @staticmethod
    def truncated(p: int, e: int, size: int, path: str) -> _Stop:
        return _Stop(E.truncated(p, path, size, e - p))

    @staticmethod
    def overflow(p: int, e: int, n: int, min_sz: int, what: str, path: str) -> _Stop:
        return _Stop(E.overflow(p - 8, path, n, e - p, what, min_sz))

    def leaf(self, path: str, p: int, size: int, value: Any, kind: str, unit: int = 0
             ) -> None:
        spans = self.spans
        spans.append(Span(path, p, size, value, kind, True, unit))
        if len(spans) >= self.limit:
            self._full()

    def open(self, path: str, p: int, kind: str) -> Span:
        span = Span(path, p, 0, None, kind, False)
        spans = self.spans
        spans.append(span)
        if len(spans) >= self.limit:
            self._full()
        return span

    @staticmethod
    def close(span: Span, p: int, value: Any) -> None:
        span.size = p - span.offset
        span.value = value
        span.complete = True

    def length(self, p: int, e: int, path: str) -> tuple[int, int]:
        """Read a u64 length/count; the caller records its span once the value is checked."""
        if e - p < 8:
            raise self.truncated(p, e, 8, path)
        (n,) = _U64.unpack_from(self.b, p)
        return n, p + 8

    # -- the walk --

    def walk(self, node: Construct, path: str, p: int, e: int) -> tuple[Any, int]:
        node = _unwrap(node)
        b = self.b
        if isinstance(node, FormatField):
            size = node.length  # what sizeof() gives, without building a context
            if e - p < size:
                raise self.truncated(p, e, size, path)
            (v,) = struct.unpack_from(node.fmtstr, b, p)
            self.leaf(path, p, size, v, _INT_KINDS.get(node.fmtstr[-1], "int"))
            return v, p + size
        if isinstance(node, Bytes) and isinstance(node.length, int):
            size = node.length
            if e - p < size:
                raise self.truncated(p, e, size, path)
            v = bytes(b[p:p + size])
            self.leaf(path, p, size, v, "bytes")
            return v, p + size
        if isinstance(node, Const):
            size = len(node.value)
            if e - p < size:
                raise self.truncated(p, e, size, path)
            v = bytes(b[p:p + size])
            if v != node.value:
                raise _Stop(E.bad_magic(p, path, node.value, v))
            self.leaf(path, p, size, v, "magic")
            return v, p + size
        if isinstance(node, Struct):
            span = self.open(path, p, "struct")
            if not self.keep:
                for sub in node.subcons:
                    _, p = self.walk(sub.subcon, _join(path, sub.name), p, e)
                elided = Elided(len(node.subcons))
                self.close(span, p, elided)
                return elided, p
            fields: dict[str, Any] = {}
            for sub in node.subcons:
                fields[sub.name], p = self.walk(sub.subcon, _join(path, sub.name), p, e)
            self.close(span, p, fields)
            return fields, p
        if isinstance(node, String):
            span = self.open(path, p, "string")
            n, p = self.length(p, e, path)
            if n > e - p:
                raise self.overflow(p, e, n, 1, "string length", path)
            self.leaf(path, p - 8, 8, n, "len", 1)
            try:
                v = bytes(b[p:p + n]).decode()
            except UnicodeDecodeError as exc:
                raise _Stop(E.invalid_utf8(p + exc.start, path, exc.reason), at=p) from exc
            self.leaf(path, p, n, v, "text")
            self.close(span, p + n, v)
            return v, p + n
        if isinstance(node, Bool):
            if e - p < 1:
                raise self.truncated(p, e, 1, path)
            t = b[p]
            if t > 1:
                raise _Stop(E.invalid_bool(p, path, t))
            self.leaf(path, p, 1, t == 1, "bool")
            return t == 1, p + 1
        if isinstance(node, Option):
            if e - p < 1:
                raise self.truncated(p, e, 1, path)
            t = b[p]
            if t > 1:
                raise _Stop(E.invalid_tag(p, path, t))
            span = self.open(path, p, "option")
            self.leaf(path, p, 1, t, "tag")
            v, p = (None, p + 1) if t == 0 else self.walk(node.subcon, path, p + 1, e)
            self.close(span, p, v)
            return v, p
        if isinstance(node, Vec):
            span = self.open(path, p, "vec")
            n, p = self.length(p, e, path)
            m = min_size(node.subcon)
            if n > (e - p) // m:
                raise self.overflow(p, e, n, m, "element count", path)
            self.leaf(path, p - 8, 8, n, "len", m)
            if not self.keep:
                for i in range(n):
                    _, p = self.walk(node.subcon, f"{path}[{i}]", p, e)
                self.close(span, p, Elided(n))
                return span.value, p
            items: list[Any] = []
            for i in range(n):
                v, p = self.walk(node.subcon, f"{path}[{i}]", p, e)
                items.append(v)
            self.close(span, p, items)
            return items, p
        if isinstance(node, Map):
            span = self.open(path, p, "map")
            n, p = self.length(p, e, path)
            m = min_size(node.key) + min_size(node.value)
            if n > (e - p) // m:
                raise self.overflow(p, e, n, m, "entry count", path)
            self.leaf(path, p - 8, 8, n, "len", m)
            out: dict[Any, Any] = {}  # without `keep`, the keys only (to find a repeat)
            held = self.hold is None  # this map's entries hold the spans, not an outer one's
            for i in range(n):
                kp = p
                if held:
                    self.hold = len(self.spans)
                k, p = self.walk(node.key, f"{path}[{i}].key", p, e)
                v, p = self.walk(node.value, f"{path}[{i}].value", p, e)
                if k in out:
                    raise _Stop(E.duplicate_key(kp, f"{path}[{i}].key", k))
                out[k] = v if self.keep else None
                if held:
                    self.hold = None
            if not self.keep:
                self.close(span, p, Elided(n))
                return span.value, p
            self.close(span, p, out)
            return out, p
        if isinstance(node, Uuid):
            span = self.open(path, p, "uuid")
            n, p = self.length(p, e, path)
            if n != 16:
                raise _Stop(E.bad_uuid_length(p - 8, path, n))
            self.leaf(path, p - 8, 8, n, "len")
            if e - p < 16:
                raise self.truncated(p, e, 16, path)
            v = uuid.UUID(bytes=bytes(b[p:p + 16]))
            self.leaf(path, p, 16, v.bytes, "bytes")
            self.close(span, p + 16, v)
            return v, p + 16
        if isinstance(node, Enum):
            if e - p < 4:
                raise self.truncated(p, e, 4, path)
            (index,) = _U32.unpack_from(b, p)
            if index >= len(node.variants):
                raise _Stop(E.unknown_variant(p, path, index, len(node.variants)))
            name, sub = node.variants[index]
            span = self.open(path, p, "enum")
            self.leaf(path, p, 4, name, "variant")
            variant, p = self.walk_fields(sub, f"{path}.{name}", p + 4, e)
            value = {name: variant if self.keep else None}
            self.close(span, p, value)
            return value, p
        raise TypeError(f"trace does not know {type(node).__name__}")

    def walk_fields(self, struct_node: Construct, prefix: str, p: int, e: int
                    ) -> tuple[dict[str, Any], int]:
        """The fields of a Struct without a span of its own (enum variants, headers)."""
        out: dict[str, Any] = {}
        for sub in _unwrap(struct_node).subcons:
            out[sub.name], p = self.walk(sub.subcon, _join(prefix, sub.name), p, e)
        return out, p


def _finish(tracer: _Tracer, kind: str, size: int, problems: list[ReplayFormatError],
            end: int, value: Any, stopped: bool) -> Trace:
    for span in (*tracer.handed, *tracer.spans):
        if not span.complete and not span.closed:
            span.size = max(0, end - span.offset)
    spans = tracer.spans
    if stopped and end < size:
        spans.append(Span("", end, size - end, None, "unparsed"))
    return Trace(kind, spans, problems[0] if problems else None, end, size, problems,
                 None if stopped else value)


def _buffer(data: Data) -> _Buf:
    if isinstance(data, (bytes, bytearray)):
        return data
    if isinstance(data, memoryview):
        return bytes(data)
    return data  # mmap and other buffers that support slicing and unpack_from


def trace_record(node: Construct | str, data: Data, start: int = 0, stop: int | None = None,
                 path: str = "", sink: Callable[[list[Span]], object] | None = None) -> Trace:
    """Trace one record (a schema node, or a name from `schema.RECORDS`) in data[start:stop].

    Bytes after the record up to `stop` are a TRAILING_BYTES problem (as the codec's
    parse_session reports them), with a span of kind "trailing".

    With `sink`, the spans are handed to it every `HAND_OVER` of them, as `trace_segment`
    hands a session's (the values of structs, vectors and maps `Elided`, the record's too);
    `Trace.fields` holds the spans not handed over.
    """
    if isinstance(node, str):
        node = schema.RECORDS[node]
    b = _buffer(data)
    e = len(b) if stop is None else stop
    t = _Tracer(b, keep=sink is None)
    t.flow(sink)
    try:
        value, end = t.walk(node, path, start, e)
    except _Stop as stop_:
        return _finish(t, "record", e, [stop_.error], stop_.at, None, True)
    t.flow(None)
    policy = Policy(lenient=True)
    exact(end, e, path, "record", policy)
    if end != e:
        t.leaf(path, end, e - end, None, "trailing")
    return _finish(t, "record", e, policy.problems, end, value, False)


def _walk_stop(err: ReplayFormatError, end: int) -> _Stop:
    """A container error from `framing` that ends the walk (a missing session stops at the end
    of the bytes; a bad length prefix where it starts)."""
    return _Stop(err, at=end if err.kind == K.COUNT_MISMATCH else err.offset)


def trace_segment(data: Data, sink: Callable[[list[Span]], object] | None = None,
                  start: int = 0, stop: int | None = None) -> Trace:
    """Trace an `MV2RPLY!` replay segment: header, each session's length prefix and record.

    The segment is data[start:stop] (default: all of it), traced in place (a `.mv2`'s live
    segment is not copied out of its map); offsets, `Trace.end` and `Trace.size` are
    positions in `data`.

    The container is walked by `framing` (lenient: version, session_count, total_size and
    trailing bytes are problems, not stops); each session block is traced over the schema.

    With `sink` (a callable), the spans are handed to it in byte order and not kept: first the
    header's (with the segment's and the sessions' composites, open until the end), then at
    the end of each session and every `HAND_OVER` spans inside one (a map entry's spans once
    its key is known to be new). The sessions' values are not built (structs, vectors and
    maps are `Elided`): memory is bounded by a few thousand spans and the nesting depth, not
    by the size of a session. A composite still open when handed over is finished in place
    when it closes (the segment's and the sessions' before this returns; when decoding stops,
    each open one's size runs to `Trace.end`); `Trace.fields` holds only the spans not
    handed over, and `Trace.value` (when decoding did not stop) has no sessions."""
    b = _buffer(data)
    e = len(b) if stop is None else stop
    t = _Tracer(b, keep=sink is None)
    policy = Policy(lenient=True)
    root = t.open("", start, "segment")
    sessions: list[dict[str, Any]] = []
    try:
        header, p = t.walk_fields(schema.SegmentHeader, "", start, e)
        head = segment_header(b, start, e, policy)
        arr = t.open("sessions", p, "sessions")
        if sink is not None:  # the head: the composites open until the end, the header
            t.hand_over(sink)
            t.flow(sink)
        blocks = segment_blocks(b, start, e, policy, header=head)
        while True:
            try:
                i, lo, hi = next(blocks)  # the session's bytes (not the segment's start/stop)
            except StopIteration:
                break
            except ReplayFormatError as err:
                raise _walk_stop(err, e) from None
            where = f"sessions[{i}]"
            t.leaf(where, lo - 8, 8, hi - lo, "len", 1)
            value, end = t.walk(schema.ReplaySession, where, lo, hi)
            exact(end, hi, where, "session", policy)
            if end != hi:
                t.leaf(where, end, hi - end, None, "trailing")
            p = hi
            if sink is None:
                sessions.append(value)
            else:
                t.hand_over(sink)
        t.flow(None)  # a span after the sessions is outside the root: given at the end
        t.close(arr, p, sessions)
    except _Stop as stop_:
        policy.problems.append(stop_.error)
        return _finish(t, "segment", e, policy.problems, stop_.at, None, True)
    if p != e:
        t.leaf("", p, e - p, None, "trailing")
    t.close(root, p, {"header": header, "sessions": sessions})
    return _finish(t, "segment", e, policy.problems, p, root.value, False)


def trace_active_session(data: Data, sink: Callable[[list[Span]], object] | None = None
                         ) -> Trace:
    """Trace an `MV2ACTIV` envelope (a `NAME.mv2.session` sidecar); its magic and length prefix
    are checked by `framing`.

    With `sink`, the spans are handed to it as `trace_segment` hands a session's: first the
    envelope's magic and length (with the open envelope), then every `HAND_OVER` spans of the
    session; values of structs, vectors and maps are `Elided`, and `Trace.value` too."""
    b = _buffer(data)
    e = len(b)
    t = _Tracer(b, keep=sink is None)
    policy = Policy(lenient=True)
    root = t.open("", 0, "envelope")
    magic = schema.ACTIVE_MAGIC
    try:
        try:
            start, stop = envelope_block(b)
        except ReplayFormatError as err:
            if err.path == "length":
                t.leaf("magic", 0, len(magic), magic, "magic")
            raise _Stop(err) from None
        t.leaf("magic", 0, len(magic), magic, "magic")
        t.leaf("length", start - 8, 8, stop - start, "len", 1)
        if sink is not None:
            t.hand_over(sink)
            t.flow(sink)
        value, end = t.walk(schema.ActiveSession, "", start, stop)
        t.flow(None)  # the rest (trailing bytes) is given at the end
    except _Stop as stop_:
        policy.problems.append(stop_.error)
        return _finish(t, "active_session", e, policy.problems, stop_.at, None, True)
    exact(end, stop, "", "active session", policy)
    if end != stop:
        t.leaf("", end, stop - end, None, "trailing")
    exact(stop, e, "", "envelope", policy)
    if stop != e:
        t.leaf("", stop, e - stop, None, "trailing")
    t.close(root, stop, value)
    return _finish(t, "active_session", e, policy.problems, stop, value, False)


def decode_field(node: Construct, data: Data, p: int, e: int, path: str = "") -> tuple[Any, int]:
    """Decode one schema node from data[p:e] without keeping spans: (value, next offset).

    For lenient readers that go field by field; raises the codec-equivalent ReplayFormatError.
    """
    t = _Tracer(_buffer(data))
    try:
        return t.walk(node, path, p, e)
    except _Stop as stop:
        raise stop.error from None


def _stream_segment(t: _Tracer, b: _Buf, so: int, ss: int,
                    sink: Callable[[list[Span]], object]) -> Trace:
    """Trace the live segment b[so:so+ss] of a `.mv2` in place for `sink` (`trace_mv2` with a
    sink): the container's spans so far go with the segment's first piece, then the segment's
    pieces as `trace_segment` hands them (the unnamed spans named ``replay_segment``). Returns
    the segment's trace, its remaining spans named too and those still open where its
    decoding stopped `closed` (see `_closed`)."""
    held: list[Span] = []
    t.hand_over(held.extend)  # the container's spans so far (its open root stays in t.handed)
    opened: list[Span] = []  # handed over open

    def give(spans: list[Span]) -> None:
        _named(spans)
        opened.extend(sp for sp in spans if not sp.complete)
        if held:
            spans = held + spans
            held.clear()
        sink(spans)

    seg = trace_segment(b, give, so, so + ss)
    _closed(opened)
    _closed(_named(seg.fields))
    if held:  # the segment handed nothing over (it stopped in its header)
        sink(held)
    return seg


def _closed(spans: list[Span]) -> None:
    """A live segment's composites still open where its decoding stopped end there (sized by
    its own trace), as in the segment's own trace, not where the `.mv2`'s trace ends: marked
    `closed`, so that the container's `_finish` leaves them and a map knows their size is
    final before the spans after them come."""
    for sp in spans:
        if not sp.complete:
            sp.closed = True


def _named(spans: list[Span]) -> list[Span]:
    """A live segment's spans as a `.mv2`'s trace names them: the unnamed ones (its root, its
    undecoded rest) ``replay_segment``, in place."""
    for sp in spans:
        if not sp.path:
            sp.path = "replay_segment"
    return spans


def _drop(spans: list[Span]) -> None:
    """A sink that keeps nothing."""


def _trace_toc(data: Data, start: int, stop: int, refs: _TocRefs | None = None
               ) -> tuple[Trace, str]:
    """The TOC traced with each layout of `schema.TOC_LAYOUTS` in the order memvid's reader
    tries them (as `toc.decode_toc` does): the first that decodes exactly [start, stop) wins;
    when none does, the one whose trace got furthest (its error is where it stopped).

    With `refs`, each layout is traced for it (`trace_record`'s sink: its spans are not kept)
    and it keeps what the winning layout's spans hold of the data region."""
    best: tuple[Trace, str] | None = None
    for name, node in schema.TOC_LAYOUTS.items():
        if refs is not None:
            refs.reset()
        tr = trace_record(node, data, start, stop, "toc", refs)
        if tr.ok:
            if refs is not None:
                refs(tr.fields)
            return tr, name
        if best is None or tr.end > best[0].end:
            best = (tr, name)
    assert best is not None
    return best


#: The TOC leaves `_referenced` reads: a range's offset, its length, a frame's id.
_REF_ENDS = (".payload_offset", ".payload_length", ".id", ".bytes_offset", ".bytes_length")


class _TocRefs:
    """A sink for a TOC's spans (`trace_mv2` with a sink) keeping only what the data region's
    layout needs: the (path, value) of the leaves `_referenced` reads, in order, and where
    ``toc.replay_manifest`` starts (its value is decoded again from there)."""

    def __init__(self) -> None:
        self.leaves: list[tuple[str, Any]] = []
        self.manifest_at: int | None = None

    def reset(self) -> None:
        self.leaves = []
        self.manifest_at = None

    def __call__(self, spans: list[Span]) -> None:
        for sp in spans:
            if sp.kind in LEAF_KINDS:
                if sp.path.endswith(_REF_ENDS):
                    self.leaves.append((sp.path, sp.value))
            elif sp.path == "toc.replay_manifest" and sp.kind == "option":
                self.manifest_at = sp.offset


def _referenced(toc_spans: list[Span]) -> list[tuple[int, int, str, Any]]:
    """The data-region ranges the decoded TOC names: (offset, size, path, value). Frame
    payloads by frame id, every `bytes_offset`/`bytes_length` pair (segments, indexes,
    tracks, catalog descriptors) by the TOC path that holds it."""
    return _ranges([(sp.path, sp.value) for sp in toc_spans if sp.is_leaf])


def _ranges(leaves: list[tuple[str, Any]]) -> list[tuple[int, int, str, Any]]:
    """`_referenced` from the TOC's leaves as (path, value), in order (those whose paths end
    as `_REF_ENDS` are enough)."""
    by_path = dict(leaves)  # the last leaf of a path (an option's value after its tag)
    out: list[tuple[int, int, str, Any]] = []
    for path, value in leaves:
        if path.endswith(".payload_offset"):
            parent = path[:-len(".payload_offset")]
            length = by_path.get(parent + ".payload_length")
            fid = parent + ".id"
            if length and fid in by_path:
                out.append((value, length, f"frame#{by_path[fid]}.payload",
                            {"frame_id": by_path[fid], "toc": parent}))
        elif path.endswith(".bytes_offset"):
            parent = path[:-len(".bytes_offset")]
            length = by_path.get(parent + ".bytes_length")
            if length:
                out.append((value, length, f"data[{parent}]", {"toc": parent}))
    return out


def _toc_named(spans: list[Span]) -> list[Span]:
    """The TOC's undecoded rest (a trace's unnamed "unparsed" span) named ``toc``, in place."""
    for sp in spans:
        if sp.kind == "unparsed" and not sp.path:
            sp.path = "toc"
    return spans


def _trace_wal(t: _Tracer, b: _Buf, start: int, size: int) -> None:
    """The write-ahead log region as memvid's reader scans it (`src/io/wal.rs`): records from
    its first byte, each a `schema.WalRecordHeader` and its entry, up to an all-zero header;
    a record counts only when its entry is inside the region and hashes to its checksum. The
    rest of the region is ``wal.free`` (the zero header, then older or unused bytes)."""
    import blake3

    end = start + size
    head = schema.WAL_RECORD_HEADER_SIZE
    wal = t.open("wal", start, "struct")
    p, i = start, 0
    while p + head <= end:
        seq, length = struct.unpack_from("<QI", b, p)
        if length == 0 or p + head + length > end:
            break
        entry = bytes(b[p + head:p + head + length])
        if blake3.blake3(entry).digest() != bytes(b[p + 16:p + head]):
            break
        path = f"wal.records[{i}]"
        rec = t.open(path, p, "struct")
        fields, q = t.walk_fields(schema.WalRecordHeader, path, p, p + head)
        t.leaf(f"{path}.entry", q, length, {"sequence": seq}, "range")
        t.close(rec, q + length, fields)
        p, i = q + length, i + 1
    if p < end:
        t.leaf("wal.free", p, end - p, None, "range")
    t.close(wal, end, {"wal_offset": start, "wal_size": size, "records": i})


def trace_mv2(data: Data, sink: Callable[[list[Span]], object] | None = None) -> Trace:
    """Trace a whole `.mv2`: every byte named exactly once, in byte order.

    - ``header.*``: the header record (`schema.Mv2Header`), then ``header.reserved`` (a range)
      to the end of the 4096-byte page;
    - ``wal``: the write-ahead log region the header declares: ``wal.records[i]`` (each
      record's header fields and its ``entry``, whose value gives the record's sequence: the
      number a Put action records as its frame_id, and the record that holds the put's
      bytes), then ``wal.free``;
    - ``frame#ID.payload``: each frame's stored payload (a range; ID is the frame's id, the
      value says which ``toc.frames[i]`` holds it);
    - ``replay_segment``: the segment the TOC's replay_manifest names, traced as
      `trace_segment` traces a segment file, its fields under their own paths (``version``,
      ``sessions[0].actions[3].input_preview``...: the paths validation reports for the live
      segment);
    - ``data[toc.PATH]``: the bytes each ``bytes_offset``/``bytes_length`` pair of the TOC
      names (segments, index and track manifests, catalog descriptors), by the TOC path that
      holds the pair;
    - ``unreferenced``: data-region bytes nothing above names (superseded saves, slack);
    - ``toc.*``: the TOC field by field, in the layout `toc.decode_toc` chose;
    - ``footer.*``: the footer record.
    A range that starts inside one already named is kept from where that one ends (its value
    says ``overlaps``). When the TOC does not decode, the trace names what it can (header, WAL,
    footer, the TOC up to the error) and keeps the data region as one "unparsed" range;
    `Trace.error` is the TOC's error and `Trace.end` its offset. Payloads are ranges, so
    memory is bounded by the number of fields, not the size of the file.

    With `sink` (a callable), the spans are handed to it in byte order every `HAND_OVER` of
    them as the data region is laid out (the container's root open until the end): header,
    WAL records, payload and referenced ranges; the live segment traced in place as
    `trace_segment` traces one for a sink (the spans before it go with its first piece); the
    rest of the region; then the TOC. What the layout needs of the TOC is got first by
    tracing it for a sink that keeps only the leaves `_referenced` reads, as (path, value)
    pairs, and where its replay manifest starts (decoded again from there); the TOC is then
    traced again at its place, the layout that decoded, its spans handed over. Only the
    footer's stay in `Trace.fields`. Composites handed over open are finished in place
    (absolute sizes) before this returns; the segment's and the TOC's structs, vectors and
    maps have `Elided` values, and so does ``Trace.value["toc"]``. A TOC that does not decode
    is handed over too, up to where it stops (the data region is then one undecoded run
    before it), and so is what follows a live segment whose trace stopped (its composites
    cut short are `closed`: their sizes are final before what follows comes). Otherwise the
    same spans, problems and value as without a sink.
    """
    from .framing import read_layout

    b = _buffer(data)
    e = len(b)
    t = _Tracer(b)
    problems: list[ReplayFormatError] = []
    root = t.open("", 0, "mv2")
    head_size = schema.MV2_HEADER_SIZE
    try:
        header, p = t.walk(schema.Mv2Header, "header", 0, min(e, head_size))
    except _Stop as stop_:
        return _finish(t, "mv2", e, [stop_.error], stop_.at, None, True)
    page = min(e, head_size)
    if page > p:
        t.leaf("header.reserved", p, page - p, None, "range")
    try:
        layout = read_layout(b)
    except ReplayFormatError as err:
        return _finish(t, "mv2", e, [err], page, None, True)
    toc_start, footer_pos = layout.footer_offset, layout.footer_pos
    refs = None if sink is None else _TocRefs()
    toc_trace, toc_layout = _trace_toc(b, toc_start, footer_pos, refs)
    regions: list[tuple[int, int, str, Any]] = []
    wal_off, wal_size = header["wal_offset"], header["wal_size"]
    if wal_size:
        regions.append((wal_off, wal_size, "wal", {"wal_offset": wal_off,
                                                     "wal_size": wal_size}))
    segment_spans: list[Span] = []
    live: tuple[int, int] | None = None  # the live segment, with a sink, until traced
    if toc_trace.ok:
        if refs is None:
            regions.extend(_referenced(toc_trace.fields))
            manifest = (toc_trace.value or {}).get("replay_manifest")
        else:  # the TOC's spans went to `refs`: what it kept, the manifest decoded again
            regions.extend(_ranges(refs.leaves))
            manifest = None
            if refs.manifest_at is not None:
                node = next(sub.subcon for sub in _unwrap(schema.TOC_LAYOUTS[toc_layout]).subcons
                            if sub.name == "replay_manifest")
                manifest, _ = decode_field(node, b, refs.manifest_at, footer_pos,
                                           "toc.replay_manifest")
            refs = None
        if manifest:
            so, ss = manifest["segment_offset"], manifest["segment_size"]
            if head_size <= so and so + ss <= toc_start and ss:
                regions.append((so, ss, "replay_segment", None))
                if sink is None:
                    seg = trace_segment(b, None, so, so + ss)
                    segment_spans = _named(seg.fields)
                    _closed(segment_spans)
                    problems.extend(seg.problems)
                else:  # traced where its spans are laid out, handed over as they come
                    live = (so, ss)
    else:
        assert toc_trace.error is not None  # a trace that is not ok has its error
        problems.append(toc_trace.error)
    if sink is not None:  # the data region's spans go as they are laid out
        t.flow(sink)
    # lay the data region [page, toc_start) out in byte order, each byte once
    pos = page
    regions.sort(key=lambda r: (r[0], -r[1]))
    for off, size, path, val in regions:
        lo, hi = max(off, pos), min(off + size, toc_start)
        if off < page or hi <= lo:
            continue
        if lo > pos:
            t.leaf("data" if not toc_trace.ok else "unreferenced", pos, lo - pos, None,
                   "unparsed" if not toc_trace.ok else "range")
        if path == "replay_segment" and lo == off and hi == off + size:
            if live is not None and sink is not None:
                seg = _stream_segment(t, b, off, size, sink)
                problems.extend(seg.problems)
                segment_spans, live = seg.fields, None
            t.spans.extend(segment_spans)
        elif path == "wal" and lo == off and hi == off + size:
            _trace_wal(t, b, off, size)
        elif path == "replay_segment":
            t.leaf(path, lo, hi - lo, {"overlaps": True}, "range")
        else:
            if lo != off:
                val = {**(val or {}), "overlaps": True}
            t.leaf(path, lo, hi - lo, val, "range")
        pos = hi
    if toc_start > pos:
        t.leaf("data" if not toc_trace.ok else "unreferenced", pos, toc_start - pos, None,
               "unparsed" if not toc_trace.ok else "range")
    if live is not None:  # overlapped, not laid out: traced for its problems only
        so, ss = live
        problems.extend(trace_segment(b, _drop, so, so + ss).problems)
    if sink is not None:  # the TOC traced again at its place, the layout that won
        t.hand_over(sink)
        t.flow(None)
        toc_trace = trace_record(schema.TOC_LAYOUTS[toc_layout], b, toc_start, footer_pos,
                                 "toc", sink)
    t.spans.extend(_toc_named(toc_trace.fields))
    try:
        footer, _ = t.walk(schema.Mv2Footer, "footer", footer_pos, e)
    except _Stop as stop_:  # read_layout checked the magic; kept for safety
        problems.append(stop_.error)
        return _finish(t, "mv2", e, problems, stop_.at, None, True)
    if not toc_trace.ok:
        return _finish(t, "mv2", e, problems, toc_trace.end, None, False)
    t.close(root, e, {"header": header, "toc_layout": toc_layout, "toc": toc_trace.value,
                      "footer": footer})
    return _finish(t, "mv2", e, problems, e, root.value, False)
