"""Write fixtures/damaged/: real memvid files, deliberately damaged, one problem each.

Every file is derived from a real CLI file (fixtures/real/<case>/ or the shared corpus) by a
byte edit located with replayfmt.trace, or rebuilt from a real session edited through the model.
MANIFEST.json maps each file to its source, what was done, and the diagnostic codes
`replayfmt validate` must report. Deterministic: running it twice gives identical bytes.

    python scripts/make_damaged_fixtures.py [OUT_DIR]
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replayfmt import mv2 as mv2mod  # noqa: E402
from replayfmt.codec import build_segment, parse_segment  # noqa: E402
from replayfmt.model import OVERSIZE_HASH, Find, PutMany, ReplayAction  # noqa: E402
from replayfmt.toc import with_toc  # noqa: E402
from replayfmt.trace import trace_active_session, trace_segment  # noqa: E402

_REAL = (ROOT / "fixtures" / "real",)


def real(rel: str) -> bytes:
    for base in _REAL:
        if (base / rel).is_file():
            return (base / rel).read_bytes()
    raise SystemExit(f"real fixture {rel} not found in {_REAL}")


def patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


def span(data: bytes, path: str, kind: str | None = None, active: bool = False):
    t = (trace_active_session if active else trace_segment)(data)
    s = t.find(path, kind)
    if s is None:
        raise SystemExit(f"no field {path}")
    return s


def u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def fixtures() -> dict[str, tuple[bytes, str, str, list[str], list | None]]:
    """name -> (bytes, source, how, expected codes, expected [code, offset, path] or None)."""
    out = {}
    p01 = real("p01_basic_put_find/segment-0.bin")
    p09 = real("p09_auto_checkpoint_3/segment-0.bin")
    a09 = real("p09_auto_checkpoint_3/active-0.bin")
    s01 = parse_segment(p01).sessions[0]
    s09 = parse_segment(p09).sessions[0]
    src01, src09 = "p01_basic_put_find/segment-0.bin", "p09_auto_checkpoint_3/segment-0.bin"
    srca = "p09_auto_checkpoint_3/active-0.bin"

    def add(name, data, src, how, codes, at=None):
        out[name] = (data, src, how, codes, at)

    def rebuilt(session, **changes):
        return build_segment([attrs.evolve(session, **changes)])

    def with_action(session, j, **changes):
        actions = list(session.actions)
        actions[j] = attrs.evolve(actions[j], **changes)
        return rebuilt(session, actions=actions)

    # -- strict parsing --
    add("unrecognized.bin", b"NOTREPLY" + p01[8:], src01, "magic replaced by NOTREPLY",
        ["RF001"])
    add("bad_magic.bin", patch(p01, 0, b"MV2RPLX!"), src01, "magic MV2RPLX!", ["RF002"])
    add("version_2.bin", patch(p01, 8, u32(2)), src01, "header version 2", ["RF003"])
    add("cut_in_header.bin", p01[:20], src01, "first 20 bytes only", ["RF004"])
    pv = span(p01, "sessions[0].actions[1].input_preview", "string")
    add("cut_mid_action.bin", p01[:pv.offset + 5], src01,
        "cut inside actions[1].input_preview", ["RF005"])
    add("bad_utf8.bin", patch(p01, pv.offset + 8, b"\xff"), src01,
        "0xFF in actions[1].input_preview", ["RF006"])
    nm = span(p01, "sessions[0].name", "tag")
    add("option_tag_2.bin", patch(p01, nm.offset, b"\x02"), src01, "name Option tag 2",
        ["RF007"])
    ar = span(a09, "config.auto_record", active=True)
    add("bool_2.session", patch(a09, ar.offset, b"\x02"), srca, "config.auto_record byte 2",
        ["RF008"])
    vt = span(p01, "sessions[0].actions[0].action_type", "variant")
    add("variant_9.bin", patch(p01, vt.offset, u32(9)), src01, "actions[0] ActionType 9",
        ["RF009"])
    add("uuid_len_15.bin", patch(p01, 32, u64(15)), src01, "session_id length 15", ["RF010"])
    add("session_count_2.bin", patch(p01, 12, u32(2)), src01, "session_count 2", ["RF011"])
    add("total_size_plus_1.bin", patch(p01, 16, u64(len(p01) + 1)), src01, "total_size + 1",
        ["RF012"])
    add("trailing_5.bin", p01 + b"\0" * 5, src01, "5 zero bytes appended", ["RF013"])
    dup = build_segment([attrs.evolve(s01, metadata={"k1": "a", "k2": "b"})])
    add("duplicate_key.bin", dup.replace(b"k2", b"k1"), src01,
        "metadata {k1: a, k1: b} (second key renamed in the bytes)", ["RF014"])
    # -- sessions --
    add("sequence_gap.bin", with_action(s01, 2, sequence=5), src01, "actions[2].sequence 5",
        ["RF101"])
    add("timestamp_early.bin", with_action(s01, 1, timestamp_secs=s01.created_secs - 100),
        src01, "actions[1] 100 s before created_secs", ["RF102"])
    add("ended_before_created.bin", rebuilt(s01, ended_secs=s01.created_secs - 1), src01,
        "ended_secs = created_secs - 1", ["RF103", "RF102"])
    add("session_version_2.bin", rebuilt(s01, version=2), src01, "session version 2",
        ["RF104"])
    add("duplicate_session.bin", build_segment([s01, s01]), src01, "the session twice",
        ["RF105"])
    # -- checkpoints --
    cps = list(s09.checkpoints)
    add("checkpoint_id_gap.bin",
        rebuilt(s09, checkpoints=[cps[0], attrs.evolve(cps[1], id=5), cps[2]]), src09,
        "checkpoints[1].id 5", ["RF201", "RF203"])
    add("checkpoint_beyond.bin",
        rebuilt(s09, checkpoints=cps[:2] + [attrs.evolve(cps[2], at_sequence=99)]), src09,
        "checkpoints[2].at_sequence 99", ["RF202"])
    j = next(i for i, a in enumerate(s09.actions) if type(a.action_type).__name__ ==
             "CheckpointAction")
    act = s09.actions[j]
    add("missing_checkpoint.bin",
        with_action(s09, j, action_type=attrs.evolve(act.action_type, checkpoint_id=7)), src09,
        f"actions[{j}] Checkpoint(7)", ["RF203"])
    sh = span(p09, "sessions[0].checkpoints[1].state_hash")
    add("state_hash_flip.bin", patch(p09, sh.offset, bytes([p09[sh.offset] ^ 1])), src09,
        "first byte of checkpoints[1].state_hash flipped", ["RF204"])
    # -- actions --
    add("oversize_sentinel.bin", with_action(s01, 0, input_hash=OVERSIZE_HASH), src01,
        "actions[0].input_hash all 0xFF", ["RF301"])
    add("preview_600.bin", with_action(s01, 0, input_preview="x" * 600), src01,
        "actions[0].input_preview 600 characters", ["RF302"])
    add("preview_control.bin", with_action(s01, 1, output_preview="a\x01b\rc"), src01,
        "actions[1].output_preview holds U+0001 and U+000D (beside the zero output_hash "
        "that says there was no output)", ["RF303", "RF306"])
    ih = span(p01, "sessions[0].actions[1].input_hash")
    add("find_hash_flip.bin", patch(p01, ih.offset, bytes([p01[ih.offset] ^ 1])), src01,
        "first byte of actions[1].input_hash flipped (a Find: memvid hashes its whole query)",
        ["RF306"], [["RF306", ih.offset, "sessions[0].actions[1].input_hash"]])
    qp = span(p01, "sessions[0].actions[1].input_preview", "string")
    add("find_preview_edit.bin", patch(p01, qp.offset + 8, b"A"), src01,
        "first letter of actions[1].input_preview upper-cased (query and hash kept)",
        ["RF307"], [["RF307", qp.offset, "sessions[0].actions[1].input_preview"]])
    ph = span(p01, "sessions[0].actions[0].input_hash")
    add("put_hash_zero.bin", patch(p01, ph.offset, bytes(32)), src01,
        "actions[0].input_hash (a Put) zeroed, its preview kept: zero means no input",
        ["RF306"], [["RF306", ph.offset, "sessions[0].actions[0].input_hash"]])
    f = s01.actions[1].action_type
    assert isinstance(f, Find)
    add("find_count.bin", with_action(s01, 1, action_type=attrs.evolve(
        f, result_count=f.result_count + 3)), src01, "actions[1] Find.result_count + 3",
        ["RF304"])
    pm = ReplayAction(sequence=3, timestamp_secs=s01.actions[2].timestamp_secs,
                      action_type=PutMany([1, 2, 3], 2), input_hash=bytes(32),
                      output_hash=bytes(32), input_preview="", output_preview="",
                      affected_frames=[1, 2, 3], duration_ms=0)
    add("put_many_count.bin", rebuilt(s01, actions=list(s01.actions) + [pm]), src01,
        "PutMany(frame_ids [1, 2, 3], count 2) appended", ["RF305"])
    # -- envelopes --
    nx = span(a09, "next_checkpoint_id", active=True)
    add("next_checkpoint_id.session", patch(a09, nx.offset, u64(5)), srca,
        "next_checkpoint_id 5 (3 checkpoints)", ["RF401"])
    sc = span(a09, "actions_since_checkpoint", active=True)
    add("actions_since_checkpoint.session", patch(a09, sc.offset, u64(4)), srca,
        "actions_since_checkpoint 4 (1 action after the last checkpoint)", ["RF402"])
    ln = span(a09, "length", active=True)
    add("sidecar_cut.session", a09[:ln.offset + 8 + 1500], srca,
        "sidecar cut after 1516 bytes (memvid deletes such a file)", ["RF005"])
    flood = 1200  # sessions, each an empty block: one truncation each, more than a report lists
    add("diagnostics_flood.bin", b"MV2RPLY!" + u32(1) + u32(flood) + u64(24 + 8 * flood)
        + bytes(8 * flood), "(built)", f"{flood} empty session blocks: {flood} truncations, "
        "the first 1000 listed and one RF015 counting the rest", ["RF004", "RF015"])
    # -- .mv2 --
    m01 = real("p01_basic_put_find/mem.mv2")
    srcm = "p01_basic_put_find/mem.mv2"
    live = mv2mod.live_segment(m01)
    add("mv2_no_footer.mv2", m01[:-10], srcm, "last 10 bytes cut (no MV2FOOT!)", ["RF501"])
    at = live.offset + ih.offset
    add("mv2_find_hash_flip.mv2", patch(m01, at, bytes([m01[at] ^ 1])), srcm,
        "first byte of the live segment's actions[1].input_hash flipped (outside the TOC: "
        "no container checksum covers it)", ["RF306"],
        [["RF306", at, "sessions[0].actions[1].input_hash"]])
    inner = span(p01, "sessions[0].actions[1].input_preview", "string")
    add("mv2_live_damaged.mv2", patch(m01, live.offset + inner.offset + 8, b"\xff"), srcm,
        "0xFF inside the live segment's actions[1].input_preview", ["RF502", "RF006"])
    tag = live.tag_pos
    toc_start, footer = mv2mod.read_layout(m01).toc_range

    def resealed(data: bytes) -> bytes:
        """TOC bytes edited in place, then every checksum recomputed."""
        return with_toc(data, data[toc_start:footer])

    add("mv2_manifest_size.mv2", resealed(patch(m01, tag + 9, u64(live.size + 8))), srcm,
        "manifest segment_size + 8, checksums recomputed", ["RF503"],
        [["RF503", tag + 9, "toc.replay_manifest.segment_size"]])
    add("mv2_manifest_count.mv2", resealed(patch(m01, tag + 17, u32(2))), srcm,
        "manifest session_count 2, checksums recomputed", ["RF504"],
        [["RF504", tag + 17, "toc.replay_manifest.session_count"]])
    add("mv2_manifest_actions.mv2", resealed(patch(m01, tag + 21, u64(7))), srcm,
        "manifest total_actions 7, checksums recomputed", ["RF505"],
        [["RF505", tag + 21, "toc.replay_manifest.total_actions"]])
    add("mv2_manifest_version.mv2", resealed(patch(m01, tag + 29, u32(2))), srcm,
        "manifest version 2, checksums recomputed", ["RF506"],
        [["RF506", tag + 29, "toc.replay_manifest.version"]])
    add("mv2_manifest_lost.mv2", resealed(patch(patch(m01, tag, b"\x07"), footer - 80, u64(5))),
        srcm, "manifest tag 7 and enrichment task count 5, checksums recomputed: the TOC "
        "does not decode", ["RF509"], [["RF509", tag, "toc.replay_manifest"]])
    add("mv2_manifest_moved.mv2", resealed(patch(m01, tag + 1, u64(live.offset + 1))), srcm,
        "manifest segment_offset + 1, checksums recomputed (memvid: invalid replay segment "
        "magic)", ["RF502", "RF508"],
        [["RF502", tag, "toc.replay_manifest"], ["RF508", live.offset, ""]])
    # -- container checksums (nothing recomputed) --
    t = mv2mod.read_toc(m01)
    uri = t.span("toc.frames[0].uri").offset + 1 + 8  # Option tag, length, then the text
    add("mv2_toc_flip.mv2", patch(m01, uri, bytes([m01[uri] ^ 0x20])), srcm,
        "one byte of frames[0].uri flipped (a letter's case: the TOC still decodes)",
        ["RF510", "RF511"], [["RF510", footer + 16, "footer.toc_hash"],
                             ["RF511", footer - 32, "toc.toc_checksum"]])
    add("mv2_footer_hash_flip.mv2", patch(m01, footer + 16, bytes([m01[footer + 16] ^ 1])),
        srcm, "first byte of the footer's toc_hash flipped (memvid: no valid commit footer)",
        ["RF510"], [["RF510", footer + 16, "footer.toc_hash"]])
    add("mv2_header_checksum_flip.mv2", patch(m01, 48, bytes([m01[48] ^ 1])), srcm,
        "first byte of the header's toc_checksum copy flipped (memvid ignores it; "
        "a warning, an error under --strict)", ["RF512"], [["RF512", 48, "header.toc_checksum"]])
    m08 = real("p08_put_variants/mem.mv2")
    t08 = mv2mod.read_toc(m08)
    i, frame = next((i, f) for i, f in enumerate(t08.frames) if f.payload_length)
    add("mv2_frame_payload.mv2", patch(m08, frame.payload_offset,
                                       bytes([m08[frame.payload_offset] ^ 1])),
        "p08_put_variants/mem.mv2", f"first payload byte of frame {frame.id} flipped",
        ["RF513"], [["RF513", t08.span(f"toc.frames[{i}].checksum").offset,
                     f"toc.frames[{i}].checksum"]])
    po = t08.span(f"toc.frames[{i}].payload_offset")
    s08, f08 = mv2mod.read_layout(m08).toc_range
    moved = patch(m08, po.offset, u64(s08 - 4))  # runs 14 bytes into the TOC
    add("mv2_frame_range.mv2", with_toc(moved, moved[s08:f08]), "p08_put_variants/mem.mv2",
        f"frame {frame.id} payload_offset moved to 4 bytes before the TOC, checksums "
        "recomputed", ["RF514"], [["RF514", po.offset, f"toc.frames[{i}].payload_offset"]])
    return out


def main(argv: list[str]) -> int:
    dest = Path(argv[1]) if len(argv) > 1 else ROOT / "fixtures" / "damaged"
    dest.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (data, src, how, codes, at) in sorted(fixtures().items()):
        (dest / name).write_bytes(data)
        manifest[name] = {"from": src, "how": how, "expect": codes}
        if at is not None:
            manifest[name]["expect_at"] = at
    (dest / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False)
                                        + "\n")
    print(f"wrote {len(manifest)} fixtures to {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
