"""The Construct path: `schema` parsed by Construct itself, mapped to the model.

This is the oracle the generated codec is checked against (tests/test_differential.py):
same values, same errors (kind, absolute offset, field path) on any input. It is slow (about
15x the generated codec) and exists to keep the fast path honest, and to pinpoint an error.

Construct's errors carry a path but no offset, so the schema's bincode primitives raise
`schema.FieldError` (kind and absolute offset of the offending field), and the input is read
through a `schema.OffsetStream` that records where the last read started: a truncated field
fails in Construct's `stream_read`, and that read started at the field's offset. Paths are
Construct's (`(parsing) -> actions -> [3] -> input_preview`; the schema's Vec, Map, Enum and
IndexedArray add the index or variant) rewritten in our syntax (`actions[3].input_preview`).

The container rules that memvid's own reader does not have (segment version, total_size,
session_count against the data, trailing bytes) are applied here as `codec` applies them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from construct import Const, ConstError, Construct, ConstructError, StreamError, Struct

from . import model as M
from . import schema
from .errors import ErrorKind as K
from .errors import ReplayFormatError

if TYPE_CHECKING:
    from ._types import Readable

__all__ = ["to_model", "parse_segment", "parse_session", "parse_active_session",
           "construct_error", "parse_toc", "container_value"]

_RECORD_NAMES = {id(node): name for name, node in schema.RECORDS.items()}
_SESSION_BLOCK = schema.Block(schema.ReplaySession)
_ACTIVE_BLOCK = schema.Block(schema.ActiveSession)


def _unwrap(node: Construct) -> Construct:
    while hasattr(node, "subcon") and type(node).__name__ == "Renamed":
        node = node.subcon
    return node


def to_model(node: Construct, value: Any) -> Any:
    """The model value of a Construct-parsed `value` of schema node `node`."""
    name = _RECORD_NAMES.get(id(node))
    node = _unwrap(node)
    name = name or _RECORD_NAMES.get(id(node))
    if name is not None:
        cls = getattr(M, name)
        return cls(*[to_model(sub.subcon, value[sub.name]) for sub in node.subcons])
    if isinstance(node, schema.Enum):
        ((vname, fields),) = ((k, v) for k, v in value.items() if not k.startswith("_"))
        _, sub = node.by_name[vname]
        cls = M.VARIANTS_BY_NAME[vname]
        return cls(*[to_model(f.subcon, fields[f.name]) for f in sub.subcons])
    if isinstance(node, schema.Option):
        return None if value is None else to_model(node.subcon, value)
    if isinstance(node, schema.Vec):
        return [to_model(node.subcon, x) for x in value]
    if isinstance(node, schema.Map):
        return dict(value)
    return value


def _path(construct_path: str) -> str:
    out = ""
    for part in construct_path.split(" -> "):
        part = part.strip()
        if not part or part == "(parsing)":
            continue
        out += part if (part.startswith("[") or not out) else "." + part
    return out


def construct_error(exc: ConstructError, stream: schema.OffsetStream,
                    prefix: str = "") -> ReplayFormatError:
    """Our error for a Construct failure on `stream` (see the module docstring)."""
    path = _path(getattr(exc, "path", "") or "")
    if prefix:
        path = prefix + ("" if not path or path.startswith("[") else ".") + path
    if isinstance(exc, schema.FieldError):
        kind, offset = exc.kind, exc.offset
    elif isinstance(exc, ConstError):
        kind, offset = K.BAD_MAGIC, stream.last_read
    elif isinstance(exc, StreamError):
        kind, offset = K.TRUNCATED, stream.last_read
    else:
        raise exc
    return ReplayFormatError(kind, str(exc), offset=offset, path=path)


def _parse_block(block: Construct, stream: schema.OffsetStream, prefix: str) -> Any:
    try:
        return block.parse_stream(stream)
    except ConstructError as exc:
        raise construct_error(exc, stream, prefix) from exc


def parse_segment(data: Readable) -> M.Segment:
    """Like `codec.parse_segment`, through Construct."""
    b = bytes(data)
    stream = schema.OffsetStream(b)
    try:
        header = schema.SegmentHeader.parse_stream(stream)
    except ConstructError as exc:
        raise construct_error(exc, stream) from exc
    if header.version != schema.SEGMENT_VERSION:
        raise ReplayFormatError(K.UNSUPPORTED_VERSION, "unsupported segment version", offset=8,
                                path="version")
    sessions: list[M.ReplaySession] = []
    for i in range(header.session_count):
        if stream.tell() == len(b):
            raise ReplayFormatError(K.COUNT_MISMATCH, "fewer sessions than session_count",
                                    offset=12, path="session_count")
        value = _parse_block(_SESSION_BLOCK, stream, f"sessions[{i}]")
        sessions.append(to_model(schema.ReplaySession, value))
    end = stream.tell()
    if end != len(b) and header.total_size == len(b):
        raise ReplayFormatError(K.COUNT_MISMATCH, "bytes follow the last session",
                                offset=12, path="session_count")
    if header.total_size != end:
        raise ReplayFormatError(K.SIZE_MISMATCH, "total_size disagrees", offset=16,
                                path="total_size")
    if end != len(b):
        raise ReplayFormatError(K.TRAILING_BYTES, "bytes after the last session", offset=end,
                                path="")
    return M.Segment(header.version, header.session_count, header.total_size, sessions)


def parse_session(data: Readable) -> M.ReplaySession:
    """Like `codec.parse_session` (one session, no length prefix), through Construct."""
    b = bytes(data)
    stream = schema.OffsetStream(b)
    try:
        value = schema.ReplaySession.parse_stream(stream)
    except ConstructError as exc:
        raise construct_error(exc, stream) from exc
    if stream.tell() != len(b):
        raise ReplayFormatError(K.TRAILING_BYTES, "bytes after the session",
                                offset=stream.tell(), path="")
    session: M.ReplaySession = to_model(schema.ReplaySession, value)
    return session


def parse_active_session(data: Readable) -> M.ActiveSession:
    """Like `codec.parse_active_session` (an MV2ACTIV envelope), through Construct."""
    b = bytes(data)
    stream = schema.OffsetStream(b)
    if len(b) < len(schema.ACTIVE_MAGIC) and schema.ACTIVE_MAGIC.startswith(b):
        raise ReplayFormatError(K.TRUNCATED, "shorter than the magic", offset=0, path="magic")
    try:
        Const(schema.ACTIVE_MAGIC).parse_stream(stream)
    except ConstructError as exc:
        if len(b) < len(schema.ACTIVE_MAGIC):
            raise ReplayFormatError(K.TRUNCATED, "shorter than the magic", offset=0,
                                    path="magic") from exc
        raise ReplayFormatError(K.BAD_MAGIC, "wrong magic", offset=0, path="magic") from exc
    try:
        value = _parse_block(_ACTIVE_BLOCK, stream, "")
    except ReplayFormatError as err:
        if err.path == "" and err.offset == len(schema.ACTIVE_MAGIC) and err.kind in (
                K.TRUNCATED, K.LENGTH_OVERFLOW):
            raise ReplayFormatError(err.kind, err.reason, offset=err.offset,
                                    path="length") from err  # the envelope's length prefix
        raise
    if stream.tell() != len(b):
        raise ReplayFormatError(K.TRAILING_BYTES, "bytes after the envelope",
                                offset=stream.tell(), path="")
    active: M.ActiveSession = to_model(schema.ActiveSession, value)
    return active


# --- the .mv2 TOC ----------------------------------------------------------------------------

def container_value(node: Construct, value: Any) -> Any:
    """A Construct-parsed container `value` of `node` in the generated codec's shape
    (`_generated_toc`): records as dicts of their fields, unit enums as their variant name."""
    node = _unwrap(node)
    if isinstance(node, Struct):
        return {sub.name: container_value(sub.subcon, value[sub.name]) for sub in node.subcons}
    if isinstance(node, schema.Enum):
        ((vname, _),) = ((k, v) for k, v in value.items() if not k.startswith("_"))
        return vname
    if isinstance(node, schema.Option):
        return None if value is None else container_value(node.subcon, value)
    if isinstance(node, schema.Vec):
        return [container_value(node.subcon, x) for x in value]
    if isinstance(node, schema.Map):
        return {container_value(node.key, k): container_value(node.value, v)
                for k, v in value.items()}
    return value


def parse_toc(data: Readable, start: int, end: int) -> tuple[str, dict[str, Any]]:
    """Like `toc.decode_toc` through Construct: (layout name, value as `container_value`
    gives it); the same ReplayFormatError (kind, offset, path, text) when no layout decodes."""
    raw = bytes(data[start:end])
    best: ReplayFormatError | None = None
    for name, node in schema.TOC_LAYOUTS.items():
        stream = schema.OffsetStream(raw, start)
        try:
            value = node.parse_stream(stream)
        except ConstructError as exc:
            err = construct_error(exc, stream)
            reason = str(exc).split("\n", 1)[-1]  # Construct puts its own path first
            err = ReplayFormatError(err.kind, f"TOC does not decode ({name} layout): {reason}",
                                    offset=err.offset, path=err.path).prefix("toc")
        else:
            if stream.tell() == len(raw):
                toc: dict[str, Any] = container_value(node, value)
                return name, toc
            stop = start + stream.tell()
            err = ReplayFormatError(K.TRAILING_BYTES,
                                    f"{end - stop} bytes after the TOC ({name} layout)",
                                    offset=stop, path="toc", expected=0, actual=end - stop)
        if best is None or err.offset > best.offset:
            best = err
    assert best is not None
    raise best
