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


def test_manifest_pointing_at_a_damaged_segment_means_no_live_segment():
    case = next(c for c in real_cases() if c.name.startswith("p01"))
    data = bytearray((case / "mem.mv2").read_bytes())
    live = mv2.live_segment(bytes(data))
    data[live.offset + 60] ^= 0xFF  # inside the session name: no longer decodes the same
    again = mv2.live_segment(bytes(data))
    assert again is None or again.segment != live.segment
