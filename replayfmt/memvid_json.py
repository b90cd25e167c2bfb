"""model <-> JSON: memvid's serde JSON (byte-identical to its CLI) and replayfmt's readable JSON.

memvid JSON is what `memvid session view --format json` prints: serde's default shapes, so
ActionType is externally tagged (`{"Put": {"frame_id": 2}}`), `[u8; 32]` is a list of 32 ints,
Uuid is the hyphenated string, Option is null or the value. `dumps_memvid` renders it exactly
as serde_json's pretty printer does (two-space indent, trailing newline from println!).

The readable form (`to_json`) differs only where people read: hashes are lowercase hex strings
and ActionType is `{"type": "Find", ...fields}`. `from_json` reads either form.
Nothing binary lives here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NoReturn, Protocol, TypeVar

import orjson

from . import model as M

__all__ = ["to_memvid_json", "from_memvid_json", "to_json", "from_json", "dumps_memvid",
           "dumps", "loads", "JSONShapeError"]


class JSONShapeError(ValueError):
    """JSON that does not have the shape of a replay record; `.path` says where."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or '<root>'}: {reason}")
        self.path = path
        self.reason = reason


# --- model -> JSON ---------------------------------------------------------------------------

#: A JSON object.
_Obj = dict[str, Any]
_T = TypeVar("_T")


class _Shapes(Protocol):
    """How hashes and ActionType variants are written (`_Serde`, `_Readable`)."""

    @staticmethod
    def hash(b: bytes) -> Any: ...

    @staticmethod
    def variant(v: M.ActionType) -> _Obj: ...


def _session(s: M.ReplaySession, h: type[_Shapes]) -> _Obj:
    return {
        "session_id": str(s.session_id),
        "name": s.name,
        "created_secs": s.created_secs,
        "ended_secs": s.ended_secs,
        "checkpoints": [_checkpoint(c, h) for c in s.checkpoints],
        "actions": [_action(a, h) for a in s.actions],
        "metadata": dict(s.metadata),
        "version": s.version,
    }


def _action(a: M.ReplayAction, h: type[_Shapes]) -> _Obj:
    return {
        "sequence": a.sequence,
        "timestamp_secs": a.timestamp_secs,
        "action_type": h.variant(a.action_type),
        "input_hash": h.hash(a.input_hash),
        "output_hash": h.hash(a.output_hash),
        "input_preview": a.input_preview,
        "output_preview": a.output_preview,
        "affected_frames": list(a.affected_frames),
        "duration_ms": a.duration_ms,
    }


def _variant_fields(v: M.ActionType, h: type[_Shapes]) -> _Obj:
    out = {}
    for f in v.__attrs_attrs__:
        value = getattr(v, f.name)
        if isinstance(value, bytes):
            value = h.hash(value)
        elif isinstance(value, list):
            value = list(value)
        out[f.name] = value
    return out


def _snapshot(s: M.StateSnapshot, h: type[_Shapes]) -> _Obj:
    return {
        "frame_count": s.frame_count,
        "frame_ids": list(s.frame_ids),
        "lex_index_hash": None if s.lex_index_hash is None else h.hash(s.lex_index_hash),
        "vec_index_hash": None if s.vec_index_hash is None else h.hash(s.vec_index_hash),
        "wal_sequence": s.wal_sequence,
        "generation": s.generation,
    }


def _checkpoint(c: M.Checkpoint, h: type[_Shapes]) -> _Obj:
    return {
        "id": c.id,
        "at_sequence": c.at_sequence,
        "timestamp_secs": c.timestamp_secs,
        "state_hash": h.hash(c.state_hash),
        "snapshot": _snapshot(c.snapshot, h),
    }


def _config(c: M.ReplayConfig) -> _Obj:
    return {
        "auto_checkpoint_interval": c.auto_checkpoint_interval,
        "max_actions_per_session": c.max_actions_per_session,
        "auto_record": c.auto_record,
    }


