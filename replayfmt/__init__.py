"""replayfmt: read, write, validate and dissect memvid's replay formats.

The import list below is the public API. Layers, one direction each:
`schema` (Construct, the byte truth) -> `_generated` (fast codec generated from it) ->
`codec` (containers, strictness) <-> `model` (attrs, the Python truth) <-> `memvid_json`.
`mv2` finds segments inside `.mv2` memory files; `stream` reads lazily (summaries, one session
at a time over mmap); `batch` runs a per-file function over many files; `cli` is the command
line. Every name below except the errors is imported on first use (PEP 562), so that a
command reading a file does not pay for the model layer, Construct or the forensic tools.
"""

import sys as _sys
import types as _types
from typing import Any as _Any

from .errors import ErrorKind, ReplayFormatError

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
    "carve", "CarvedBlock", "all_sessions", "SessionRecord", "salvage", "Salvage",
    "iter_sessions", "scan_segment", "SessionSummary", "run_batch",
]

_CODEC = ("parse_segment", "build_segment", "parse_session", "build_session",
          "parse_active_session", "build_active_session", "parse_manifest", "build_manifest",
          "snapshot_state_hash", "encode_snapshot_standard")
_JSON = ("JSONShapeError", "to_memvid_json", "from_memvid_json", "to_json", "from_json",
         "dumps_memvid")
_MODEL = ("ActionType", "ActiveSession", "Ask", "Checkpoint", "CheckpointAction", "Delete",
          "Find", "Put", "PutMany", "ReplayAction", "ReplayConfig", "ReplayManifest",
          "ReplaySession", "Segment", "StateSnapshot", "ToolCall", "Update")

#: name -> (module, attribute) for the names imported on first use.
_LAZY = {
    **{name: ("codec", name) for name in _CODEC},
    **{name: ("memvid_json", name) for name in _JSON},
    **{name: ("model", name) for name in _MODEL},
    "diff_records": ("diff", "diff_records"), "Diff": ("diff", "Diff"),
    "Change": ("diff", "Change"), "render_diff_text": ("diff", "render_text"),
    "build_hexmap": ("hexmap", "build_hexmap"), "HexMap": ("hexmap", "HexMap"),
    "hexmap_json": ("hexmap", "hexmap_json"), "render_hexmap_text": ("hexmap", "render_text"),
    "render_hexmap_html": ("hexmap", "render_html"),
    "trace_segment": ("trace", "trace_segment"),
    "trace_active_session": ("trace", "trace_active_session"), "Trace": ("trace", "Trace"),
    "Span": ("trace", "Span"),
    "validate": ("validate", "validate"), "Report": ("validate", "Report"),
    "Diagnostic": ("validate", "Diagnostic"), "to_sarif": ("validate", "to_sarif"),
    "carve": ("forensics", "carve"), "CarvedBlock": ("forensics", "CarvedBlock"),
    "all_sessions": ("forensics", "all_sessions"),
    "SessionRecord": ("forensics", "SessionRecord"), "salvage": ("forensics", "salvage"),
    "Salvage": ("forensics", "Salvage"),
    "iter_sessions": ("stream", "iter_sessions"), "scan_segment": ("stream", "scan_segment"),
    "SessionSummary": ("stream", "SessionSummary"), "run_batch": ("batch", "run"),
}


class _Package(_types.ModuleType):
    """Keeps `replayfmt.validate` the function when the submodule of the same name is imported
    (the import system would otherwise bind the module over it)."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if isinstance(value, _types.ModuleType) and _LAZY.get(name, ("",))[0] == name:
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
