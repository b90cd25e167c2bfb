"""Writes fixtures/malformed/: damaged inputs, each with the exact error it must give.

Run once when the format changes: `python scripts/make_malformed.py`. Every case edits a real
CLI-written file at a known offset; the expected kind, offset and path are written here by hand
from the byte layout of that file (FORMAT.md), never computed by the codec under test.

Layout of fixtures/real/p01_basic_put_find/segment-0.bin (602 bytes), the base of most cases:
  0 magic | 8 version | 12 session_count | 16 total_size=602 | 24 session length=570
  32 Uuid length | 40 Uuid bytes | 56 name tag | 57 name length | 65 "basic"
  70 created_secs | 78 ended tag | 79 ended_secs | 87 checkpoints count | 95 actions count
  actions[0]: 103 sequence | 111 timestamp | 119 variant index | 123 Put.frame_id
  131 input_hash | 163 output_hash | 195 input_preview length=25 | 203 preview bytes
  228 output_preview length | 236 affected_frames count | 244 frame | 252 duration_ms | 260 next
Layout of fixtures/real/p12_sidecar_moments/active-0.bin (envelope right after start):
  0 magic | 8 length | 16 ActiveSession ... | last byte: config.auto_record
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "malformed"
REAL = ROOT / "fixtures" / "real"
SEG = (REAL / "p01_basic_put_find" / "segment-0.bin").read_bytes()
ENV = (REAL / "p12_sidecar_moments" / "active-0.bin").read_bytes()


def put(data: bytes, offset: int, fmt: str, value) -> bytes:
    raw = struct.pack("<" + fmt, value)
    return data[:offset] + raw + data[offset + len(raw):]


def u64(data, offset, value):
    return put(data, offset, "Q", value)


def u32(data, offset, value):
    return put(data, offset, "I", value)


def byte(data, offset, value):
    return data[:offset] + bytes([value]) + data[offset + 1:]


def cut_session(length: int) -> bytes:
    """p01 cut to 32+length bytes with consistent outer lengths: the damage is inside."""
    data = SEG[:32 + length]
    return u64(u64(data, 16, 32 + length), 24, length)


CASES = [
    # name, kind of input, data, error kind, offset, path
    ("empty", "segment", b"", "truncated", 0, "magic"),
    ("short_header", "segment", SEG[:20], "truncated", 16, "total_size"),
    ("bad_magic", "segment", byte(SEG, 0, ord("X")), "bad_magic", 0, "magic"),
    ("version_2", "segment", u32(SEG, 8, 2), "unsupported_version", 8, "version"),
    ("session_count_too_high", "segment", u32(SEG, 12, 2), "count_mismatch", 12,
     "session_count"),
    ("session_count_zero", "segment", u32(SEG, 12, 0), "count_mismatch", 12, "session_count"),
    ("total_size_wrong", "segment", u64(SEG, 16, 603), "size_mismatch", 16, "total_size"),
    ("trailing_bytes", "segment", SEG + b"\0\0\0", "trailing_bytes", 602, ""),
    ("session_length_2_62", "segment", u64(SEG, 24, 2**62), "length_overflow", 24,
     "sessions[0]"),
    ("session_length_u64_max", "segment", u64(SEG, 24, 2**64 - 1), "length_overflow", 24,
     "sessions[0]"),
    ("truncated_file", "segment", SEG[:210], "length_overflow", 24, "sessions[0]"),
    # A vector's count is first checked against its elements' minimum size (ReplayAction:
    # 124 bytes), so a cut lands inside a field only where the elements before it are larger.
    ("actions_count_exceeds_minimum", "segment", cut_session(150 - 32), "length_overflow", 95,
     "sessions[0].actions"),
    ("truncated_in_preview", "segment", u64(cut_session(227 - 32), 95, 1), "length_overflow",
     195, "sessions[0].actions[0].input_preview"),
    ("truncated_in_duration", "segment", u64(cut_session(253 - 32), 95, 1), "truncated", 252,
     "sessions[0].actions[0].duration_ms"),
    ("truncated_in_third_action", "segment", cut_session(475 - 32), "truncated", 473,
     "sessions[0].actions[2].action_type.Find.result_count"),
    ("uuid_length_15", "segment", u64(SEG, 32, 15), "bad_uuid_length", 32,
     "sessions[0].session_id"),
    ("name_tag_2", "segment", byte(SEG, 56, 2), "invalid_tag", 56, "sessions[0].name"),
    ("ended_tag_7", "segment", byte(SEG, 78, 7), "invalid_tag", 78, "sessions[0].ended_secs"),
    ("name_length_bomb", "segment", u64(SEG, 57, 2**62), "length_overflow", 57,
     "sessions[0].name"),
    ("actions_count_2_62", "segment", u64(SEG, 95, 2**62), "length_overflow", 95,
     "sessions[0].actions"),
    ("checkpoints_count_bomb", "segment", u64(SEG, 87, 2**64 - 1), "length_overflow", 87,
     "sessions[0].checkpoints"),
    ("unknown_variant_9", "segment", u32(SEG, 119, 9), "unknown_variant", 119,
     "sessions[0].actions[0].action_type"),
    ("invalid_utf8_preview", "segment", byte(SEG, 203, 0xFF), "invalid_utf8", 203,
     "sessions[0].actions[0].input_preview"),
    ("invalid_utf8_mid_name", "segment", byte(SEG, 67, 0xC3), "invalid_utf8", 67,
     "sessions[0].name"),
    ("frames_count_bomb", "segment", u64(SEG, 236, 2**62), "length_overflow", 236,
     "sessions[0].actions[0].affected_frames"),
    ("trailing_in_session_block", "segment",
     u64(u64(SEG, 16, 603), 24, 571) + b"\0", "trailing_bytes", 602, "sessions[0]"),
    ("envelope_empty", "active_session", b"", "truncated", 0, "magic"),
    ("envelope_bad_magic", "active_session", byte(ENV, 3, ord("x")), "bad_magic", 0, "magic"),
    ("envelope_length_u64_max", "active_session", u64(ENV, 8, 2**64 - 1), "length_overflow", 8,
     "length"),
    ("envelope_truncated", "active_session", ENV[:-5], "length_overflow", 8, "length"),
    ("envelope_no_length", "active_session", ENV[:12], "truncated", 8, "length"),
    ("envelope_bool_2", "active_session", byte(ENV, len(ENV) - 1, 2), "invalid_bool",
     len(ENV) - 1, "config.auto_record"),
    ("envelope_trailing", "active_session", ENV + b"\x01", "trailing_bytes", len(ENV), ""),
    ("envelope_uuid_length_0", "active_session", u64(ENV, 16, 0), "bad_uuid_length", 16,
     "session.session_id"),
]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, kind, data, err, offset, path in CASES:
        (OUT / f"{name}.bin").write_bytes(data)
        expected = {"input": kind, "kind": err, "offset": offset, "path": path}
        (OUT / f"{name}.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote {len(CASES)} cases to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
