"""The forensic timeline: one row per event of every session ever saved, in time order.

An event is a session being created or ended, an action, or a checkpoint. Sessions come from
`forensics.all_sessions` (every segment and sidecar envelope that fully decodes, anywhere in
the bytes), so a `.mv2` gives its live session and the stale and deleted ones its older
segments still hold, and any other file (segment, sidecar, disk image) gives whatever it holds.

- `file_rows(path)`: the rows of one file, ordered by time (ties keep the file's own order:
  sessions by creation, in a session: created, each action with its checkpoint, ended).
- `iter_timeline(paths)`: the rows of many files merged in time order (ties: input order of
  the files, then each file's order), with bounded memory (sorted runs spilled to disk).
- `write(rows, format, out)`: jsonl, csv, timesketch (JSONL with Timesketch's import fields) or
  parquet (needs pyarrow: the `timeline` extra).
- `dask_bag(paths)` / `to_dask_dataframe(paths)`: the same per-file function on Dask (the
  `fleet` extra), for thousands of files on a cluster.

Columns are `COLUMNS`, the same in every format. Hashes are lowercase hex; times are Unix
seconds (`time`) and ISO 8601 UTC (`datetime`, None when the year is outside 1..9999).
Evidence is opened read-only (mmap) and never written.
"""

from __future__ import annotations

import heapq
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, NamedTuple, TypeAlias

from . import framing
from .batch import ProgressBar, iter_inputs
from .forensics import CarvedBlock, SessionRecord, all_sessions, carve, open_evidence
from .model import (
    Ask,
    CheckpointAction,
    Delete,
    Find,
    Put,
    PutMany,
    ReplayAction,
    ToolCall,
    Update,
)

if TYPE_CHECKING:
    import dask.bag as db
    import dask.dataframe as dd

    from .model import Checkpoint
    from .mv2 import Data

#: One timeline row: column name (`COLUMNS`) -> value (str, int, list or None by column).
Row: TypeAlias = dict[str, Any]
#: Frame id -> what the TOC's frame table says of it (`frame_context`), or None.
FrameLookup: TypeAlias = Callable[[int], "FrameInfo | None"]
#: A file's rows from a worker: (input index, path, rows or None, the OSError or None).
_FileRows: TypeAlias = tuple[int, str, list[Row] | None, OSError | None]

__all__ = ["COLUMNS", "COLUMN_TYPES", "FORMATS", "file_rows", "file_kind", "origin_of",
           "iter_timeline", "write", "frame_context", "frame_table", "FrameInfo", "with_frames",
           "dask_bag", "to_dask_dataframe", "arrow_schema", "timesketch_row"]

