"""replayfmt: read, write, validate and dissect memvid's replay formats.

The import list below is the public API. Layers, one direction each:
`schema` (Construct, the byte truth) -> `_generated` (fast codec generated from it) ->
`codec` (containers, strictness) <-> `model` (attrs, the Python truth) <-> `memvid_json`.
`mv2` finds segments inside `.mv2` memory files; `cli` is the command line.
"""

from .codec import (
    build_active_session,
    build_manifest,
    build_segment,
    build_session,
    encode_snapshot_standard,
    parse_active_session,
    parse_manifest,
    parse_segment,
    parse_session,
    snapshot_state_hash,
)
from .diff import Change, Diff, diff_records
from .diff import render_text as render_diff_text
from .errors import ErrorKind, ReplayFormatError
from .forensics import Block, Salvage, SessionRecord, all_sessions, carve, salvage
from .hexmap import HexMap, build_hexmap, hexmap_json
from .hexmap import render_html as render_hexmap_html
from .hexmap import render_text as render_hexmap_text
from .memvid_json import (
    JSONShapeError,
    dumps_memvid,
    from_json,
    from_memvid_json,
    to_json,
    to_memvid_json,
)
from .trace import Span, Trace, trace_active_session, trace_segment
from .validate import Diagnostic, Report, to_sarif, validate
from .model import (
    ActionType,
    ActiveSession,
    Ask,
    Checkpoint,
    CheckpointAction,
    Delete,
    Find,
    Put,
    PutMany,
    ReplayAction,
    ReplayConfig,
    ReplayManifest,
    ReplaySession,
    Segment,
    StateSnapshot,
    ToolCall,
    Update,
)

__version__ = "0.1.0"

__all__ = [
    "parse_segment", "build_segment", "parse_session", "build_session",
    "parse_active_session", "build_active_session", "parse_manifest", "build_manifest",
    "snapshot_state_hash", "encode_snapshot_standard",
    "ReplayFormatError", "ErrorKind", "JSONShapeError",
    "to_memvid_json", "from_memvid_json", "to_json", "from_json", "dumps_memvid",
    "ActionType", "ActiveSession", "Ask", "Checkpoint", "CheckpointAction", "Delete", "Find",
    "Put", "PutMany", "ReplayAction", "ReplayConfig", "ReplayManifest", "ReplaySession",
    "Segment", "StateSnapshot", "ToolCall", "Update",
    "diff_records", "Diff", "Change",
    "render_diff_text",
    "build_hexmap", "HexMap", "hexmap_json", "render_hexmap_text", "render_hexmap_html",
    "trace_segment", "trace_active_session", "Trace", "Span",
    "validate", "Report", "Diagnostic", "to_sarif",
    "carve", "Block", "all_sessions", "SessionRecord", "salvage", "Salvage",
]
