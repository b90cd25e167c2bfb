"""`stream_hexmap`: the same text, JSON and page as the built map, from a trace handed over
a few thousand spans at a time (within a session too), holding a bounded number of fields
whatever the size of a session (counted, not timed)."""

from __future__ import annotations

import functools
import importlib.util
import random
import struct
from pathlib import Path
from typing import Any

import gen
import pytest
from conftest import REAL

import replayfmt as R
from replayfmt import hexmap as H
from replayfmt.memvid_json import dumps
from replayfmt.text import escape
from replayfmt.trace import Span


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
    return out + _sidecar_variants()


def _sidecar(actions: int = 40, seed: int = 3) -> bytes:
    import attrs

    rng = random.Random(seed)
    act = gen.active(rng)
    s = gen.session(rng, 8)
    s = attrs.evolve(s, actions=[attrs.evolve(s.actions[i % 8], sequence=i)
                                 for i in range(actions)])
    return R.build_active_session(attrs.evolve(act, session=s))


def _sidecar_variants() -> list[tuple[str, bytes]]:
    """MV2ACTIV envelopes: clean, cut, padded and damaged (streamed as a segment's sessions
    are)."""
    env = _sidecar()
    body = 16  # magic, length prefix
    out = [("sidecar clean", env), ("sidecar trailing", env + b"\x00" * 40),
           ("sidecar cut in the session", env[:len(env) // 2]),
           ("sidecar cut in its config", env[:-3]), ("sidecar magic only", env[:8]),
           ("sidecar short length", env[:13])]
    bad = bytearray(env)
    bad[body + 16 + 8 + 8] = 0xFF  # the session's name: u64 length, bytes -> invalid UTF-8
    out.append(("sidecar bad UTF-8 in its name", bytes(bad)))
    bad = bytearray(env)
    struct.pack_into("<Q", bad, 8, len(env))  # the length prefix past the end
    out.append(("sidecar length past the end", bytes(bad)))
    return out


VARIANTS = _variants()
#: The synthetic segments and sidecars (small enough to map every few spans).
SMALL = [v for v in VARIANTS if not v[0].endswith((".bin", ".mv2"))]


def _streams_as_built(data: bytes, raw_limit: int, text: bool = True, json: bool = True,
                      html: bool = True) -> H.HexMapStream:
    """Stream `data` and check each output asked for against the built map's rendering;
    the (closed) stream, for its hexmap."""
    hm = H.build_hexmap(data)
    st = H.stream_hexmap(data, text=text, json=json, html="t" if html else None,
                         raw_limit=raw_limit)
    try:
        if text:
            assert "".join(st.text()) == H.render_text(hm, raw_limit)
        if json:
            assert b"".join(st.json()) == dumps(H.hexmap_json(hm))
        if html:
            assert b"".join(st.html()).decode() == H.render_html(hm, "t", raw_limit)
    finally:
        st.close()
    assert str(st.hexmap.error) == str(hm.error) and st.hexmap.stopped == hm.stopped
    assert st.hexmap.trace.end == hm.trace.end and st.hexmap.where == hm.where
    assert list(map(str, st.hexmap.trace.problems)) == list(map(str, hm.trace.problems))
    return st


def _handed_as_whole(batches: list[list[Span]], trace: R.trace.Trace,
                     whole: R.trace.Trace) -> list[Span]:
    """What a sink got, then what the trace kept, are the spans of the whole trace (sizes and
    completeness set in place); those spans."""
    handed = [s for b in batches for s in b] + trace.fields
    assert [(s.path, s.offset, s.size, s.kind, s.complete) for s in handed] == \
        [(s.path, s.offset, s.size, s.kind, s.complete) for s in whole.fields]
    return handed


@pytest.mark.parametrize("raw_limit", [0, 16, H.RAW_LIMIT])
@pytest.mark.parametrize("name,data", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_streamed_outputs_are_the_built_maps(name: str, data: bytes, raw_limit: int) -> None:
    _streams_as_built(data, raw_limit)


def test_a_segment_is_handed_over_session_by_session() -> None:
    """The trace gives the header's spans, then each decoded session's, to the sink and keeps
    none of them."""
    data = _segment(5)
    batches: list[list[Span]] = []
    trace = R.trace.trace_segment(data, batches.append)
    assert trace.ok and len(batches) == 6
    assert [s.path for s in batches[0]] == ["", "magic", "version", "session_count",
                                           "total_size", "sessions"]
    assert all(b[-1].path.startswith(f"sessions[{i}]") for i, b in enumerate(batches[1:]))
    whole = R.trace.trace_segment(data)
    _handed_as_whole(batches, trace, whole)


def _one_session(actions: int, metadata: int = 0, seed: int = 5) -> bytes:
    """A segment of one session of `actions` actions (8 of every variant, repeated: a session
    4 times bigger is 4 times as many of the same fields) and `metadata` metadata entries."""
    import attrs

    s = gen.session(random.Random(seed), 8)
    s = attrs.evolve(s, actions=[attrs.evolve(s.actions[i % 8], sequence=i)
                                 for i in range(actions)],
                     metadata={f"key{i:06d}": "v" * (i % 5) for i in range(metadata)})
    return R.build_segment([s])


def _in_pieces(monkeypatch: pytest.MonkeyPatch, tracer: Any, data: bytes
               ) -> tuple[list[list[Span]], R.trace.Trace, dict[tuple[str, str], Span]]:
    """`data` traced for a sink every 64 spans: each piece after the first ends on a leaf that
    holds bytes, and all are the whole trace's spans. (pieces, whole trace, spans handed by
    (path, kind))."""
    monkeypatch.setattr(R.trace, "HAND_OVER", 64)
    batches: list[list[Span]] = []
    trace = tracer(data, batches.append)
    assert trace.ok
    for b in batches[1:]:
        assert len(b) <= 64 + 8 and b[-1].is_leaf and b[-1].size > 0
    whole = tracer(data)
    handed = _handed_as_whole(batches, trace, whole)
    return batches, whole, {(s.path, s.kind): s for s in handed}


def test_a_session_is_handed_over_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within a session the spans go every HAND_OVER of them, each piece ending on a leaf
    that holds bytes; composites still open are finished in place; the values of structs,
    vectors and maps are not built (their counts are kept)."""
    batches, whole, by_path = _in_pieces(monkeypatch, R.trace.trace_segment,
                                         _one_session(200, metadata=50))
    assert len(batches) > 50
    assert isinstance(by_path["sessions[0].actions", "vec"].value, R.trace.Elided)
    assert len(by_path["sessions[0].actions", "vec"].value) == 200
    assert len(by_path["sessions[0].metadata", "map"].value) == 50
    assert isinstance(by_path["sessions[0]", "struct"].value, R.trace.Elided)
    vec = whole.find("sessions[0].actions", "vec")
    assert vec is not None and vec.value[0]["sequence"] == 0  # no sink: values


@pytest.mark.parametrize("entry", [0, 1, 37, 49])
def test_a_repeated_map_key_is_mapped_as_when_traced_whole(monkeypatch: pytest.MonkeyPatch,
                                                            entry: int) -> None:
    """A duplicate key stops decoding at the key, before the entry's spans already recorded:
    the spans of a map entry are held until its key is known to be new, so the streamed map
    (handed over every 5 spans, spilled every 3 fields) is the built one."""
    monkeypatch.setattr(R.trace, "HAND_OVER", 5)
    monkeypatch.setattr(H, "SPILL_AT", 3)
    bad = bytearray(_one_session(20, metadata=50))
    at = bad.find(b"key%06d" % entry)
    bad[at:at + 9] = b"key%06d" % (entry - 1 if entry else 1)
    data = bytes(bad)
    st = _streams_as_built(data, 64)
    err = st.hexmap.error
    assert err is not None and err.kind == "duplicate_key", err


@pytest.mark.parametrize("hand_over,spill_at", [(1, 1), (3, 2), (50, 13)])
@pytest.mark.parametrize("name,data", SMALL, ids=[v[0] for v in SMALL])
def test_small_pieces_and_spills_give_the_built_map(monkeypatch: pytest.MonkeyPatch, name: str,
                                                    data: bytes, hand_over: int,
                                                    spill_at: int) -> None:
    """Handed over every few spans and spilled every few fields (every batch boundary and
    spill point a session can have), the outputs are still the built map's."""
    monkeypatch.setattr(R.trace, "HAND_OVER", hand_over)
    monkeypatch.setattr(H, "SPILL_AT", spill_at)
    for text, json, html in ((True, False, False), (False, True, False), (False, False, True),
                             (True, True, True)):
        _streams_as_built(data, 16, text, json, html)


def _held(monkeypatch: pytest.MonkeyPatch, data: bytes, damaged: bool = False) -> int:
    """The most fields the map holds at once (built, waiting, spilled but open, or listed
    under a row) while streaming `data`."""
    most = [0]
    feed = H._Builder.feed

    def counted(self: H._Builder, spans: list[Span], final: bool) -> None:
        feed(self, spans, final)
        assert isinstance(self.out, H._Tee) and isinstance(self.out.outs[0], H._Text)
        text = self.out.outs[0]
        held = (len(spans) + len(self.pending) + len(self.head or ()) + len(self.stack)
                + sum(map(len, text.starts.values())) + len(text.unparsed))
        most[0] = max(most[0], held)

    with monkeypatch.context() as m:
        m.setattr(H._Builder, "feed", counted)
        st = H.stream_hexmap(data, text=True, json=True, html="t")
    try:
        assert (st.hexmap.error is not None) == damaged
        assert sum(len(p) for p in st.text()) > 0
        assert sum(len(p) for p in st.json()) > 0 and sum(len(p) for p in st.html()) > 0
    finally:
        st.close()
    return most[0]


def test_fields_held_do_not_grow_with_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    held = {n: _held(monkeypatch, _segment(n, seed=5)) for n in (10, 100, 300)}
    # the same sessions repeat (seeded): what is held is a session's worth, whatever the count
    assert held[300] <= held[10] * 1.5, held
    built = len(H.build_hexmap(_segment(300, seed=5)).nodes)
    assert held[300] * 50 < built, (held, built)


def test_a_sidecar_is_handed_over_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """An MV2ACTIV envelope's spans go to the sink as a segment's session's do: the magic and
    the length first, then every HAND_OVER spans; the same spans as traced whole, values of
    composites not built (before, a sidecar was traced whole whatever its size)."""
    batches, whole, by_path = _in_pieces(monkeypatch, R.trace.trace_active_session,
                                         _sidecar(300))
    assert len(batches) > 20 and [s.path for s in batches[0]] == ["", "magic", "length"]
    assert isinstance(by_path["session.actions", "vec"].value, R.trace.Elided)
    assert len(by_path["session.actions", "vec"].value) == 300
    assert whole.value["session"]["actions"][299]["sequence"] == 299  # no sink: values


def test_fields_held_do_not_grow_with_the_sidecar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(R.trace, "HAND_OVER", 32)
    monkeypatch.setattr(H, "SPILL_AT", 32)
    data = {n: _sidecar(n) for n in (60, 240)}
    held = {n: _held(monkeypatch, data[n]) for n in data}
    built = len(H.build_hexmap(data[240]).nodes)
    assert held[240] <= held[60] * 1.1 and held[240] < 200, held
    assert held[240] * 40 < built, (held, built)


def test_fields_held_do_not_grow_with_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """One session: what the map holds at once (fields) and the most memory it allocates
    while tracing and rendering (tracemalloc) stay the same for a session 4 times bigger;
    before, both grew with the session (every span and node of it, and its decoded value,
    were held until it closed). Small pieces and spills, so that small sessions show it."""
    import tracemalloc

    monkeypatch.setattr(R.trace, "HAND_OVER", 32)
    monkeypatch.setattr(H, "SPILL_AT", 32)
    sizes = (60, 240)
    data = {n: _one_session(n, metadata=8) for n in sizes}
    held = {n: _held(monkeypatch, data[n]) for n in sizes}
    built = len(H.build_hexmap(data[240]).nodes)
    assert held[240] <= held[60] * 1.1 and held[240] < 200, held
    assert held[240] * 40 < built, (held, built)

    def peak(d: bytes) -> int:
        tracemalloc.start()
        try:
            st = H.stream_hexmap(d, text=True, json=True, html="t")
            st.close()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(data[60])  # caches filled once (imports, schema lookups), not counted
    peaks = {n: peak(data[n]) for n in sizes}
    assert peaks[240] <= peaks[60] * 1.2, peaks
    assert peaks[240] < len(data[240]), (peaks, len(data[240]))


def test_cli_streams_the_same_bytes(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
                                    ) -> None:
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


# --- a .mv2: its live segment streamed ------------------------------------------------------

def _mv2_with(segment: bytes, size: int | None = None) -> bytes:
    """The real p09 .mv2 with `segment` written before its TOC and named the live one by the
    manifest (`size`: the segment_size it declares, default its length), checksums kept
    consistent; the old segment is left as unreferenced bytes."""
    from replayfmt import mv2, toc

    data = (REAL / "p09_auto_checkpoint_3" / "mem.mv2").read_bytes()
    lay = mv2.read_layout(data)
    t = mv2.read_toc(data, lay)
    start = lay.footer_offset
    head = bytearray(data[:start])
    at = head.find(struct.pack("<Q", start), 0, 4096)
    struct.pack_into("<Q", head, at, start + len(segment))
    manifest = {**t.value["replay_manifest"], "segment_offset": start,
                "segment_size": len(segment) if size is None else size}
    value = {**t.value, "replay_manifest": manifest}
    return toc.with_toc(bytes(head) + segment + data[start:], toc.build_toc(value, t.layout))


def _mv2_variants() -> list[tuple[str, bytes]]:
    """Every .mv2 fixture, and the real p09 .mv2 around each synthetic segment variant (clean,
    cut, damaged inside a session: its trace stops) and around one big session."""
    root = Path(__file__).resolve().parent.parent / "fixtures"
    out = [(str(p.relative_to(root)), p.read_bytes()) for p in sorted(root.rglob("*.mv2"))]
    segs = [v for v in SMALL if not v[0].startswith("sidecar")]
    out += [(f"mv2 around {name}", _mv2_with(seg)) for name, seg in segs]
    seg = _segment(7)
    out.append(("mv2 segment_size cut in a session", _mv2_with(seg, len(seg) - 50)))
    out.append(("mv2 around a 300-action session", _mv2_with(_one_session(300, metadata=20))))
    return out


MV2_VARIANTS = _mv2_variants()
#: The synthetic ones (small enough to map every few spans).
MV2_SMALL = [v for v in MV2_VARIANTS if v[0].startswith("mv2 ")]


def test_the_mv2_variants_are_what_they_say() -> None:
    assert len(MV2_VARIANTS) > 45 and any("damaged" in n for n, _ in MV2_VARIANTS)
    for _, data in MV2_SMALL:
        hm = H.build_hexmap(data)
        assert hm.file_kind == "mv2" and "live replay segment at offset 141981" in hm.where
        seg = hm.trace.find("replay_segment")
        assert seg is not None and seg.offset == 141981
    stopped = [n for n, d in MV2_SMALL if H.build_hexmap(d).error is not None]
    assert "mv2 around bad UTF-8 in a middle session" in stopped
    assert "mv2 segment_size cut in a session" in stopped
    assert "mv2 around clean" not in stopped


@pytest.mark.parametrize("raw_limit", [16, H.RAW_LIMIT])
@pytest.mark.parametrize("name,data", MV2_VARIANTS, ids=[v[0] for v in MV2_VARIANTS])
def test_streamed_mv2_outputs_are_the_built_maps(name: str, data: bytes, raw_limit: int
                                                 ) -> None:
    _streams_as_built(data, raw_limit)


@pytest.mark.parametrize("hand_over,spill_at", [(1, 1), (3, 2), (50, 13)])
@pytest.mark.parametrize("name,data", MV2_SMALL, ids=[v[0] for v in MV2_SMALL])
def test_small_pieces_and_spills_of_a_mv2_give_the_built_map(
        monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, hand_over: int,
        spill_at: int) -> None:
    monkeypatch.setattr(R.trace, "HAND_OVER", hand_over)
    monkeypatch.setattr(H, "SPILL_AT", spill_at)
    _streams_as_built(data, 16)


def _handed_mv2(data: bytes) -> tuple[list[list[Span]], R.trace.Trace]:
    batches: list[list[Span]] = []
    return batches, R.trace.trace_mv2(data, batches.append)


@pytest.mark.parametrize("name", ["mv2 around a 300-action session",
                                  "mv2 around bad UTF-8 in a middle session",
                                  "mv2 segment_size cut in a session",
                                  "mv2 around short header"])
def test_a_mv2s_live_segment_is_handed_over_in_pieces(monkeypatch: pytest.MonkeyPatch,
                                                      name: str) -> None:
    """The container's spans before the live segment go with the segment's first piece, then
    the segment's pieces at their absolute offsets (composites finished in place with their
    absolute sizes, also when its trace stops), then the rest of the data region and the TOC
    (traced again at its place, its value `Elided`); the footer's spans stay in the trace.
    When the segment's trace stops, its open spans end there and are `closed`: the spans after
    them are handed over too (before, they stayed in the trace until the end). The same spans
    as traced whole, with the same problems."""
    monkeypatch.setattr(R.trace, "HAND_OVER", 64)
    data = dict(MV2_VARIANTS)[name]
    batches, trace = _handed_mv2(data)
    whole = R.trace.trace_mv2(data)
    _handed_as_whole(batches, trace, whole)
    assert list(map(repr, trace.problems)) == list(map(repr, whole.problems))
    assert trace.end == whole.end and trace.fields[-1].path.startswith("footer")
    value, toc = dict(trace.value), trace.value["toc"]
    assert {**value, "toc": None} == {**whole.value, "toc": None}
    stopped = whole.error is not None  # the live segment's trace stopped
    assert batches[0][0].kind == "mv2"
    handed = [s for b in batches for s in b]
    if name == "mv2 around short header":  # the segment stopped before handing anything
        assert stopped and any(s.kind == "segment" for s in handed)
    else:
        seg = next(b for b in batches if any(s.kind == "segment" for s in b))
        assert seg[-1].path == "sessions" and len(batches) > 5
    if stopped:
        open_ = [s for s in (*handed, *trace.fields) if not s.complete and s.kind != "mv2"]
        assert open_ and all(s.closed for s in open_)
        assert all(s.end <= whole.end for s in open_)
    assert isinstance(toc, R.trace.Elided) and len(toc) == len(whole.value["toc"])
    assert any(s.path.startswith("toc.frames[") for s in handed)
    assert all(s.path.startswith(("toc", "footer")) for s in trace.fields)
    assert len(trace.fields) <= 64 + 8


def test_fields_held_do_not_grow_with_a_mv2s_session(monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    """A .mv2 whose live segment holds one session: what its map holds at once (the
    container's own fields, its TOC's last, and a few pieces of the session) stays the same
    for a session 4 times bigger; before, the .mv2 was traced whole and every field of the
    session held (2,809 fields, then 6,783)."""
    monkeypatch.setattr(R.trace, "HAND_OVER", 32)
    monkeypatch.setattr(H, "SPILL_AT", 32)
    data = {n: _mv2_with(_one_session(n, metadata=8)) for n in (60, 240)}
    held = {n: _held(monkeypatch, data[n]) for n in data}
    built = {n: len(H.build_hexmap(data[n]).nodes) for n in data}
    assert built[240] - built[60] > 3000, built  # the session's fields
    assert held[240] <= held[60] * 1.05, (held, built)


@pytest.mark.parametrize("sink", [False, True], ids=["whole", "sink"])
@pytest.mark.parametrize("name,data", MV2_VARIANTS, ids=[v[0] for v in MV2_VARIANTS])
def test_a_mv2s_live_segment_is_traced_as_the_segment_alone(name: str, data: bytes,
                                                            sink: bool) -> None:
    """The live segment's spans in a .mv2's trace are the segment's own trace moved to its
    offset: where its decoding stops, its open composites end there and the rest of it is
    one undecoded range (before: they ran to the end of the file, over the TOC and the
    footer; damaged/mv2_live_damaged.mv2's 602-byte segment was mapped as 3,817 bytes)."""
    if sink:
        batches, trace = _handed_mv2(data)
        spans = [s for b in batches for s in b] + trace.fields
    else:
        trace = R.trace.trace_mv2(data)
        spans = trace.fields
    root = next((s for s in spans if s.path == "replay_segment" and s.kind == "segment"), None)
    if root is None:
        return  # no live segment laid out whole
    manifest = R.trace.trace_mv2(data).value["toc"]["replay_manifest"]  # (with a sink: Elided)
    so, ss = manifest["segment_offset"], manifest["segment_size"]
    assert root.offset == so
    alone = R.trace.trace_segment(data[so:so + ss])
    at = spans.index(root)
    ours = spans[at:at + len(alone.fields)]
    assert [(s.path, s.offset, s.size, s.kind, s.complete) for s in ours] == \
        [(s.path or "replay_segment", so + s.offset, s.size, s.kind, s.complete)
         for s in alone.fields]
    assert max(s.offset + s.size for s in ours) == so + ss
    assert all(s.offset >= so + ss for s in spans[at + len(alone.fields):])
    where = H.build_hexmap(data).where
    assert f"live replay segment at offset {so} (0x{so:x}), {ss} bytes" in where
    assert ("decoded)" in where) == (root.size != ss)


# --- a .mv2 with many frames: its own fields streamed ---------------------------------------

@functools.cache
def _frames(n: int, payloads: bool = False) -> bytes:
    """An `n`-frame .mv2 as benchmarks/toc.py builds it (memvid-sdk 2.0.160's fixture, its
    frame records repeated, checksums recomputed; its live segment kept). Its frames' payloads
    are empty; with `payloads`, frame i's is 1 + i % 50 bytes spread over the data region
    (overlapping each other, the live segment and what the catalog names)."""
    from replayfmt import mv2, toc

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "toc.py"
    spec = importlib.util.spec_from_file_location("_bench_toc", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = bytes(bench.build(n))
    if not payloads:
        return data
    lay, t = mv2.read_layout(data), mv2.read_toc(data)
    wal_offset, wal_size = struct.unpack_from("<QQ", data, 16)
    lo = wal_offset + wal_size  # after the header page and the WAL
    frames = [dict(f, payload_offset=lo + (i * 331) % (lay.footer_offset - lo - 64),
                   payload_length=1 + i % 50) for i, f in enumerate(t.frames)]
    return toc.with_toc(data, toc.encode_toc(t, dict(t.value, frames=frames)))


def _frames_variants() -> list[tuple[str, bytes]]:
    """300 frames: clean, its TOC damaged half-way through the frames (does not decode), its
    live segment damaged (its trace stops in the first session)."""
    from replayfmt import mv2

    data = _frames(300)
    lay = mv2.read_layout(data)
    bad_toc = bytearray(data)
    bad_toc[lay.footer_offset + lay.toc_len // 2] = 0xFF
    manifest = mv2.read_toc(data, lay).value["replay_manifest"]
    bad_seg = bytearray(data)
    bad_seg[manifest["segment_offset"] + 24 + 8 + 16 + 8 + 8] = 0xFF  # sessions[0].name
    return [("300 frames", data), ("300 frames, TOC damaged", bytes(bad_toc)),
            ("300 frames, live segment damaged", bytes(bad_seg)),
            ("300 frames with payloads", _frames(300, payloads=True))]


FRAMES_VARIANTS = _frames_variants()


def test_the_many_frames_variants_are_what_they_say() -> None:
    clean, bad_toc, bad_seg, payloads = (R.trace.trace_mv2(d) for _, d in FRAMES_VARIANTS)
    assert clean.ok and len(clean.value["toc"]["frames"]) == 300
    assert payloads.ok and sum(s.path.startswith("frame#") for s in payloads.fields) > 150
    assert any("overlaps" in (s.value or {}) for s in payloads.fields if s.kind == "range")
    assert bad_toc.error is not None and bad_toc.error.path.startswith("toc.frames[1")
    assert bad_seg.error is not None and bad_seg.error.path == "sessions[0].name"
    assert bad_seg.value is not None and len(bad_seg.value["toc"]["frames"]) == 300


@pytest.mark.parametrize("hand_over,spill_at", [(4096, 4096), (7, 5), (100, 64)])
@pytest.mark.parametrize("name,data", FRAMES_VARIANTS, ids=[v[0] for v in FRAMES_VARIANTS])
def test_streamed_outputs_of_a_mv2_with_many_frames_are_the_built_maps(
        monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, hand_over: int,
        spill_at: int) -> None:
    """Its data region (WAL records, frame payloads, the live segment, unreferenced bytes)
    and its TOC handed over as they are laid out, in pieces of every size: the same text,
    JSON and page as the built map."""
    monkeypatch.setattr(R.trace, "HAND_OVER", hand_over)
    monkeypatch.setattr(H, "SPILL_AT", spill_at)
    _streams_as_built(data, 16)


@pytest.mark.parametrize("name,data", [*FRAMES_VARIANTS, *MV2_VARIANTS],
                         ids=[v[0] for v in (*FRAMES_VARIANTS, *MV2_VARIANTS)])
def test_a_mv2s_own_fields_are_handed_over(monkeypatch: pytest.MonkeyPatch, name: str,
                                           data: bytes) -> None:
    """Traced for a sink, a .mv2's spans go to it as its data region is laid out and as its
    TOC is traced at its place; only the last few (the footer's) stay in the trace: the same
    spans as traced whole, with the same problems, end and value (the TOC's `Elided`), also
    when the TOC does not decode (its data region is then one undecoded run, summarised by
    the text map once decoding is known to have gone past it) and when the live segment's
    trace stopped (its open spans end there, `closed`)."""
    monkeypatch.setattr(R.trace, "HAND_OVER", 64)
    batches, trace = _handed_mv2(data)
    whole = R.trace.trace_mv2(data)
    _handed_as_whole(batches, trace, whole)
    assert list(map(repr, trace.problems)) == list(map(repr, whole.problems))
    assert trace.end == whole.end
    if whole.value is None:  # the TOC does not decode (or no footer: no TOC)
        assert trace.value is None
        if name == "300 frames, TOC damaged":
            assert len(batches) > 10 and len(trace.fields) <= 64 + 8
        return
    assert {**trace.value, "toc": None} == {**whole.value, "toc": None}
    assert isinstance(trace.value["toc"], R.trace.Elided)
    assert len(trace.value["toc"]) == len(whole.value["toc"])
    assert len(trace.fields) <= 64 + 8 and trace.fields[-1].path.startswith("footer")
    assert not any(s.kind == "range" and s.path.startswith("frame#") for s in trace.fields)


@pytest.mark.parametrize("payloads", [False, True], ids=["empty payloads", "payloads"])
def test_fields_held_do_not_grow_with_the_number_of_frames(monkeypatch: pytest.MonkeyPatch,
                                                            payloads: bool) -> None:
    """What the map of a .mv2 holds at once stays the same for 4 times as many frames; before,
    its TOC's fields and its data region's after the live segment were held to the end
    (32,606 fields for 200 frames, 126,206 for 800; 622 and 623 now)."""
    monkeypatch.setattr(R.trace, "HAND_OVER", 256)
    monkeypatch.setattr(H, "SPILL_AT", 256)
    held = {n: _held(monkeypatch, _frames(n, payloads)) for n in (200, 800)}
    built = {n: len(H.build_hexmap(_frames(n, payloads)).nodes) for n in (200, 800)}
    assert built[800] > built[200] * 3.5, built
    assert held[800] <= held[200] * 1.1, (held, built)
    assert held[800] * 50 < built[800], (held, built)


@pytest.mark.parametrize("damage", ["toc", "live segment"])
def test_fields_held_do_not_grow_with_the_frames_of_a_damaged_mv2(
        monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    """A .mv2 whose TOC stops decoding near its end (one byte of its last frame's records),
    or whose live segment's trace stops in its first session: its map holds the same few
    fields for 4 times as many frames, and the text map still summarises what is undecoded;
    before, the TOC's fields were all held (a 10k-frame file with a bad TOC: 793 MB peak
    against 49 MB clean), or all that followed the stopped segment."""
    from replayfmt import mv2

    monkeypatch.setattr(R.trace, "HAND_OVER", 256)
    monkeypatch.setattr(H, "SPILL_AT", 256)
    data = {}
    for n in (200, 800):
        good = _frames(n)
        lay = mv2.read_layout(good)
        bad = bytearray(good)
        if damage == "toc":
            bad[lay.footer_offset + lay.toc_len - 150] ^= 0x80  # as in the 10k measurement
        else:
            so = mv2.read_toc(good, lay).value["replay_manifest"]["segment_offset"]
            bad[so + 24 + 8 + 16 + 8 + 8] = 0xFF  # sessions[0].name: bad UTF-8
        data[n] = bytes(bad)
    held = {n: _held(monkeypatch, data[n], damaged=True) for n in data}
    hm = H.build_hexmap(data[800])
    assert hm.error is not None and hm.error.path.startswith(
        "toc." if damage == "toc" else "sessions[0]"), hm.error
    assert len(hm.nodes) > 4 * held[800], (held, len(hm.nodes))
    assert held[800] <= held[200] * 1.1, held
    if damage == "toc":
        assert "bytes of data not shown" in H.render_text(hm)
    _streams_as_built(data[800], 16)
