"""attrs classes: the Python truth of every record and ActionType variant.

Field names and order are FORMAT.md's (and `schema`'s; a test keeps them equal). Values are
checked when built or assigned: integers against their Rust range, hashes are 32 bytes,
strings are str and encodable as UTF-8 (no lone surrogates). metadata is a dict whose
insertion order is the wire order, so a rebuild is byte-identical.

The ActionType variant that marks a checkpoint is `CheckpointAction` (serde name "Checkpoint"),
so that it never clashes with the `Checkpoint` record.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import attrs

__all__ = [
    "Put", "PutMany", "Find", "Ask", "CheckpointAction", "Update", "Delete", "ToolCall",
    "ActionType", "VARIANTS", "VARIANTS_BY_NAME",
    "ReplayAction", "StateSnapshot", "Checkpoint", "ReplaySession", "ReplayConfig",
    "ActiveSession", "ReplayManifest", "SegmentHeader", "Segment",
    "U32_MAX", "U64_MAX", "I64_MIN", "I64_MAX", "ZERO_HASH", "OVERSIZE_HASH",
]

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
ZERO_HASH = bytes(32)
OVERSIZE_HASH = b"\xff" * 32  # memvid's sentinel for an input or output over 10 MiB

#: An attrs validator: (instance, attribute, value) -> None, raising on a bad value.
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _int_range(low: int, high: int, rust: str) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{attribute.name} must be an int ({rust}), got {type(value).__name__}")
        if not low <= value <= high:
            raise ValueError(f"{attribute.name} must be a {rust} in [{low}, {high}], got {value}")
    return check


_u32 = _int_range(0, U32_MAX, "u32")
_u64 = _int_range(0, U64_MAX, "u64")
_i64 = _int_range(I64_MIN, I64_MAX, "i64")


def _hash32(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bytes):
        raise TypeError(f"{attribute.name} must be bytes, got {type(value).__name__}")
    if len(value) != 32:
        raise ValueError(f"{attribute.name} must be 32 bytes, got {len(value)}")


def _opt(check: Validator) -> Validator:
    def opt(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(inst, attribute, value)
    return opt


def _encodable(what: str, value: str) -> None:
    """Strings are written as UTF-8: a lone surrogate (e.g. from surrogateescape) cannot be."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = value[exc.start]
        raise ValueError(
            f"{what} must be encodable as UTF-8: lone surrogate U+{ord(bad):04X} at index "
            f"{exc.start}") from None


def _str(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be str, got {type(value).__name__}")
    _encodable(attribute.name, value)


def _u64_list(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, list):
        raise TypeError(f"{attribute.name} must be a list of u64, got {type(value).__name__}")
    for item in value:
        if type(item) is not int or not 0 <= item <= U64_MAX:
            raise ValueError(f"{attribute.name} must hold u64 values, got {item!r}")


def _list_of(cls: type) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, list):
            raise TypeError(f"{attribute.name} must be a list, got {type(value).__name__}")
        for item in value:
            if not isinstance(item, cls):
                raise TypeError(f"{attribute.name} must hold {cls.__name__}, "
                                f"got {type(item).__name__}")
    return check


