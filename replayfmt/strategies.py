"""Hypothesis strategies for every record and both containers, for our tests and for users.

Model strategies: `actions()`, `checkpoints()`, `sessions()`, `active_sessions()`, `segments()`;
encodings: `segment_bytes()`, `active_session_bytes()`; `.mv2` TOCs: `toc_values(layout)`
(values in the generated container codec's shape, NaNs with any payload included). Ranges are
explicit (never `st.builds` over the attrs classes, which ignores their range validators) and
biased towards the boundaries that break codecs (0, 2^32-1, 2^63-1, 2^64-1, i64 min).

`realistic=True` mimics what the memvid CLI writes: sequence 0..n-1, timestamps within the
session, previews of at most 512 characters without control characters other than \\n and \\t,
Find.mode "Tantivy", checkpoint state hashes that match their snapshots, one session per
segment, empty metadata, duration_ms 0.

Near-valid inputs: `malformed_segment_bytes()` / `malformed_active_session_bytes()` yield
`(bytes, expected ErrorKind, expected offset)` made by one structure-aware corruption of a
valid encoding (see `replayfmt.fuzz.malform`): truncation inside any field, length bombs
(2^62, 2^64-1), bad Option/bool tags, unknown variants, invalid UTF-8, session_count and
total_size mismatches, trailing bytes, bad magic or version.

Importing this module registers the record strategies with `st.from_type`, so
`st.from_type(ReplaySession)` works (non-realistic ranges).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable
from functools import partial
from typing import Any, Literal

try:
    from hypothesis import assume
    from hypothesis import strategies as st
    from hypothesis.strategies import DrawFn, SearchStrategy
except ImportError as exc:  # the test extra is not installed
    raise ModuleNotFoundError(
        "replayfmt.strategies needs hypothesis, from replayfmt's test extra: "
        "pip install 'replayfmt[test]' (or pip install hypothesis)", name="hypothesis"
    ) from exc

from . import model as M
from .codec import build_active_session, build_segment, snapshot_state_hash
from .fuzz import MALFORMATIONS, applicable, malform

__all__ = [
    "u32s", "u64s", "i64s", "hashes", "texts", "action_types", "actions", "snapshots",
    "checkpoints", "sessions", "replay_configs", "active_sessions", "segments",
    "segment_bytes", "active_session_bytes", "malformed_segment_bytes",
    "malformed_active_session_bytes", "MALFORMATIONS", "toc_values",
]

u32s = st.one_of(st.sampled_from([0, 1, 255, 256, 2**16, M.U32_MAX]),
                 st.integers(0, M.U32_MAX))
u64s = st.one_of(st.sampled_from([0, 1, 250, 251, 2**16, 2**32 - 1, 2**32, 2**63 - 1, M.U64_MAX]),
                 st.integers(0, M.U64_MAX))
i64s = st.one_of(st.sampled_from([0, -1, 1, M.I64_MIN, M.I64_MAX, 1_795_629_225]),
                 st.integers(M.I64_MIN, M.I64_MAX))
hashes = st.one_of(st.just(M.ZERO_HASH), st.just(M.OVERSIZE_HASH),
                   st.binary(min_size=32, max_size=32))
#: Any Unicode text that UTF-8 can carry (no lone surrogates), non-ASCII and controls included.
texts = st.text(max_size=40)
_preview_chars = st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t")
#: What memvid's preview sanitiser can produce: <= 512 chars, no controls but \n and \t.
previews = st.text(alphabet=_preview_chars, max_size=512)
uuids = st.uuids() | st.sampled_from([uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)])


def _u64_lists(max_size: int) -> SearchStrategy[list[int]]:
    return st.lists(u64s, max_size=max_size)


def _texts(max_text: int | None) -> SearchStrategy[str]:
    """Free text, at most `max_text` characters (default 40)."""
    return texts if max_text is None else st.text(max_size=max_text)


def _previews(max_text: int | None) -> SearchStrategy[str]:
    """Sanitised previews, at most min(`max_text`, 512) characters."""
    if max_text is None or max_text >= 512:
        return previews
    return st.text(alphabet=_preview_chars, max_size=max_text)


def action_types(realistic: bool = False, *, max_text: int | None = None, max_frames: int = 8
                 ) -> SearchStrategy[M.ActionType]:
    """One ActionType variant value (the CLI records only Put, Find, Ask, Checkpoint)."""
    texts, previews = _texts(max_text), _previews(max_text)
    put = st.builds(M.Put, frame_id=u64s)
    find = st.builds(M.Find, query=previews if realistic else texts,
                     mode=st.just("Tantivy") if realistic else texts, result_count=u64s)
    ask = st.builds(M.Ask, query=texts, provider=texts, model=texts)
    cp = st.builds(M.CheckpointAction, checkpoint_id=u64s)
    if realistic:
        return st.one_of(put, find, ask)
    return st.one_of(
        put, find, ask, cp,
        st.builds(M.PutMany, frame_ids=_u64_lists(max_frames), count=u64s),
        st.builds(M.Update, frame_id=u64s),
        st.builds(M.Delete, frame_id=u64s),
        st.builds(M.ToolCall, name=texts, args_hash=hashes),
    )


@st.composite
def actions(draw: DrawFn, *, realistic: bool = False, sequence: int | None = None,
            timestamps: SearchStrategy[int] | None = None, max_frames: int = 8,
            max_text: int | None = None) -> M.ReplayAction:
    """One ReplayAction. `sequence`/`timestamps` pin fields (used by `sessions`).

    Bounds: `max_frames` (affected_frames, PutMany.frame_ids), `max_text` (characters per
    string; default 40 for free text, 512 for realistic previews).
    """
    texts, previews = _texts(max_text), _previews(max_text)
    at = draw(action_types(realistic, max_text=max_text, max_frames=max_frames))
    frames = draw(_u64_lists(max_frames))
    if realistic:
        if isinstance(at, M.Put):
            frames = [at.frame_id]
        elif isinstance(at, M.Find):
            at = M.Find(at.query, at.mode, len(frames))
    return M.ReplayAction(
        sequence=draw(u64s) if sequence is None else sequence,
        timestamp_secs=draw(timestamps if timestamps is not None else i64s),
        action_type=at,
        input_hash=draw(hashes),
        output_hash=M.ZERO_HASH if realistic and not isinstance(at, M.Ask) else draw(hashes),
        input_preview=draw(previews if realistic else texts),
        output_preview="" if realistic and not isinstance(at, M.Ask)
        else draw(previews if realistic else texts),
        affected_frames=frames,
        duration_ms=0 if realistic else draw(u64s),
    )


snapshots = st.builds(
    M.StateSnapshot, frame_count=u64s, frame_ids=_u64_lists(8),
    lex_index_hash=st.none() | hashes, vec_index_hash=st.none() | hashes,
    wal_sequence=u64s, generation=u64s)


@st.composite
def checkpoints(draw: DrawFn, *, realistic: bool = False, id: int | None = None,
                at_sequence: int | None = None, timestamps: SearchStrategy[int] | None = None
                ) -> M.Checkpoint:
    snap = draw(snapshots)
    return M.Checkpoint(
        id=draw(u64s) if id is None else id,
        at_sequence=draw(u64s) if at_sequence is None else at_sequence,
        timestamp_secs=draw(timestamps if timestamps is not None else i64s),
        state_hash=snapshot_state_hash(snap) if realistic else draw(hashes),
        snapshot=snap,
    )


@st.composite
def sessions(draw: DrawFn, *, realistic: bool = False, max_actions: int = 6,
             max_checkpoints: int = 3, ended: bool | None = None, max_text: int | None = None,
             max_frames: int = 8) -> M.ReplaySession:
    """One ReplaySession; realistic ones keep memvid's invariants."""
    texts, previews = _texts(max_text), _previews(max_text)
    act: dict[str, Any] = dict(max_text=max_text, max_frames=max_frames)
    if not realistic:
        return M.ReplaySession(
            session_id=draw(uuids), name=draw(st.none() | texts), created_secs=draw(i64s),
            ended_secs=draw(st.none() | i64s),
            checkpoints=draw(st.lists(checkpoints(), max_size=max_checkpoints)),
            actions=draw(st.lists(actions(**act), max_size=max_actions)),
            metadata=draw(st.dictionaries(texts, texts, max_size=4)),
            version=draw(u32s))
    created = draw(st.integers(0, 2**40))
    span = draw(st.integers(0, 10_000))
    is_ended = draw(st.booleans()) if ended is None else ended
    stamps = st.integers(created, created + span)
    n = draw(st.integers(0, max_actions))
    acts = [draw(actions(realistic=True, sequence=i, timestamps=stamps, **act))
            for i in range(n)]
    cps = []
    for k in range(draw(st.integers(0, min(max_checkpoints, n)))):
        at = draw(st.integers(0, max(n - 1, 0)))
        cps.append(draw(checkpoints(realistic=True, id=k, at_sequence=at, timestamps=stamps)))
    return M.ReplaySession(
        session_id=draw(st.uuids()), name=draw(st.none() | previews), created_secs=created,
        ended_secs=created + span if is_ended else None, checkpoints=cps, actions=acts,
        metadata={}, version=1)


