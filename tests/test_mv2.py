"""Locating the live segment of a .mv2 through the TOC manifest, on every real file."""

from __future__ import annotations

import pytest
from conftest import load_json, real_cases

import replayfmt as R
from replayfmt import mv2


@pytest.mark.parametrize("case", real_cases(), ids=lambda p: p.name)
def test_live_segment_is_the_one_the_toc_names(case):
    meta = load_json(case / "case.json")
    data = (case / "mem.mv2").read_bytes()
    live = mv2.live_segment(data)
    toc = meta["toc_manifest"]
    if not toc["present"]:
        assert live is None
        assert mv2.find_live_segment(data) is None
        return
    assert (live.offset, live.size, live.tag_pos) == (
        toc["segment_offset"], toc["segment_size"], toc["tag_pos"])
    assert live.manifest.total_actions == toc["total_actions"]
    current = next(s for s in meta["segments"] if s["is_current"])
    assert data[live.offset:live.offset + live.size] == (case / current["file"]).read_bytes()
    assert [str(s.session_id) for s in live.segment.sessions] == [
        s["session_id"] for s in meta["expected"]["current_sessions"]]


def test_layout_of_a_real_file():
    case = real_cases()[0]
    data = (case / "mem.mv2").read_bytes()
    lay = mv2.read_layout(data)
    assert lay.footer_pos == len(data) - 56
    assert lay.footer_offset == int.from_bytes(data[8:16], "little")
    assert lay.footer_pos - lay.footer_offset == lay.toc_len


@pytest.mark.parametrize("data, kind, offset, path", [
    (b"", "truncated", 0, "header.magic"),
    (b"XXXX" + bytes(200), "bad_magic", 0, "header.magic"),
    (b"MV2\0" + bytes(20), "truncated", 24, "header.wal_size"),
    (b"MV2\0" + bytes(200), "bad_magic", 148, "footer.magic"),
    (b"MV2\0" + bytes(200) + b"MV2FOOT!" + (2**40).to_bytes(8, "little") + bytes(40),
     "length_overflow", 212, "footer.toc_len"),
])
def test_not_a_usable_mv2(data, kind, offset, path):
    with pytest.raises(R.ReplayFormatError) as info:
        mv2.read_layout(data)
    assert (info.value.kind, info.value.offset, info.value.path) == (kind, offset, path)


def test_manifest_pointing_at_a_damaged_segment_is_an_error():
    case = next(c for c in real_cases() if c.name.startswith("p01"))
    data = bytearray((case / "mem.mv2").read_bytes())
    live = mv2.live_segment(bytes(data))
    data[live.offset + 60] ^= 0xFF  # inside the session name's length: no longer decodes
    with pytest.raises(R.ReplayFormatError) as info:
        mv2.live_segment(bytes(data))
    assert live.offset <= info.value.offset < live.offset + live.size
    assert info.value.path == "sessions[0].name"


def _moved(data: bytes, delta: int) -> bytes:
    """The file with the manifest's segment_offset moved by `delta` and every checksum
    recomputed (what a careful forger would do)."""
    from replayfmt import toc

    lay = mv2.read_layout(data)
    t = mv2.read_toc(data, lay)
    tag = t.manifest_tag_pos
    raw = bytearray(t.raw)
    rel = tag + 1 - lay.footer_offset
    old = int.from_bytes(raw[rel:rel + 8], "little")
    raw[rel:rel + 8] = (old + delta).to_bytes(8, "little")
    return toc.with_toc(data, bytes(raw))


def test_moved_manifest_is_an_error_not_none():
    case = next(c for c in real_cases() if c.name.startswith("p01"))
    data = (case / "mem.mv2").read_bytes()
    live = mv2.live_segment(data)
    with pytest.raises(R.ReplayFormatError) as info:
        mv2.live_segment(_moved(data, 1))
    err = info.value
    assert (err.kind, err.offset, err.path) == ("bad_magic", live.tag_pos + 1,
                                                "toc.replay_manifest.segment_offset")
    with pytest.raises(R.ReplayFormatError) as info:
        mv2.live_segment(_moved(data, 10**9))
    assert info.value.kind == "length_overflow"


def test_live_segment_needs_a_decodable_toc():
    case = next(c for c in real_cases() if c.name.startswith("p01"))
    data = bytearray((case / "mem.mv2").read_bytes())
    live = mv2.live_segment(bytes(data))
    data[live.tag_pos] = 7
    with pytest.raises(R.ReplayFormatError) as info:
        mv2.live_segment(bytes(data))
    assert (info.value.offset, info.value.path) == (live.tag_pos, "toc.replay_manifest")
