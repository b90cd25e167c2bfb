"""Types of the public API: the names `replayfmt/__init__.py` imports on first use (PEP 562),
so that type checkers see them. tests/test_lint.py keeps these names equal to `__all__`."""

from .batch import run as run_batch
from .codec import (
    build_active_session as build_active_session,
)
from .codec import (
    build_manifest as build_manifest,
)
from .codec import (
    build_segment as build_segment,
)
from .codec import (
    build_session as build_session,
)
from .codec import (
    encode_snapshot_standard as encode_snapshot_standard,
)
from .codec import (
    parse_active_session as parse_active_session,
)
from .codec import (
    parse_manifest as parse_manifest,
)
from .codec import (
    parse_segment as parse_segment,
)
from .codec import (
    parse_session as parse_session,
)
from .codec import (
    snapshot_state_hash as snapshot_state_hash,
)
from .diff import (
    Change as Change,
)
from .diff import (
    Diff as Diff,
)
from .diff import (
    diff_records as diff_records,
)
from .diff import (
    render_text as render_diff_text,
)
from .errors import ErrorKind as ErrorKind
from .errors import ReplayFormatError as ReplayFormatError
from .forensics import (
    CarvedBlock as CarvedBlock,
)
from .forensics import (
    Salvage as Salvage,
)
from .forensics import (
    SessionRecord as SessionRecord,
)
from .forensics import (
    all_sessions as all_sessions,
)
from .forensics import (
    carve as carve,
)
from .forensics import (
    salvage as salvage,
)
from .hexmap import (
    HexMap as HexMap,
)
from .hexmap import (
    build_hexmap as build_hexmap,
)
from .hexmap import (
    hexmap_json as hexmap_json,
)
from .hexmap import (
    render_html as render_hexmap_html,
)
from .hexmap import (
    render_text as render_hexmap_text,
)
from .memvid_json import (
    JSONShapeError as JSONShapeError,
)
from .memvid_json import (
    dumps_memvid as dumps_memvid,
)
from .memvid_json import (
    from_json as from_json,
)
from .memvid_json import (
    from_memvid_json as from_memvid_json,
)
from .memvid_json import (
    to_json as to_json,
)
from .memvid_json import (
    to_memvid_json as to_memvid_json,
)
from .model import (
    ActionType as ActionType,
)
from .model import (
    ActiveSession as ActiveSession,
)
from .model import (
    Ask as Ask,
)
from .model import (
    Checkpoint as Checkpoint,
)
from .model import (
    CheckpointAction as CheckpointAction,
)
from .model import (
    Delete as Delete,
)
from .model import (
    Find as Find,
)
from .model import (
    Put as Put,
)
from .model import (
    PutMany as PutMany,
)
from .model import (
    ReplayAction as ReplayAction,
)
from .model import (
    ReplayConfig as ReplayConfig,
)
from .model import (
    ReplayManifest as ReplayManifest,
)
from .model import (
    ReplaySession as ReplaySession,
)
from .model import (
    Segment as Segment,
)
from .model import (
    StateSnapshot as StateSnapshot,
)
from .model import (
    ToolCall as ToolCall,
)
from .model import (
    Update as Update,
)
from .stream import (
    SessionSummary as SessionSummary,
)
from .stream import (
    iter_sessions as iter_sessions,
)
from .stream import (
    scan_segment as scan_segment,
)
from .trace import (
    Span as Span,
)
from .trace import (
    Trace as Trace,
)
from .trace import (
    trace_active_session as trace_active_session,
)
from .trace import (
    trace_segment as trace_segment,
)
from .validate import (
    Diagnostic as Diagnostic,
)
from .validate import (
    Report as Report,
)
from .validate import (
    to_sarif as to_sarif,
)
from .validate import (
    validate as validate,
)

__version__: str
__all__ = [
    "parse_segment",
    "build_segment",
    "parse_session",
    "build_session",
    "parse_active_session",
    "build_active_session",
    "parse_manifest",
    "build_manifest",
    "snapshot_state_hash",
    "encode_snapshot_standard",
    "ReplayFormatError",
    "ErrorKind",
    "JSONShapeError",
    "to_memvid_json",
    "from_memvid_json",
    "to_json",
    "from_json",
    "dumps_memvid",
    "ActionType",
    "ActiveSession",
    "Ask",
    "Checkpoint",
    "CheckpointAction",
    "Delete",
    "Find",
    "Put",
    "PutMany",
    "ReplayAction",
    "ReplayConfig",
    "ReplayManifest",
    "ReplaySession",
    "Segment",
    "StateSnapshot",
    "ToolCall",
    "Update",
    "diff_records",
    "Diff",
    "Change",
    "render_diff_text",
    "build_hexmap",
    "HexMap",
    "hexmap_json",
    "render_hexmap_text",
    "render_hexmap_html",
    "trace_segment",
    "trace_active_session",
    "Trace",
    "Span",
    "validate",
    "Report",
    "Diagnostic",
    "to_sarif",
    "carve",
    "CarvedBlock",
    "all_sessions",
    "SessionRecord",
    "salvage",
    "Salvage",
    "iter_sessions",
    "scan_segment",
    "SessionSummary",
    "run_batch",
]