replay_configs = st.builds(M.ReplayConfig, auto_checkpoint_interval=u64s,
                           max_actions_per_session=st.none() | u64s, auto_record=st.booleans())


@st.composite
def active_sessions(draw: DrawFn, *, realistic: bool = False, max_actions: int = 6,
                    max_text: int | None = None) -> M.ActiveSession:
    """One ActiveSession (the sidecar's record); realistic ones as `session start` makes them."""
    s = draw(sessions(realistic=realistic, max_actions=max_actions,
                      ended=False if realistic else None, max_text=max_text))
    if realistic:
        return M.ActiveSession(
            session=s, next_checkpoint_id=len(s.checkpoints),
            actions_since_checkpoint=draw(st.integers(0, len(s.actions))),
            config=M.ReplayConfig(draw(st.integers(0, 10)), None, False))
    return M.ActiveSession(session=s, next_checkpoint_id=draw(u64s),
                           actions_since_checkpoint=draw(u64s), config=draw(replay_configs))


@st.composite
def segments(draw: DrawFn, *, realistic: bool = False, max_sessions: int = 3,
             max_actions: int = 6, max_text: int | None = None) -> M.Segment:
    """A Segment value whose header fields match its sessions (as build_segment writes them)."""
    if realistic:
        ss = [draw(sessions(realistic=True, max_actions=max_actions, ended=True,
                            max_text=max_text))]
    else:
        ss = draw(st.lists(sessions(max_actions=max_actions, max_text=max_text),
                           max_size=max_sessions))
    data = build_segment(ss)
    return M.Segment(version=1, session_count=len(ss), total_size=len(data), sessions=ss)