def _active(a: M.ActiveSession, h: type[_Shapes]) -> _Obj:
    return {
        "session": _session(a.session, h),
        "next_checkpoint_id": a.next_checkpoint_id,
        "actions_since_checkpoint": a.actions_since_checkpoint,
        "config": _config(a.config),
    }


class _Serde:
    """memvid's serde shapes."""

    @staticmethod
    def hash(b: bytes) -> list[int]:
        return list(b)

    @staticmethod
    def variant(v: M.ActionType) -> _Obj:
        return {v.VARIANT: _variant_fields(v, _Serde)}


class _Readable:
    """replayfmt's readable shapes."""

    @staticmethod
    def hash(b: bytes) -> str:
        return b.hex()

    @staticmethod
    def variant(v: M.ActionType) -> _Obj:
        return {"type": v.VARIANT, **_variant_fields(v, _Readable)}


def _to(obj: object, h: type[_Shapes]) -> Any:
    if isinstance(obj, M.ReplaySession):
        return _session(obj, h)
    if isinstance(obj, M.ActiveSession):
        return _active(obj, h)
    if isinstance(obj, M.Segment):
        return {"version": obj.version, "session_count": obj.session_count,
                "total_size": obj.total_size, "sessions": [_session(s, h) for s in obj.sessions]}
    if isinstance(obj, M.ReplayAction):
        return _action(obj, h)
    if isinstance(obj, M.Checkpoint):
        return _checkpoint(obj, h)
    if isinstance(obj, M.StateSnapshot):
        return _snapshot(obj, h)
    if isinstance(obj, M.ReplayConfig):
        return _config(obj)
    if isinstance(obj, M.VARIANTS):
        return h.variant(obj)
    if isinstance(obj, (M.ReplayManifest, M.SegmentHeader)):
        return {f.name: (getattr(obj, f.name).decode("latin-1")
                         if isinstance(getattr(obj, f.name), bytes) else getattr(obj, f.name))
                for f in obj.__attrs_attrs__}
    if isinstance(obj, list):
        return [_to(x, h) for x in obj]
    raise TypeError(f"no JSON form for {type(obj).__name__}")


def to_memvid_json(obj: object) -> Any:
    """The JSON-ready value equal to memvid's serde JSON of `obj`.

    ReplaySession, ActiveSession, ReplayAction, Checkpoint, StateSnapshot, ReplayConfig and
    variants map exactly to memvid's types; a Segment (no memvid type) becomes
    {"version", "session_count", "total_size", "sessions": [...]}; a list maps item by item.
    """
    return _to(obj, _Serde)


def to_json(obj: object) -> Any:
    """replayfmt's readable JSON: hex hashes, ActionType as {"type": name, ...fields}."""
    return _to(obj, _Readable)


def dumps_memvid(obj: object) -> bytes:
    """Text identical to memvid's `--format json` output for `obj` (serde_json pretty + \\n)."""
    return orjson.dumps(to_memvid_json(obj), option=orjson.OPT_INDENT_2) + b"\n"