def _str_map(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise TypeError(f"{attribute.name} must be a dict, got {type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"{attribute.name} keys and values must be str")
        _encodable(f"{attribute.name} key {k!r}", k)
        _encodable(f"{attribute.name}[{k!r}]", v)


def _instance(cls: type | tuple[type, ...]) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, cls):
            raise TypeError(f"{attribute.name} must be {getattr(cls, '__name__', cls)}, "
                            f"got {type(value).__name__}")
    return check


# --- ActionType variants ---------------------------------------------------------------------

@attrs.define
class Put:
    INDEX: ClassVar[int] = 0
    VARIANT: ClassVar[str] = "Put"
    DISPLAY: ClassVar[str] = "PUT"
    frame_id: int = attrs.field(validator=_u64)


@attrs.define
class PutMany:
    INDEX: ClassVar[int] = 1
    VARIANT: ClassVar[str] = "PutMany"
    DISPLAY: ClassVar[str] = "PUT_MANY"
    frame_ids: list[int] = attrs.field(validator=_u64_list)
    count: int = attrs.field(validator=_u64)


@attrs.define
class Find:
    INDEX: ClassVar[int] = 2
    VARIANT: ClassVar[str] = "Find"
    DISPLAY: ClassVar[str] = "FIND"
    query: str = attrs.field(validator=_str)
    mode: str = attrs.field(validator=_str)
    result_count: int = attrs.field(validator=_u64)


@attrs.define
class Ask:
    INDEX: ClassVar[int] = 3
    VARIANT: ClassVar[str] = "Ask"
    DISPLAY: ClassVar[str] = "ASK"
    query: str = attrs.field(validator=_str)
    provider: str = attrs.field(validator=_str)
    model: str = attrs.field(validator=_str)


@attrs.define
class CheckpointAction:
    """The ActionType variant recorded when a checkpoint is taken (serde name "Checkpoint")."""

    INDEX: ClassVar[int] = 4
    VARIANT: ClassVar[str] = "Checkpoint"
    DISPLAY: ClassVar[str] = "CHECKPOINT"
    checkpoint_id: int = attrs.field(validator=_u64)


@attrs.define
class Update:
    INDEX: ClassVar[int] = 5
    VARIANT: ClassVar[str] = "Update"
    DISPLAY: ClassVar[str] = "UPDATE"
    frame_id: int = attrs.field(validator=_u64)


@attrs.define
class Delete:
    INDEX: ClassVar[int] = 6
    VARIANT: ClassVar[str] = "Delete"
    DISPLAY: ClassVar[str] = "DELETE"
    frame_id: int = attrs.field(validator=_u64)


@attrs.define
class ToolCall:
    INDEX: ClassVar[int] = 7
    VARIANT: ClassVar[str] = "ToolCall"
    DISPLAY: ClassVar[str] = "TOOL_CALL"
    name: str = attrs.field(validator=_str)
    args_hash: bytes = attrs.field(validator=_hash32)


ActionType = Put | PutMany | Find | Ask | CheckpointAction | Update | Delete | ToolCall

#: Variant classes by wire index.
VARIANTS: tuple[type[ActionType], ...] = (Put, PutMany, Find, Ask, CheckpointAction, Update,
                                          Delete, ToolCall)
#: Variant classes by serde name ("Checkpoint" -> CheckpointAction).
VARIANTS_BY_NAME: dict[str, type[ActionType]] = {cls.VARIANT: cls for cls in VARIANTS}

# --- Records ---------------------------------------------------------------------------------


@attrs.define
class ReplayAction:
    sequence: int = attrs.field(validator=_u64)
    timestamp_secs: int = attrs.field(validator=_i64)
    action_type: ActionType = attrs.field(validator=_instance(VARIANTS))
    input_hash: bytes = attrs.field(default=ZERO_HASH, validator=_hash32)
    output_hash: bytes = attrs.field(default=ZERO_HASH, validator=_hash32)
    input_preview: str = attrs.field(default="", validator=_str)
    output_preview: str = attrs.field(default="", validator=_str)
    affected_frames: list[int] = attrs.field(factory=list, validator=_u64_list)
    duration_ms: int = attrs.field(default=0, validator=_u64)


@attrs.define
class StateSnapshot:
    frame_count: int = attrs.field(default=0, validator=_u64)
    frame_ids: list[int] = attrs.field(factory=list, validator=_u64_list)
    lex_index_hash: bytes | None = attrs.field(default=None, validator=_opt(_hash32))
    vec_index_hash: bytes | None = attrs.field(default=None, validator=_opt(_hash32))
    wal_sequence: int = attrs.field(default=0, validator=_u64)
    generation: int = attrs.field(default=0, validator=_u64)


@attrs.define
class Checkpoint:
    id: int = attrs.field(validator=_u64)
    at_sequence: int = attrs.field(validator=_u64)
    timestamp_secs: int = attrs.field(validator=_i64)
    state_hash: bytes = attrs.field(validator=_hash32)
    snapshot: StateSnapshot = attrs.field(validator=_instance(StateSnapshot))


@attrs.define
class ReplaySession:
    session_id: uuid.UUID = attrs.field(validator=_instance(uuid.UUID))
    name: str | None = attrs.field(default=None, validator=_opt(_str))
    created_secs: int = attrs.field(default=0, validator=_i64)
    ended_secs: int | None = attrs.field(default=None, validator=_opt(_i64))
    checkpoints: list[Checkpoint] = attrs.field(factory=list, validator=_list_of(Checkpoint))
    actions: list[ReplayAction] = attrs.field(factory=list, validator=_list_of(ReplayAction))
    metadata: dict[str, str] = attrs.field(factory=dict, validator=_str_map)
    version: int = attrs.field(default=1, validator=_u32)


@attrs.define
class ReplayConfig:
    auto_checkpoint_interval: int = attrs.field(default=0, validator=_u64)
    max_actions_per_session: int | None = attrs.field(default=None, validator=_opt(_u64))
    auto_record: bool = attrs.field(default=False, validator=_instance(bool))


@attrs.define
class ActiveSession:
    session: ReplaySession = attrs.field(validator=_instance(ReplaySession))
    next_checkpoint_id: int = attrs.field(default=0, validator=_u64)
    actions_since_checkpoint: int = attrs.field(default=0, validator=_u64)
    config: ReplayConfig = attrs.field(factory=ReplayConfig, validator=_instance(ReplayConfig))


@attrs.define
class ReplayManifest:
    """The TOC's pointer to the live segment of a `.mv2` file."""

    segment_offset: int = attrs.field(validator=_u64)
    segment_size: int = attrs.field(validator=_u64)
    session_count: int = attrs.field(validator=_u32)
    total_actions: int = attrs.field(validator=_u64)
    version: int = attrs.field(validator=_u32)


@attrs.define
class SegmentHeader:
    magic: bytes
    version: int = attrs.field(validator=_u32)
    session_count: int = attrs.field(validator=_u32)
    total_size: int = attrs.field(validator=_u64)


@attrs.define
class Segment:
    """A parsed replay segment: its header fields and its sessions."""

    version: int = attrs.field(validator=_u32)
    session_count: int = attrs.field(validator=_u32)
    total_size: int = attrs.field(validator=_u64)
    sessions: list[ReplaySession] = attrs.field(validator=_list_of(ReplaySession))