def segment_bytes(*, realistic: bool = False, max_sessions: int = 3, max_actions: int = 6,
                  max_text: int | None = None) -> SearchStrategy[bytes]:
    """Valid segment encodings."""
    return segments(realistic=realistic, max_sessions=max_sessions, max_actions=max_actions,
                    max_text=max_text).map(lambda seg: build_segment(seg.sessions))


def active_session_bytes(*, realistic: bool = False, max_actions: int = 6,
                         max_text: int | None = None) -> SearchStrategy[bytes]:
    """Valid `MV2ACTIV` envelope encodings."""
    return active_sessions(realistic=realistic, max_actions=max_actions,
                           max_text=max_text).map(build_active_session)


# --- near-valid inputs ---------------------------------------------------------------------


@st.composite
def _malformed(draw: DrawFn, valid: SearchStrategy[bytes], how: str | Iterable[str] | None
               ) -> tuple[bytes, str, int]:
    data = draw(valid)
    names = applicable(data)
    if how is not None:
        wanted = [how] if isinstance(how, str) else list(how)
        unknown = set(wanted) - set(MALFORMATIONS)
        if unknown:
            raise ValueError(f"unknown malformation(s): {sorted(unknown)}")
        names = [n for n in names if n in wanted]
    assume(names)
    name = draw(st.sampled_from(names))
    bad = malform(data, draw(st.randoms(use_true_random=False)), name)
    return bad.data, bad.kind, bad.offset




def malformed_segment_bytes(*, realistic: bool = False, how: str | Iterable[str] | None = None,
                            max_sessions: int = 3, max_actions: int = 6
                            ) -> SearchStrategy[tuple[bytes, str, int]]:
    """(bytes, ErrorKind, offset): a valid segment with one structural corruption.

    `how` restricts the corruption to one name or a list of names from `MALFORMATIONS`
    (truncate_inside, truncate_raw, length_bomb, bad_tag, unknown_variant, bad_utf8,
    count_mismatch, size_mismatch, trailing_bytes, bad_header). parse_segment must raise
    ReplayFormatError with exactly that kind and offset.
    """
    return _malformed(segment_bytes(realistic=realistic, max_sessions=max_sessions,
                                    max_actions=max_actions), how)