#: (name, type) of every column, in output order. Types: str, int (i64), u64, list (of u64).
COLUMN_TYPES: tuple[tuple[str, str], ...] = (
    ("file", "str"),            # the path as given
    ("file_kind", "str"),       # mv2 | segment | active_session | other (by the leading magic)
    ("block_kind", "str"),      # segment | active_session: the block holding the session
    ("block_offset", "u64"),    # where that block starts in the file (the live one if any)
    ("block_count", "u64"),     # blocks holding the same session bytes
    ("origin", "str"),          # live | stale | recovered | sidecar | segment (see below)
    ("session_id", "str"),
    ("session_name", "str"),    # None when the session has no name ("" is a name)
    ("event", "str"),           # session_created | session_ended | action | checkpoint
    ("event_index", "u64"),     # position in the file's own order (ties in time keep it)
    ("sequence", "u64"),        # action: its sequence; checkpoint: at_sequence
    ("time", "int"),            # Unix seconds (i64)
    ("datetime", "str"),        # ISO 8601 UTC, e.g. 2026-11-25T10:20:36+00:00
    ("action_type", "str"),     # PUT, PUT_MANY, FIND, ASK, CHECKPOINT, UPDATE, DELETE, TOOL_CALL
    ("query", "str"),           # Find, Ask
    ("mode", "str"),            # Find
    ("result_count", "u64"),    # Find
    ("provider", "str"),        # Ask
    ("model", "str"),           # Ask
    ("tool_name", "str"),       # ToolCall
    ("args_hash", "str"),       # ToolCall
    ("frame_id", "u64"),        # Put, Update, Delete
    ("frame_ids", "list"),      # PutMany; checkpoint: the snapshot's frame ids
    ("count", "u64"),           # PutMany
    ("checkpoint_id", "u64"),   # Checkpoint action; checkpoint: its id
    ("affected_frames", "list"),
    ("input_preview", "str"),
    ("output_preview", "str"),
    ("input_hash", "str"),
    ("output_hash", "str"),
    ("duration_ms", "u64"),
    ("state_hash", "str"),      # checkpoint
    ("frame_count", "u64"),     # checkpoint snapshot
    ("lex_index_hash", "str"),  # checkpoint snapshot
    ("vec_index_hash", "str"),  # checkpoint snapshot
    ("wal_sequence", "u64"),    # checkpoint snapshot
    ("generation", "u64"),      # checkpoint snapshot
    ("frame_uris", "strlist"),  # a .mv2's frames' uri and title, aligned with affected_frames
    ("frame_titles", "strlist"),  # (Find, Ask) or frame_ids (checkpoint): see `frame_context`
)
COLUMNS: tuple[str, ...] = tuple(name for name, _ in COLUMN_TYPES)
FORMATS = ("jsonl", "csv", "timesketch", "parquet")

#: origin, by `forensics.all_sessions` status, of a session found in a .mv2: live (in the
#: segment the TOC points at), stale (superseded: an older save), recovered (deleted: bytes
#: memvid no longer lists). Outside a .mv2 there is no TOC to say which: "segment" or "sidecar"
#: (an MV2ACTIV envelope: the session still being recorded).
_ORIGIN = {"live": "live", "superseded": "stale", "deleted": "recovered", "active": "sidecar"}
_DESC = {"session_created": "Session created", "session_ended": "Session ended",
         "action": "Action recorded", "checkpoint": "Checkpoint taken"}
_EMPTY = dict.fromkeys(COLUMNS)