def dumps(value: Any) -> bytes:
    """Pretty JSON text for an already JSON-ready value."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n"


def loads(text: bytes | str) -> Any:
    """JSON text -> value, every integer exact.

    orjson reads an integer beyond the 64-bit range as a float, so a field given 2**64 would
    be reported as "got float". No record holds a float: text in which orjson finds one is
    read again with the standard library, whose integers are exact (and a float stays a
    float). Raises ValueError (orjson.JSONDecodeError) for text that is not JSON."""
    value = orjson.loads(text)
    if _has_float(value):
        import json

        value = json.loads(text)
    return value


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float):
            return True
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


# --- JSON -> model ---------------------------------------------------------------------------

class _Reader:
    def __init__(self, path: str = "") -> None:
        self.path = path

    def fail(self, path: str, reason: str) -> NoReturn:
        raise JSONShapeError(path.lstrip("."), reason)

    def obj(self, v: Any, path: str, keys: tuple[str, ...]) -> _Obj:
        if not isinstance(v, dict):
            self.fail(path, f"expected an object, got {type(v).__name__}")
        missing = [k for k in keys if k not in v]
        extra = [k for k in v if k not in keys]
        if missing:
            self.fail(path, f"missing field(s) {', '.join(missing)}")
        if extra:
            self.fail(path, f"unknown field(s) {', '.join(extra)}")
        return v

    def hash(self, v: Any, path: str) -> bytes:
        if isinstance(v, str):
            try:
                out = bytes.fromhex(v)
            except ValueError:
                self.fail(path, "not a hex string")
        elif isinstance(v, list) and all(type(x) is int and 0 <= x <= 255 for x in v):
            out = bytes(v)
        else:
            self.fail(path, "expected a list of 32 ints 0..255 (or 64 hex digits)")
        if len(out) != 32:
            self.fail(path, f"expected 32 bytes, got {len(out)}")
        return out

    def opt_hash(self, v: Any, path: str) -> bytes | None:
        return None if v is None else self.hash(v, path)

    def build(self, cls: type[_T], path: str, **kw: Any) -> _T:
        try:
            return cls(**kw)
        except (TypeError, ValueError) as exc:
            self.fail(path, str(exc))

    def variant(self, v: Any, path: str) -> M.ActionType:
        if isinstance(v, dict) and "type" in v:  # readable form
            name = v["type"]
            fields = {k: x for k, x in v.items() if k != "type"}
            if not isinstance(name, str):
                self.fail(f"{path}.type", f"expected a variant name, got {type(name).__name__}")
        elif isinstance(v, dict) and len(v) == 1:
            (name, fields), = v.items()
        else:
            self.fail(path, 'expected {"Variant": {...}} or {"type": "Variant", ...}')
        cls = M.VARIANTS_BY_NAME.get(name)
        if cls is None:
            self.fail(path, f"unknown ActionType variant {name!r}")
        names = tuple(f.name for f in cls.__attrs_attrs__)
        sub = f"{path}.{name}"
        self.obj(fields, sub, names)
        kw: _Obj = {}
        for f in cls.__attrs_attrs__:
            value = fields[f.name]
            if f.name.endswith("_hash"):
                value = self.hash(value, f"{sub}.{f.name}")
            kw[f.name] = value
        return self.build(cls, sub, **kw)

    def action(self, v: Any, path: str) -> M.ReplayAction:
        v = self.obj(v, path, _ACTION_KEYS)
        return self.build(
            M.ReplayAction, path,
            sequence=v["sequence"], timestamp_secs=v["timestamp_secs"],
            action_type=self.variant(v["action_type"], f"{path}.action_type"),
            input_hash=self.hash(v["input_hash"], f"{path}.input_hash"),
            output_hash=self.hash(v["output_hash"], f"{path}.output_hash"),
            input_preview=v["input_preview"], output_preview=v["output_preview"],
            affected_frames=v["affected_frames"], duration_ms=v["duration_ms"])

    def snapshot(self, v: Any, path: str) -> M.StateSnapshot:
        v = self.obj(v, path, _SNAPSHOT_KEYS)
        return self.build(
            M.StateSnapshot, path, frame_count=v["frame_count"], frame_ids=v["frame_ids"],
            lex_index_hash=self.opt_hash(v["lex_index_hash"], f"{path}.lex_index_hash"),
            vec_index_hash=self.opt_hash(v["vec_index_hash"], f"{path}.vec_index_hash"),
            wal_sequence=v["wal_sequence"], generation=v["generation"])

    def checkpoint(self, v: Any, path: str) -> M.Checkpoint:
        v = self.obj(v, path, _CHECKPOINT_KEYS)
        return self.build(
            M.Checkpoint, path, id=v["id"], at_sequence=v["at_sequence"],
            timestamp_secs=v["timestamp_secs"],
            state_hash=self.hash(v["state_hash"], f"{path}.state_hash"),
            snapshot=self.snapshot(v["snapshot"], f"{path}.snapshot"))

    def session(self, v: Any, path: str) -> M.ReplaySession:
        v = self.obj(v, path, _SESSION_KEYS)
        try:
            sid = uuid.UUID(v["session_id"])
        except (TypeError, ValueError, AttributeError):
            self.fail(f"{path}.session_id", "expected a UUID string")
        checkpoints = self.seq(v["checkpoints"], f"{path}.checkpoints", self.checkpoint)
        actions = self.seq(v["actions"], f"{path}.actions", self.action)
        return self.build(
            M.ReplaySession, path, session_id=sid, name=v["name"],
            created_secs=v["created_secs"], ended_secs=v["ended_secs"],
            checkpoints=checkpoints, actions=actions, metadata=v["metadata"],
            version=v["version"])

    def seq(self, v: Any, path: str, item: Callable[[Any, str], _T]) -> list[_T]:
        if not isinstance(v, list):
            self.fail(path, f"expected a list, got {type(v).__name__}")
        return [item(x, f"{path}[{i}]") for i, x in enumerate(v)]

    def config(self, v: Any, path: str) -> M.ReplayConfig:
        v = self.obj(v, path, _CONFIG_KEYS)
        return self.build(M.ReplayConfig, path, **v)

    def active(self, v: Any, path: str) -> M.ActiveSession:
        v = self.obj(v, path, _ACTIVE_KEYS)
        return self.build(
            M.ActiveSession, path, session=self.session(v["session"], f"{path}.session"),
            next_checkpoint_id=v["next_checkpoint_id"],
            actions_since_checkpoint=v["actions_since_checkpoint"],
            config=self.config(v["config"], f"{path}.config"))

    def segment(self, v: Any, path: str) -> M.Segment:
        v = self.obj(v, path, _SEGMENT_KEYS)
        sessions = self.seq(v["sessions"], f"{path}.sessions", self.session)
        return self.build(M.Segment, path, version=v["version"],
                          session_count=v["session_count"], total_size=v["total_size"],
                          sessions=sessions)


_ACTION_KEYS = tuple(f.name for f in M.ReplayAction.__attrs_attrs__)
_SNAPSHOT_KEYS = tuple(f.name for f in M.StateSnapshot.__attrs_attrs__)
_CHECKPOINT_KEYS = tuple(f.name for f in M.Checkpoint.__attrs_attrs__)
_SESSION_KEYS = tuple(f.name for f in M.ReplaySession.__attrs_attrs__)
_CONFIG_KEYS = tuple(f.name for f in M.ReplayConfig.__attrs_attrs__)
_ACTIVE_KEYS = tuple(f.name for f in M.ActiveSession.__attrs_attrs__)
_SEGMENT_KEYS = tuple(f.name for f in M.Segment.__attrs_attrs__)

KINDS = ("segment", "session", "active_session", "action", "checkpoint", "sessions")


def guess_kind(value: Any) -> str:
    """Which record a JSON value holds, from its keys."""
    if isinstance(value, list):
        return "sessions"
    if isinstance(value, dict):
        keys = set(value)
        for kind, names in (("segment", _SEGMENT_KEYS), ("active_session", _ACTIVE_KEYS),
                            ("session", _SESSION_KEYS), ("action", _ACTION_KEYS),
                            ("checkpoint", _CHECKPOINT_KEYS)):
            if keys == set(names):
                return kind
    raise JSONShapeError("", "not a segment, session, active session, action or checkpoint")


def from_json(value: Any, kind: str | None = None) -> Any:
    """Model from memvid JSON or the readable form; `kind` is guessed from the keys if None.

    Kinds: segment, session, active_session, action, checkpoint, sessions (a list of sessions).
    Raises JSONShapeError (a ValueError) with the path of the first bad field.
    """
    kind = kind or guess_kind(value)
    r = _Reader()
    if kind == "segment":
        return r.segment(value, "")
    if kind == "session":
        return r.session(value, "")
    if kind == "active_session":
        return r.active(value, "")
    if kind == "action":
        return r.action(value, "")
    if kind == "checkpoint":
        return r.checkpoint(value, "")
    if kind == "sessions":
        return r.seq(value, "", r.session)
    raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")


from_memvid_json = from_json
