"""Structural differences between two replay records: what `replayfmt diff` prints.

Records are compared in their readable JSON form (`memvid_json.to_json`), matched by identity
rather than position: sessions by session_id, checkpoints by id, actions by sequence, metadata
by key. Paths use the one path syntax with the key in the brackets, e.g.
``sessions[975394fa-e677-4823-bfae-324927fe558d].actions[3].action_type.query``; a key that
occurs twice on one side gets ``#2``, ``#3``... (``actions[3#2]``). An ActionType whose variant
changed is reported whole, otherwise field by field; other lists (affected_frames, frame_ids)
are compared as whole values. Segment and envelope fields are compared only between records of
the same kind, so a sidecar can be diffed against the segment its session was later saved to.
Nothing here reads bytes: callers decode first.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from . import model as M
from .memvid_json import to_json

__all__ = ["Change", "Diff", "diff_records", "record_kind", "render_text"]

ADDED, REMOVED, CHANGED = "added", "removed", "changed"

#: A record in its readable JSON form, or a part of it (decoded JSON: values of any shape).
JsonDict: TypeAlias = dict[str, Any]
#: What can be compared: a Segment, ActiveSession, ReplaySession, a list of sessions, or None.
Record: TypeAlias = "M.Segment | M.ActiveSession | M.ReplaySession | list[M.ReplaySession] | None"

#: Lists matched by a key field instead of by position.
_KEYED = {"sessions": "session_id", "checkpoints": "id", "actions": "sequence"}


@attrs.frozen
class Change:
    """One difference: `op` is added/removed/changed; old/new are JSON-ready (None if absent)."""

    op: str
    path: str
    old: Any = None
    new: Any = None

    def to_json(self) -> JsonDict:
        out: JsonDict = {"op": self.op, "path": self.path}
        if self.op != ADDED:
            out["old"] = self.old
        if self.op != REMOVED:
            out["new"] = self.new
        return out


@attrs.frozen
class Diff:
    """All differences between record `a` and record `b`, in document order."""

    a_kind: str
    b_kind: str
    changes: tuple[Change, ...]

    @property
    def equal(self) -> bool:
        return not self.changes

    def to_json(self) -> JsonDict:
        """{"equal", "a_kind", "b_kind", "header", "sessions", "changes"}.

        `sessions.changed` holds, per session id, its own field changes and the checkpoints and
        actions added, removed (by id / sequence) and changed (with relative field paths).
        """
        header: list[JsonDict] = []
        sessions: dict[str, list[JsonDict]] = {ADDED: [], REMOVED: [], CHANGED: []}
        per_session: dict[str, JsonDict] = {}
        for ch in self.changes:
            if not ch.path.startswith("sessions["):
                header.append(ch.to_json())
                continue
            key, rest = _split_key(ch.path[len("sessions"):])
            if not rest:
                s = ch.new if ch.op == ADDED else ch.old
                sessions[ch.op].append({"session_id": key, "name": s["name"],
                                        "action_count": len(s["actions"]),
                                        "checkpoint_count": len(s["checkpoints"])})
                continue
            entry = per_session.get(key)
            if entry is None:
                entry = per_session[key] = {
                    "session_id": key, "fields": [],
                    "checkpoints": {ADDED: [], REMOVED: [], CHANGED: []},
                    "actions": {ADDED: [], REMOVED: [], CHANGED: []}}
                sessions[CHANGED].append(entry)
            _file_in_session(entry, ch, rest[1:])
        return {
            "equal": self.equal,
            "a_kind": self.a_kind,
            "b_kind": self.b_kind,
            "header": header,
            "sessions": sessions,
            "changes": [ch.to_json() for ch in self.changes],
        }


def _split_key(s: str) -> tuple[str, str]:
    """'[key].rest' -> ('key', '.rest')."""
    end = s.index("]")
    return s[1:end], s[end + 1:]


def _file_in_session(entry: JsonDict, ch: Change, rel: str) -> None:
    for name, id_field in (("checkpoints", "id"), ("actions", "sequence")):
        if rel.startswith(name + "["):
            key, rest = _split_key(rel[len(name):])
            bucket = entry[name]
            if not rest:
                bucket[ch.op].append(key)
                return
            for item in bucket[CHANGED]:
                if item[id_field] == key:
                    break
            else:
                item = {id_field: key, "fields": []}
                bucket[CHANGED].append(item)
            item["fields"].append(attrs.evolve(ch, path=rest[1:]).to_json())
            return
    entry["fields"].append(attrs.evolve(ch, path=rel).to_json())


def record_kind(record: object) -> str:
    """'segment', 'active_session', 'session', 'sessions' (a list) or 'none' (None)."""
    if isinstance(record, M.Segment):
        return "segment"
    if isinstance(record, M.ActiveSession):
        return "active_session"
    if isinstance(record, M.ReplaySession):
        return "session"
    if isinstance(record, list):
        return "sessions"
    if record is None:
        return "none"
    raise TypeError(f"cannot diff a {type(record).__name__}")


def _document(record: Record) -> JsonDict:
    """The record as {container fields..., "sessions": [session JSON...]}."""
    if isinstance(record, M.Segment):
        return {"version": record.version, "session_count": record.session_count,
                "total_size": record.total_size, "sessions": to_json(record.sessions)}
    if isinstance(record, M.ActiveSession):
        doc: JsonDict = to_json(record)
        session = doc.pop("session")
        return {**doc, "sessions": [session]}
    if isinstance(record, M.ReplaySession):
        return {"sessions": [to_json(record)]}
    if isinstance(record, list):
        return {"sessions": to_json(list(record))}
    return {"sessions": []}


def diff_records(a: Record, b: Record) -> Diff:
    """Differences from `a` to `b`: each a Segment, ActiveSession, ReplaySession, a list of
    sessions, or None (no records, e.g. a .mv2 without a live segment)."""
    ka, kb = record_kind(a), record_kind(b)
    da, db = _document(a), _document(b)
    if ka != kb:
        da, db = {"sessions": da["sessions"]}, {"sessions": db["sessions"]}
    out: list[Change] = []
    _diff_dict(da, db, "", out)
    return Diff(ka, kb, tuple(out))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _diff_value(a: Any, b: Any, path: str, out: list[Change]) -> None:
    if a == b and type(a) is type(b):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        if "type" in a and "type" in b and a["type"] != b["type"]:  # ActionType variant
            out.append(Change(CHANGED, path, a, b))
        else:
            _diff_dict(a, b, path, out)
        return
    out.append(Change(CHANGED, path, a, b))


def _diff_dict(a: JsonDict, b: JsonDict, path: str, out: list[Change]) -> None:
    for name in list(a) + [k for k in b if k not in a]:
        where = _join(path, name)
        if name not in b:
            out.append(Change(REMOVED, where, a[name], None))
        elif name not in a:
            out.append(Change(ADDED, where, None, b[name]))
        elif name in _KEYED and isinstance(a[name], list) and isinstance(b[name], list):
            _diff_keyed(a[name], b[name], _KEYED[name], where, out)
        elif name == "metadata" and isinstance(a[name], dict):
            _diff_metadata(a[name], b[name], where, out)
        else:
            _diff_value(a[name], b[name], where, out)


def _diff_metadata(a: JsonDict, b: JsonDict, path: str, out: list[Change]) -> None:
    for key in list(a) + [k for k in b if k not in a]:
        where = f"{path}[{_quote(key)}]"
        if key not in b:
            out.append(Change(REMOVED, where, a[key], None))
        elif key not in a:
            out.append(Change(ADDED, where, None, b[key]))
        elif a[key] != b[key]:
            out.append(Change(CHANGED, where, a[key], b[key]))


def _quote(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _keyed(items: list[JsonDict], field: str) -> dict[str, JsonDict]:
    out: dict[str, JsonDict] = {}
    seen: dict[Any, int] = {}
    for item in items:
        k = item[field]
        seen[k] = seen.get(k, 0) + 1
        out[str(k) if seen[k] == 1 else f"{k}#{seen[k]}"] = item
    return out


def _diff_keyed(a: list[JsonDict], b: list[JsonDict], field: str, path: str,
                out: list[Change]) -> None:
    ka, kb = _keyed(a, field), _keyed(b, field)
    for key in list(ka) + [k for k in kb if k not in ka]:
        where = f"{path}[{key}]"
        if key not in kb:
            out.append(Change(REMOVED, where, ka[key], None))
        elif key not in ka:
            out.append(Change(ADDED, where, None, kb[key]))
        else:
            _diff_dict(ka[key], kb[key], where, out)


# --- text ------------------------------------------------------------------------------------

_SIGN = {ADDED: "+", REMOVED: "-", CHANGED: "~"}


def _short(value: Any, limit: int = 72) -> str:
    import orjson
    text = orjson.dumps(value).decode()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _summary(value: Any) -> str:
    """One line for an added or removed session, checkpoint or action."""
    if isinstance(value, dict) and "action_type" in value:
        at = dict(value["action_type"])
        kind = at.pop("type")
        return f"{kind} {_short(at, 60)}"
    if isinstance(value, dict) and "session_id" in value:
        name = "(unnamed)" if value["name"] is None else _short(value["name"], 40)
        return (f"{name}, {len(value['actions'])} actions, "
                f"{len(value['checkpoints'])} checkpoints")
    if isinstance(value, dict) and "at_sequence" in value:
        return f"at_sequence {value['at_sequence']}"
    return _short(value)


def render_text(d: Diff, a_name: str = "a", b_name: str = "b") -> str:
    """The diff for people: one line per change (+ added, - removed, ~ changed)."""
    from .text import escape

    lines = [f"--- {a_name} ({d.a_kind})", f"+++ {b_name} ({d.b_kind})"]
    if d.a_kind != d.b_kind:
        lines.append("  (different kinds: only the sessions are compared)")
    for ch in d.changes:
        if ch.op == CHANGED:
            lines.append(f"~ {ch.path}: {_short(ch.old)} -> {_short(ch.new)}")
        else:
            value = ch.new if ch.op == ADDED else ch.old
            lines.append(f"{_SIGN[ch.op]} {ch.path}  {_summary(value)}")
    if d.equal:
        lines.append("no differences")
    else:
        s = d.to_json()["sessions"]
        lines.append(f"{len(d.changes)} difference(s); sessions: {len(s[ADDED])} added, "
                     f"{len(s[REMOVED])} removed, {len(s[CHANGED])} changed")
    # One change per line: what a file holds (a metadata key with a line feed or an escape
    # sequence) is shown escaped, never as a line break or a terminal control.
    return "\n".join(escape(line) for line in lines) + "\n"
