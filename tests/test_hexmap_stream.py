"""`stream_hexmap`: the same text, JSON and page as the built map, from a trace handed over
session by session, holding one session's fields at a time (counted, not timed)."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import gen
import pytest
from conftest import REAL

import replayfmt as R
from replayfmt import hexmap as H
from replayfmt.memvid_json import dumps
from replayfmt.text import escape


def _segment(n: int, seed: int = 3, actions: int = 6) -> bytes:
    rng = random.Random(seed)
    return R.build_segment([gen.session(rng, actions) for _ in range(n)])


def _blocks(data: bytes) -> list[tuple[int, int]]:
    """(start, stop) of each session record."""
    out, p = [], 24
    while p + 8 <= len(data):
        (n,) = struct.unpack_from("<Q", data, p)
        out.append((p + 8, p + 8 + n))
        p += 8 + n
    return out


def _variants() -> list[tuple[str, bytes]]:
    seg = _segment(7)
    blocks = _blocks(seg)
    mid, last = blocks[3], blocks[-1]
    out = [("clean", seg), ("trailing", seg + b"\x00" * 100),
           ("cut in a middle session", seg[:(mid[0] + mid[1]) // 2]),
           ("cut in the last session", seg[:last[1] - 3]),
           ("cut in a length prefix", seg[:mid[0] - 3]),
           ("one session missing", seg[:mid[0] - 8]),
           ("header only", seg[:24]), ("short header", seg[:11])]
    bad = bytearray(seg)
    bad[mid[0] + 16 + 8 + 8] = 0xFF  # the session's name: u64 length, bytes -> invalid UTF-8
    out.append(("bad UTF-8 in a middle session", bytes(bad)))
    bad = bytearray(seg)
    struct.pack_into("<I", bad, 12, 9)  # session_count
    out.append(("session_count wrong", bytes(bad)))
    bad = bytearray(seg)
    struct.pack_into("<Q", bad, mid[0] - 8, 1 << 40)  # a length prefix past the end
    out.append(("length prefix past the end", bytes(bad)))
    for p in (REAL / "p09_auto_checkpoint_3").iterdir():
        if p.suffix in (".bin", ".mv2"):
            out.append((p.name, p.read_bytes()))
    return out


VARIANTS = _variants()


@pytest.mark.parametrize("raw_limit", [0, 16, H.RAW_LIMIT])
@pytest.mark.parametrize("name,data", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_streamed_outputs_are_the_built_maps(name, data, raw_limit):
    hm = H.build_hexmap(data)
    st = H.stream_hexmap(data, text=True, json=True, html="t", raw_limit=raw_limit)
    try:
        assert "".join(st.text()) == H.render_text(hm, raw_limit)
        assert b"".join(st.json()) == dumps(H.hexmap_json(hm))
        assert b"".join(st.html()).decode() == H.render_html(hm, "t", raw_limit)
    finally:
        st.close()
    assert str(st.hexmap.error) == str(hm.error) and st.hexmap.stopped == hm.stopped
    assert st.hexmap.trace.end == hm.trace.end and st.hexmap.where == hm.where


def test_a_segment_is_handed_over_session_by_session():
    """The trace gives each decoded session's spans to the sink and keeps none of them."""
    data = _segment(5)
    batches: list[list] = []
    trace = R.trace.trace_segment(data, batches.append)
    assert trace.ok and len(batches) == 5
    whole = R.trace.trace_segment(data)
    handed = [s for b in batches for s in b] + trace.fields
    assert [(s.path, s.offset, s.size, s.kind, s.complete) for s in handed] == \
        [(s.path, s.offset, s.size, s.kind, s.complete) for s in whole.fields]


def _held(monkeypatch, n: int) -> int:
    """The most fields the map holds at once (built, waiting or listed under a row) while
    streaming a segment of n sessions."""
    most = [0]
    feed = H._Builder.feed

    def counted(self, spans, final):
        feed(self, spans, final)
        text = self.out.outs[0]
        held = (len(spans) + len(self.pending) + len(self.head or ())
                + sum(map(len, text.starts.values())) + len(text.unparsed))
        most[0] = max(most[0], held)

    with monkeypatch.context() as m:
        m.setattr(H._Builder, "feed", counted)
        st = H.stream_hexmap(_segment(n, seed=5), text=True, json=True, html="t")
    try:
        assert st.hexmap.error is None
        assert sum(len(p) for p in st.text()) > 0
    finally:
        st.close()
    return most[0]


def test_fields_held_do_not_grow_with_the_file(monkeypatch):
    held = {n: _held(monkeypatch, n) for n in (10, 100, 300)}
    # the same sessions repeat (seeded): what is held is a session's worth, whatever the count
    assert held[300] <= held[10] * 1.5, held
    built = len(H.build_hexmap(_segment(300, seed=5)).nodes)
    assert held[300] * 50 < built, (held, built)


def test_cli_streams_the_same_bytes(tmp_path, capsysbinary):
    """The command's three outputs, from the stream, are the library's renderings."""
    from replayfmt.cli import main

    f = tmp_path / "seg.bin"
    f.write_bytes(VARIANTS[8][1])  # bad UTF-8 in a middle session
    hm = H.build_hexmap(f.read_bytes())
    assert main(["hexmap", str(f)]) == 1
    assert capsysbinary.readouterr().out == escape(H.render_text(hm), newlines=True).encode()
    assert main(["hexmap", "--json", str(f)]) == 1
    assert capsysbinary.readouterr().out == dumps(H.hexmap_json(hm))
    page = tmp_path / "map.html"
    assert main(["hexmap", str(f), "-o", str(page)]) == 1
    assert page.read_text() == H.render_html(hm, f"{f} — replayfmt hexmap")
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["map.html", "seg.bin"]