def _iso(secs: int) -> str | None:
    try:
        return datetime.fromtimestamp(secs, tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def file_kind(data: Data) -> str:
    """mv2, segment, active_session or other, from the leading magic."""
    return framing.sniff(data) or "other"


class FrameInfo(NamedTuple):
    """One frame of a `.mv2`'s TOC frame table: its id, uri, title, kind and time (Unix
    seconds, the frame's own `timestamp`)."""

    id: int
    uri: str | None
    title: str | None
    kind: str | None
    time: int | None


def frame_table(data: Data) -> dict[int, FrameInfo] | None:
    """Frame id -> FrameInfo for every frame of a `.mv2`'s TOC, or None when the input is
    not a `.mv2` or its TOC does not decode (no guess). An id that two frames claim is left
    out: it names no single frame."""
    from .errors import ReplayFormatError
    from .mv2 import read_toc

    try:
        frames = read_toc(data).frames
    except (ReplayFormatError, ValueError, IndexError):
        return None
    table: dict[int, FrameInfo] = {}
    twice: set[int] = set()
    for f in frames:
        fid = f.get("id")
        if not isinstance(fid, int):
            continue
        if fid in table:
            twice.add(fid)
        table[fid] = FrameInfo(fid, f.get("uri"), f.get("title"), f.get("kind"),
                               f.get("timestamp"))
    for fid in twice:
        del table[fid]
    return table


def frame_context(data: Data, kind: str) -> FrameLookup | None:
    """Frame id -> FrameInfo (uri, title, kind, time) from a `.mv2`'s TOC frame table, or
    None when there is no table (not a `.mv2`, or its TOC does not decode). The lookup gives
    None for an id the table does not hold.

    Which recorded numbers are frame ids (what every real file shows, CLI- and SDK-made):
    - Find and Ask `affected_frames`: frame ids, the hits in rank order (the CLI's own
      `find` output lists the same frames' uris and titles in that order);
    - a checkpoint's snapshot `frame_ids`: the ids of the frames that existed then
      (`frame_count` of them);
    - Put `frame_id` and a Put's `affected_frames` are NOT: memvid (CLI and SDK) records the
      put's write-ahead-log sequence there (the CLI prints it as `seq:`), which only by
      chance equals some frame's id, so they are never resolved;
    - PutMany, Update, Delete, ToolCall: no real file records them; not resolved either.
    Rows resolve only those lists (`frame_uris` / `frame_titles` aligned with
    `affected_frames` on Find and Ask rows, with `frame_ids` on checkpoint rows); a frame id
    the table does not hold gives None in its place, never a neighbour's title.
    """
    if kind != "mv2":
        return None
    table = frame_table(data)
    if table is None:
        return None
    return table.get


#: action types whose affected_frames are frame ids (see `frame_context`).
RESOLVED_ACTIONS = (Find, Ask)


#: memvid JSON action type names whose affected_frames are frame ids (see `frame_context`).
_RESOLVED_NAMES = frozenset(("Find", "Ask"))


def _frame_json(info: FrameInfo | None) -> dict[str, Any] | None:
    return None if info is None else info._asdict()


def with_frames(value: Any, frames: FrameLookup) -> Any:
    """A readable JSON dump (`memvid_json.to_json` of a segment, session or active envelope)
    with frame context added in place: each Find and Ask action gets `frames`, aligned with
    its `affected_frames`, and each checkpoint snapshot gets `frames`, aligned with its
    `frame_ids`; an entry is {id, uri, title, kind, time}, or null for an id the frame table
    does not hold. Put ids are the WAL sequence (see `frame_context`): never resolved."""
    if isinstance(value, list):
        for v in value:
            with_frames(v, frames)
    elif isinstance(value, dict):
        kind = value.get("action_type")
        if isinstance(kind, dict) and "affected_frames" in value:
            if kind.get("type") in _RESOLVED_NAMES:
                value["frames"] = [_frame_json(frames(f)) for f in value["affected_frames"]]
            return value
        if "frame_ids" in value and "frame_count" in value:  # a checkpoint snapshot
            value["frames"] = [_frame_json(frames(f)) for f in value["frame_ids"]]
            return value
        for v in value.values():
            with_frames(v, frames)
    return value


def _fill_frames(row: Row, ids: list[int] | None, frames: FrameLookup | None) -> None:
    if frames is None or not ids:
        return
    looked = [frames(f) for f in ids]
    row["frame_uris"] = [None if x is None else x.uri for x in looked]
    row["frame_titles"] = [None if x is None else x.title for x in looked]


def _action_fields(row: Row, a: ReplayAction) -> None:
    t = a.action_type
    row["action_type"] = t.DISPLAY
    if isinstance(t, (Put, Update, Delete)):
        row["frame_id"] = t.frame_id
    elif isinstance(t, PutMany):
        row["frame_ids"] = list(t.frame_ids)
        row["count"] = t.count
    elif isinstance(t, Find):
        row["query"], row["mode"], row["result_count"] = t.query, t.mode, t.result_count
    elif isinstance(t, Ask):
        row["query"], row["provider"], row["model"] = t.query, t.provider, t.model
    elif isinstance(t, CheckpointAction):
        row["checkpoint_id"] = t.checkpoint_id
    elif isinstance(t, ToolCall):
        row["tool_name"], row["args_hash"] = t.name, t.args_hash.hex()
    row["affected_frames"] = list(a.affected_frames)
    row["input_preview"], row["output_preview"] = a.input_preview, a.output_preview
    row["input_hash"], row["output_hash"] = a.input_hash.hex(), a.output_hash.hex()
    row["duration_ms"] = a.duration_ms


def _session_events(rec: SessionRecord, base: Row, frames: FrameLookup | None
                    ) -> Iterator[Row]:
    """The session's rows in its own order: created; each action, followed by the checkpoint
    records it stands for (a Checkpoint action's checkpoint_id; a checkpoint with no such
    action follows the action whose sequence is its at_sequence, else comes last); ended.
    Linear in the session's size."""
    s = rec.session

    def row(event: str, secs: int, **values: Any) -> Row:
        out = {**base, "event": event, "time": secs, "datetime": _iso(secs)}
        out.update(values)
        return out

    def checkpoint_row(cp: Checkpoint) -> Row:
        snap = cp.snapshot
        lex, vec = snap.lex_index_hash, snap.vec_index_hash
        out = row("checkpoint", cp.timestamp_secs, sequence=cp.at_sequence,
                  checkpoint_id=cp.id, state_hash=cp.state_hash.hex(),
                  frame_ids=list(snap.frame_ids), frame_count=snap.frame_count,
                  lex_index_hash=None if lex is None else lex.hex(),
                  vec_index_hash=None if vec is None else vec.hex(),
                  wal_sequence=snap.wal_sequence, generation=snap.generation)
        _fill_frames(out, out["frame_ids"], frames)
        return out

    by_id: dict[int, list[int]] = {}  # checkpoint id -> indexes into s.checkpoints
    for i, cp in enumerate(s.checkpoints):
        by_id.setdefault(cp.id, []).append(i)
    after: dict[int, list[int]] = {}  # action index -> checkpoint indexes to follow it
    claimed: set[int] = set()
    for j, a in enumerate(s.actions):
        if isinstance(a.action_type, CheckpointAction):
            for i in by_id.pop(a.action_type.checkpoint_id, ()):
                after.setdefault(j, []).append(i)
                claimed.add(i)
    at_action = {a.sequence: j for j, a in enumerate(s.actions)}
    tail: list[int] = []
    for i, cp in enumerate(s.checkpoints):
        if i not in claimed:
            k = at_action.get(cp.at_sequence)
            (tail if k is None else after.setdefault(k, [])).append(i)

    yield row("session_created", s.created_secs)
    for j, a in enumerate(s.actions):
        r = row("action", a.timestamp_secs, sequence=a.sequence)
        _action_fields(r, a)
        if isinstance(a.action_type, RESOLVED_ACTIONS):
            _fill_frames(r, r["affected_frames"], frames)
        yield r
        for i in sorted(after.get(j, ())):
            yield checkpoint_row(s.checkpoints[i])
    for i in tail:
        yield checkpoint_row(s.checkpoints[i])
    if s.ended_secs is not None:
        yield row("session_ended", s.ended_secs)


def origin_of(rec: SessionRecord, kind: str) -> tuple[str, CarvedBlock]:
    """(origin, the block that speaks for it): the live block when there is one, else the
    first. origin: live / stale / recovered in a .mv2, else segment or sidecar."""
    block = next((b for b in rec.blocks if b.live), rec.blocks[0])
    if kind == "mv2":
        return _ORIGIN[rec.status], block
    return ("sidecar" if block.kind == "active_session" else "segment"), block


def _rows_of(path: str, data: Data) -> list[Row]:
    kind = file_kind(data)
    frames = frame_context(data, kind)
    rows: list[Row] = []
    for rec in all_sessions(data, carve(data)):
        origin, block = origin_of(rec, kind)
        s = rec.session
        base = {**_EMPTY, "file": path, "file_kind": kind, "block_kind": block.kind,
                "block_offset": block.offset, "block_count": len(rec.blocks),
                "origin": origin, "session_id": str(s.session_id),
                "session_name": s.name}
        rows.extend(_session_events(rec, base, frames))
    for i, r in enumerate(rows):
        r["event_index"] = i
    rows.sort(key=lambda r: r["time"])  # stable: equal times keep the file's order
    return rows


def file_rows(path: str | os.PathLike[str]) -> list[Row]:
    """Every event of every session in one file, ordered by time (stable). OSError propagates.

    The list is one file's worth: decoded sessions are dropped before it is returned."""
    path = os.fspath(path)
    with open_evidence(path) as data:
        return _rows_of(path, data)


# --- many files ------------------------------------------------------------------------------

#: The merge order of a row: (time, input index of its file, its index in the file's order).
_Key: TypeAlias = tuple[int, int, int]


class _Runs:
    """External merge sort: rows are buffered, sorted and spilled to temporary files in runs of
    at most `limit` rows, then merged, so memory stays bounded however many rows there are."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.buffer: list[tuple[_Key, Row]] = []
        self.files: list[IO[bytes]] = []

    def add(self, key: _Key, row: Row) -> None:
        self.buffer.append((key, row))
        if len(self.buffer) >= self.limit:
            self._spill()

    def _spill(self) -> None:
        self.buffer.sort(key=lambda kr: kr[0])
        fh = tempfile.TemporaryFile(prefix="replayfmt-timeline-")
        for item in self.buffer:  # one pickle per row: each load starts from a fresh memo
            pickle.dump(item, fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.seek(0)
        self.files.append(fh)
        self.buffer = []

    @staticmethod
    def _read(fh: IO[bytes]) -> Iterator[tuple[_Key, Row]]:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return

    def merged(self) -> Iterator[Row]:
        self.buffer.sort(key=lambda kr: kr[0])
        try:
            if not self.files:
                for _, row in self.buffer:
                    yield row
                return
            streams = [self._read(fh) for fh in self.files] + [iter(self.buffer)]
            for _, row in heapq.merge(*streams, key=lambda kr: kr[0]):
                yield row
        finally:
            for fh in self.files:
                fh.close()
            self.files = []
            self.buffer = []


def _indexed_rows(task: tuple[int, str]) -> _FileRows:
    index, path = task
    try:
        return index, path, file_rows(path), None
    except OSError as exc:
        return index, path, None, exc


def _per_file(files: list[str], jobs: int) -> Iterator[_FileRows]:
    tasks = list(enumerate(files))
    if jobs > 1 and len(files) > 1 and "-" not in files:
        import multiprocessing

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with multiprocessing.get_context(method).Pool(min(jobs, len(files))) as pool:
            chunk = max(1, min(16, len(files) // (jobs * 8)))
            yield from pool.imap(_indexed_rows, tasks, chunksize=chunk)
    else:
        yield from map(_indexed_rows, tasks)


def iter_timeline(paths: Iterable[str], *, recursive: bool = False, jobs: int = 1,
                  progress: bool | None = False,
                  on_error: Callable[[str, OSError], None] | None = None,
                  buffer_rows: int = 200_000) -> Iterator[Row]:
    """The rows of every file named in `paths` (directories expanded as `batch` does),
    merged in time order; equal times keep input order, then each file's order.

    jobs > 1 reads files in that many processes. progress: a bar on stderr (None: when it is
    a terminal). A file that cannot be read goes to `on_error(path, exc)`, or raises when
    that is None. At most `buffer_rows` rows are held in memory; more are spilled to sorted
    temporary files and merged.
    """
    files = list(iter_inputs(paths, recursive))
    bar = ProgressBar(len(files), enabled=progress)
    runs = _Runs(buffer_rows)
    try:
        for index, path, rows, exc in _per_file(files, jobs):
            bar.update()
            if exc is not None:
                if on_error is None:
                    raise exc
                on_error(path, exc)
                continue
            assert rows is not None  # read without error
            for row in rows:
                runs.add((row["time"], index, row["event_index"]), row)
            del rows
    finally:
        bar.close()
    yield from runs.merged()


# --- writers ---------------------------------------------------------------------------------

def timesketch_row(row: Row) -> dict[str, Any]:
    """A row as Timesketch imports it from JSONL: message, datetime (ISO 8601), timestamp
    (microseconds), timestamp_desc, then every column as an attribute."""
    secs = row["time"]
    out = {"message": _message(row), "datetime": row["datetime"],
           "timestamp": secs * 1_000_000 if row["datetime"] is not None else None,
           "timestamp_desc": _DESC[row["event"]]}
    for k in COLUMNS:
        if k != "datetime":
            out[k] = row[k]
    return out


def _q(text: str | None, limit: int = 120) -> str:
    if text is None:
        return "(unnamed)"
    text = text if len(text) <= limit else text[:limit] + "…"
    return repr(text)


def _message(row: Row) -> str:
    who = f"session {_q(row['session_name'])} ({row['session_id']}) [{row['origin']}]"
    event = row["event"]
    if event == "session_created":
        return f"{who} created"
    if event == "session_ended":
        return f"{who} ended"
    if event == "checkpoint":
        return (f"checkpoint {row['checkpoint_id']} at action {row['sequence']}: "
                f"{row['frame_count']} frame(s); {who}")
    t = row["action_type"]
    if t in ("FIND", "ASK"):
        detail = f"{_q(row['query'])}"
        detail += (f" mode {row['mode']}, {row['result_count']} result(s)" if t == "FIND"
                   else f" model {row['model']}")
    elif t == "TOOL_CALL":
        detail = _q(row["tool_name"])
    elif t == "PUT_MANY":
        detail = f"{row['count']} frame(s)"
    elif t == "CHECKPOINT":
        detail = f"checkpoint {row['checkpoint_id']}"
    else:
        detail = f"frame {row['frame_id']}"
        if row["input_preview"]:
            detail += f" {_q(row['input_preview'], 80)}"
    return f"{t} #{row['sequence']} {detail}; {who}"


_STRLISTS = frozenset(name for name, kind in COLUMN_TYPES if kind == "strlist")


def _csv_cell(value: Any, strlist: bool = False) -> bytes:
    """None: empty and unquoted; numbers: plain; text and lists: always quoted, so an empty
    string ("") and a missing value () stay distinct. Number lists are space-separated; text
    lists (uris, titles: they hold spaces) are a JSON array, nulls as null."""
    if value is None:
        return b""
    if isinstance(value, int):
        return str(value).encode()
    if strlist:
        import orjson

        value = orjson.dumps(value).decode()
    elif isinstance(value, list):
        value = " ".join("" if v is None else str(v) for v in value)
    text: str = value  # a text column's value, or the list as text
    return b'"' + text.encode("utf-8", "surrogatepass").replace(b'"', b'""') + b'"'


def _jsonl(rows: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    import orjson

    n = 0
    for row in rows:
        out.write(orjson.dumps(row) + b"\n")
        n += 1
    return n


def _csv(rows: Iterable[Row], out: IO[bytes]) -> int:
    out.write(b",".join(c.encode() for c in COLUMNS) + b"\r\n")
    n = 0
    for row in rows:
        out.write(b",".join(_csv_cell(row[c], c in _STRLISTS) for c in COLUMNS) + b"\r\n")
        n += 1
    return n


def _timesketch(rows: Iterable[Row], out: IO[bytes]) -> int:
    return _jsonl((timesketch_row(r) for r in rows), out)


def arrow_schema() -> Any:  # a pyarrow.Schema (pyarrow has no type information)
    """The pyarrow schema of the parquet output (uint64 for u64 fields, int64 for times)."""
    import pyarrow as pa  # type: ignore[import-untyped]  # no type information

    types = {"str": pa.string(), "int": pa.int64(), "u64": pa.uint64(),
             "list": pa.list_(pa.uint64()), "strlist": pa.list_(pa.string())}
    return pa.schema([(name, types[t]) for name, t in COLUMN_TYPES])


def _parquet(rows: Iterable[Row], out: IO[bytes], batch_rows: int = 65_536) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq  # type: ignore[import-untyped]  # no type information
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError("parquet output needs pyarrow: pip install 'replayfmt[timeline]'"
                           ) from exc
    schema_ = arrow_schema()
    n = 0
    with pq.ParquetWriter(out, schema_) as writer:
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_rows:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema_))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema_))
            n += len(batch)
    return n


_WRITERS: dict[str, Callable[[Iterable[Row], IO[bytes]], int]] = {
    "jsonl": _jsonl, "csv": _csv, "timesketch": _timesketch, "parquet": _parquet}


def write(rows: Iterable[Row], fmt: str, out: IO[bytes]) -> int:
    """Write rows to the binary stream `out` in `fmt` (one of FORMATS); the number of rows."""
    try:
        writer = _WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown timeline format {fmt!r} (one of {', '.join(FORMATS)})"
                         ) from None
    return writer(rows, out)


# --- fleets on Dask --------------------------------------------------------------------------

class _Partition(list[Row]):
    """A partition's rows. A list subclass, so `distributed` ships it as one pickle instead
    of walking every row dict (which took longer than reading the files)."""

    __slots__ = ()


def _rows_of_files(paths: Iterable[str]) -> _Partition:
    """One Dask partition: the rows of its files, each file's in time order."""
    out = _Partition()
    for path in paths:
        out.extend(file_rows(path))
    return out


def _chunks(files: list[str], npartitions: int | None) -> list[list[str]]:
    if npartitions is None:
        npartitions = max(1, min(len(files), 256, (len(files) + 7) // 8))
    npartitions = max(1, min(npartitions, len(files) or 1))
    size = -(-len(files) // npartitions) if files else 1
    return [files[i:i + size] for i in range(0, len(files), size)] or [[]]


def dask_bag(paths: Iterable[str], *, recursive: bool = False, npartitions: int | None = None
             ) -> db.Bag:
    """A `dask.bag` of the timeline rows of every file in `paths` (directories walked on the
    client, as `batch` does). Each partition runs `file_rows` on its files (about 8 files per
    partition, at most 256 partitions) where Dask runs it: threads, processes, or a
    `distributed` cluster (`Client("tcp://scheduler:8786")`). Rows are in file order, each
    file's in time order; sort on (time, file order, event_index) for the merged timeline."""
    import dask.bag as db

    chunks = _chunks(list(iter_inputs(paths, recursive)), npartitions)
    bag: db.Bag = db.from_sequence(  # type: ignore[no-untyped-call]  # dask: not annotated
        chunks, npartitions=len(chunks))
    flat: db.Bag = bag.map_partitions(_flat_rows)  # type: ignore[no-untyped-call]  # as above
    return flat


def _flat_rows(chunks: Iterable[list[str]]) -> _Partition:
    out = _Partition()
    for chunk in chunks:
        out.extend(_rows_of_files(chunk))
    return out


def _pandas_meta() -> Any:  # a pandas.DataFrame (pandas has no type information here)
    """The empty frame of `COLUMNS`, Arrow-backed with the parquet schema's types (uint64 and
    lists exactly; Dask leaves Arrow dtypes as they are)."""
    import pandas as pd  # type: ignore[import-untyped]  # no type information

    return arrow_schema().empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def _frame(rows: list[Row]) -> Any:  # a pandas.DataFrame
    import pandas as pd
    import pyarrow as pa

    table = pa.Table.from_pylist(rows, schema=arrow_schema())
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _frame_of_files(paths: list[str]) -> Any:  # a pandas.DataFrame
    """One dataframe partition, made where it runs: only the frame travels."""
    return _frame(_rows_of_files(paths))


def to_dask_dataframe(paths: Iterable[str], *, recursive: bool = False,
                      npartitions: int | None = None) -> dd.DataFrame:
    """A `dask.dataframe` with `COLUMNS`, one partition per group of files (as `dask_bag`),
    typed as the parquet output (`arrow_schema`) through pandas' Arrow dtypes: u64 columns
    are uint64, lists are lists, missing values are <NA>."""
    import dask.dataframe as dd

    chunks = _chunks(list(iter_inputs(paths, recursive)), npartitions)
    frame: dd.DataFrame = dd.from_map(  # type: ignore[no-untyped-call]  # dask: not annotated
        _frame_of_files, chunks, meta=_pandas_meta(), enforce_metadata=False)
    return frame