def malformed_active_session_bytes(*, realistic: bool = False,
                                   how: str | Iterable[str] | None = None,
                                   max_actions: int = 6) -> SearchStrategy[tuple[bytes, str, int]]:
    """(bytes, ErrorKind, offset) for `MV2ACTIV` envelopes; see malformed_segment_bytes."""
    return _malformed(active_session_bytes(realistic=realistic, max_actions=max_actions), how)


def _nan(fmt: str, payload: int) -> float:
    """A NaN of width `fmt` ("f" or "d") whose payload bits are `payload` (never 0)."""
    from . import _generated_toc as GT

    width = struct.calcsize("<" + fmt)
    exp = (0xFF << 23) if width == 4 else (0x7FF << 52)
    mask = (1 << 23) - 1 if width == 4 else (1 << 52) - 1
    sign = payload >> (23 if width == 4 else 52) & 1
    bits = (sign << (width * 8 - 1)) | exp | (payload & mask or 1)
    raw = bits.to_bytes(width, "little")
    x = GT.NaN(struct.unpack("<" + fmt, raw)[0])
    x.raw = raw
    return x


def _container(node: Any, hint: str = "", max_items: int = 2) -> SearchStrategy[Any]:
    """A strategy for one value of the container schema node `node`."""
    from construct import Bytes, Const, FormatField, Renamed, Struct

    from . import schema as S

    while isinstance(node, Renamed):
        node = node.subcon
    if isinstance(node, FormatField):
        fmt = node.fmtstr[1:]
        if fmt in ("f", "d"):
            bits: Literal[32, 64] = 32 if fmt == "f" else 64
            return st.floats(width=bits, allow_nan=False) | st.integers(0, 2**53).map(
                partial(_nan, fmt))
        size = struct.calcsize("<" + fmt) * 8
        if fmt.islower():
            return st.integers(-(2 ** (size - 1)), 2 ** (size - 1) - 1)
        return st.integers(0, 2**size - 1)
    if isinstance(node, Bytes):
        return st.binary(min_size=node.length, max_size=node.length)
    if isinstance(node, Const):
        return st.just(node.value)
    if isinstance(node, S.String):
        return texts
    if isinstance(node, S.Bool):
        return st.booleans()
    if isinstance(node, S.Uuid):
        return uuids
    if isinstance(node, S.Option):
        return st.none() | _container(node.subcon, hint, max_items)
    if isinstance(node, S.Vec):
        return st.lists(_container(node.subcon, hint, max_items), max_size=max_items)
    if isinstance(node, S.Map):
        return st.dictionaries(_container(node.key), _container(node.value), max_size=max_items)
    if isinstance(node, S.Enum):
        return st.sampled_from([name for name, _ in node.variants])
    if isinstance(node, Struct):
        return st.fixed_dictionaries({sub.name: _container(sub.subcon, sub.name, max_items)
                                      for sub in node.subcons})
    raise TypeError(f"no strategy for {type(node).__name__}")


def toc_values(layout: str = "current", max_items: int = 2) -> SearchStrategy[dict[str, Any]]:
    """TOC values of `layout` (a name of `schema.TOC_LAYOUTS`) in the shape the generated
    container codec decodes to and encodes from (dicts; unit enums as variant names; any f32/f64
    NaN carries its bytes). Lists and maps hold at most `max_items` entries."""
    from . import schema as S

    return _container(S.TOC_LAYOUTS[layout], "toc", max_items)


def _register() -> None:
    simple: dict[type, SearchStrategy[Any]] = {
        M.Put: st.builds(M.Put, frame_id=u64s),
        M.PutMany: st.builds(M.PutMany, frame_ids=_u64_lists(8), count=u64s),
        M.Find: st.builds(M.Find, query=texts, mode=texts, result_count=u64s),
        M.Ask: st.builds(M.Ask, query=texts, provider=texts, model=texts),
        M.CheckpointAction: st.builds(M.CheckpointAction, checkpoint_id=u64s),
        M.Update: st.builds(M.Update, frame_id=u64s),
        M.Delete: st.builds(M.Delete, frame_id=u64s),
        M.ToolCall: st.builds(M.ToolCall, name=texts, args_hash=hashes),
        M.ReplayAction: actions(),
        M.StateSnapshot: snapshots,
        M.Checkpoint: checkpoints(),
        M.ReplaySession: sessions(),
        M.ReplayConfig: replay_configs,
        M.ActiveSession: active_sessions(),
        M.Segment: segments(),
    }
    for cls, strategy in simple.items():
        st.register_type_strategy(cls, strategy)


_register()
