"""`replayfmt hexmap`: the field map of every real file, the xxd text, damaged input, whole
`.mv2` containers, and the HTML page driven in a real headless Chromium."""

from __future__ import annotations

import html as htmlmod
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
from _real import active_files, ids, mv2_files, real_dir, segment_files

from replayfmt import parse_active_session, parse_segment
from replayfmt.cli import main
from replayfmt.hexmap import build_hexmap, render_html, render_text

ALL = segment_files() + active_files()


def _leaf_nodes(hm):
    return [hm.nodes[i] for i in hm.leaves]


def _assert_partition(hm):
    """The leaf fields cover the mapped region exactly, in order, without gaps or overlap."""
    pos = hm.base
    for n in _leaf_nodes(hm):
        assert n.offset == pos, f"gap or overlap at {pos}: {n.path} starts at {n.offset}"
        pos = n.end
    assert pos == hm.stop


def _damaged():
    data = bytearray((real_dir() / "p01_basic_put_find" / "segment-0.bin").read_bytes())
    data[0x114] = 9  # the second action's ActionType index
    return bytes(data)


# --- the map ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_every_byte_of_every_real_file_is_named(path):
    data = path.read_bytes()
    hm = build_hexmap(data)
    assert hm.error is None and not hm.stopped
    _assert_partition(hm)
    for n in hm.nodes:  # composites hold their children
        if n.parent >= 0:
            p = hm.nodes[n.parent]
            assert p.offset <= n.offset and n.end <= p.end
    if hm.record_kind == "segment":
        sessions = parse_segment(data).sessions
        prefix = "sessions[{}]."
    else:
        sessions = [parse_active_session(data).session]
        prefix = "session."
    by_path = {}
    for n in hm.nodes:
        by_path.setdefault((n.path, n.kind), n)
    for i, s in enumerate(sessions):
        pre = prefix.format(i)
        assert by_path[(pre + "session_id", "uuid")].label == str(s.session_id)
        assert by_path[(pre + "created_secs", "i64")].value == s.created_secs
        for j, a in enumerate(s.actions):
            node = by_path[(f"{pre}actions[{j}].input_preview", "string")]
            assert node.value == a.input_preview
            assert node.size == 8 + len(a.input_preview.encode())
            assert by_path[(f"{pre}actions[{j}].input_hash", "bytes")].value == a.input_hash
            assert by_path[(f"{pre}actions[{j}].action_type", "variant")].value == \
                a.action_type.VARIANT


SOME = ALL[:6] + active_files()[:2]


@pytest.mark.parametrize("path", SOME, ids=ids(SOME))
def test_text_is_xxd_and_names_every_field(path):
    data = path.read_bytes()
    hm = build_hexmap(data)
    text = render_text(hm)
    rebuilt = bytearray()
    for m in re.finditer(r"^([0-9a-f]{8}): (.{39})  ", text, re.M):
        rebuilt += bytes.fromhex(m.group(2).replace(" ", ""))
    assert bytes(rebuilt) == data, "the hex lines do not reproduce the file"
    for n in _leaf_nodes(hm):
        assert re.search(rf"[├└] {n.offset:#07x} +{n.size}  {re.escape(n.path)}(?= )", text), n.path


def test_mv2_maps_every_byte_of_the_container():
    checked = 0
    for path in mv2_files():
        case = json.loads((path.parent / "case.json").read_text())
        toc = case["toc_manifest"]
        data = path.read_bytes()
        hm = build_hexmap(data)
        assert (hm.file_kind, hm.record_kind, hm.base, hm.stop) == ("mv2", "mv2", 0, len(data))
        assert hm.error is None
        _assert_partition(hm)
        paths = {n.path: n for n in hm.nodes}
        assert paths["header.magic"].offset == 0 and paths["footer.generation"].end == len(data)
        assert "toc.frames" in paths and "wal" in paths
        if toc["present"]:
            seg = paths["replay_segment"]
            assert (seg.offset, seg.size) == (toc["segment_offset"], toc["segment_size"])
            current = path.parent / f"segment-{toc['segment_index']}.bin"
            assert data[seg.offset:seg.end] == current.read_bytes()
            assert f"live replay segment at offset {seg.offset} (0x{seg.offset:x})" in hm.where
            assert paths["sessions"].offset > seg.offset  # the segment's own field paths
        else:
            assert "replay_segment" not in paths and "no live replay segment" in hm.where
        text = render_text(hm)
        for n in _leaf_nodes(hm):
            assert re.search(rf"[├└] {n.offset:#07x} +{n.size}  {re.escape(n.path)}(?= )",
                             text), n.path
        # a range's middle rows are summarised: the dump follows the fields, not the bytes
        free = paths["wal.free"]
        assert re.search(rf"\.\.\. \d+ bytes of wal\.free not shown \(\d+\.\.{free.end}\)", text)
        assert len(text.splitlines()) < 2 * len(hm.nodes) + 400
        checked += 1
    assert checked >= 19


def test_mv2_frame_payloads_are_named_by_frame_id():
    data = (real_dir() / "p08_put_variants" / "mem.mv2").read_bytes()
    hm = build_hexmap(data)
    payloads = [n for n in _leaf_nodes(hm) if n.path.startswith("frame#")]
    assert payloads
    frames = {n.path: n.value for n in hm.nodes if re.fullmatch(r"toc\.frames\[\d+\]", n.path)}
    for n in payloads:
        assert n.kind == "range"
        frame = frames[n.value["toc"]]
        assert n.path == f"frame#{frame['id']}.payload" and n.value["frame_id"] == frame["id"]
        assert (n.offset, n.size) == (frame["payload_offset"], frame["payload_length"])
        assert f"{n.size} bytes, frame id {frame['id']}" in n.label
    assert any(p.path.startswith("frame#") for p in payloads)


def test_mv2_big_file_map_is_bounded():
    """A 4 MiB container (a 4 MiB WAL): one range field, a few summary lines, a small page."""
    import gzip

    data = gzip.decompress((real_dir().parent / "sdk" / "2.0.124" / "mem.mv2.gz").read_bytes())
    assert len(data) > 4_000_000
    hm = build_hexmap(data)
    _assert_partition(hm)
    wal = next(n for n in hm.nodes if n.path == "wal")
    free = next(n for n in hm.nodes if n.path == "wal.free")
    assert wal.size == 4_194_304 and free.is_leaf and free.end == wal.end
    assert free.size > 4_000_000
    text = render_text(hm)
    page = render_html(hm)
    assert len(text) < 600_000 and len(page) < 600_000
    assert re.search(rf"\.\.\. \d+ bytes of wal\.free not shown \(\d+\.\.{free.end}\)", text)


def test_damaged_mv2_maps_what_decoded():
    from replayfmt.mv2 import read_layout

    data = bytearray((real_dir() / "p10_two_cycles" / "mem.mv2").read_bytes())
    layout = read_layout(bytes(data))
    data[layout.footer_offset + 100:layout.footer_offset + 108] = b"\xff" * 8
    hm = build_hexmap(bytes(data))
    _assert_partition(hm)
    assert hm.stopped and hm.error.path.startswith("toc.")
    paths = {n.path for n in hm.nodes}
    assert {"header.footer_offset", "wal", "footer.toc_hash", "data"} <= paths
    text = render_text(hm)
    assert f"# decoding stopped: {hm.error.path} at offset {hm.error.offset}" in text
    assert "(does not decode)" in hm.where


def test_damaged_file_maps_what_decoded_then_raw_bytes():
    data = _damaged()
    hm = build_hexmap(data)
    assert hm.stopped and hm.error.kind == "unknown_variant" and hm.error.offset == 0x114
    _assert_partition(hm)
    last = _leaf_nodes(hm)[-1]
    assert (last.kind, last.offset, last.end) == ("unparsed", 0x114, len(data))
    decoded = [n.path for n in _leaf_nodes(hm)[:-1]]
    assert "sessions[0].actions[1].timestamp_secs" in decoded
    text = render_text(hm)
    assert "# decoding stopped: sessions[0].actions[1].action_type at offset 276" in text
    assert text.count("\n00000250: ") == 1  # the raw tail is dumped
    short = render_text(hm, raw_limit=32)
    assert "more raw bytes not shown" in short and "00000250: " not in short


def test_truncated_and_foreign_input():
    whole = (real_dir() / "p12_sidecar_moments" / "active-2.bin").read_bytes()
    hm = build_hexmap(whole[:100])
    assert hm.record_kind == "active_session" and hm.stopped
    _assert_partition(hm)
    hm = build_hexmap(b"not a replay file at all")
    assert hm.error.kind == "bad_magic" and hm.stopped
    _assert_partition(hm)
    big = build_hexmap(b"\xee" * 1_000_000)
    page = render_html(big, raw_limit=64)
    assert "ee" * 64 in page and "ee" * 65 not in page
    assert "999936 raw bytes (64..1000000) are not in this page" in page
    assert len(render_text(big, raw_limit=64).splitlines()) < 10


# --- command line ---------------------------------------------------------------------------

def _run(capsys, *argv):
    rc = main(["hexmap", *map(str, argv)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli(tmp_path, capsys):
    seg = real_dir() / "p01_basic_put_find" / "segment-0.bin"
    rc, out, err = _run(capsys, seg)
    assert rc == 0 and err == "" and out.startswith("# replay segment (MV2RPLY!), 602 bytes\n")
    rc, out, _ = _run(capsys, seg, "--json")
    js = json.loads(out)
    assert rc == 0 and js["error"] is None and js["end"] == 602
    assert {"path": "version", "offset": 8, "size": 4, "kind": "u32", "value": 1, "label": "1",
            "complete": True} in js["fields"]
    bad = tmp_path / "bad.bin"
    bad.write_bytes(_damaged())
    rc, out, err = _run(capsys, bad, "--json")
    assert rc == 1 and "unknown variant index" in err
    assert json.loads(out)["error"]["offset"] == 0x114
    page = tmp_path / "out.html"
    rc, out, _ = _run(capsys, bad, "--html", page)
    assert rc == 1 and out == "" and "decoding stopped" in page.read_text()
    rc, out, err = _run(capsys, real_dir() / "p15_abandoned_active" / "mem.mv2")
    assert rc == 0 and err == "" and "no live replay segment" in out.splitlines()[0]
    rc, _, err = _run(capsys, tmp_path / "missing.bin")
    assert rc == 2
    rc, out, _ = _run(capsys, seg, "--kind", "active")
    assert rc == 1 and "wrong magic" in out


# --- the HTML page in a real browser --------------------------------------------------------

def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless Chromium is needed for the hexmap page tests: "
                "apt-get install -y chromium")


def _dump_dom(page, fragment, tmp_path) -> str:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri() + fragment]
    # Chromium's own temporary files go to a private TMPDIR, removed afterwards. A short path:
    # its singleton socket must fit a unix socket address (108 bytes).
    with tempfile.TemporaryDirectory(prefix="rf-chromium-") as tmp:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "TMPDIR": tmp})
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'data-ready="1"' in res.stdout, "the page script did not finish:\n" + res.stderr[-2000:]
    return res.stdout


def _ranges(spec: str) -> list[tuple[int, int]]:
    """'10+4,14+8' -> merged [(10, 22)]."""
    out: list[list[int]] = []
    for part in filter(None, spec.split(",")):
        o, n = map(int, part.split("+"))
        if out and out[-1][1] == o:
            out[-1][1] = o + n
        else:
            out.append([o, o + n])
    return [tuple(r) for r in out]


def _page_cases():
    root = real_dir()
    return [root / "p09_auto_checkpoint_3" / "segment-0.bin",
            root / "p20_ask_mock_llm" / "active-0.bin",
            root / "p10_two_cycles" / "mem.mv2",
            None]  # the damaged segment


@pytest.mark.chromium
@pytest.mark.parametrize("src", _page_cases(), ids=["segment", "sidecar", "mv2", "damaged"])
def test_page_highlights_in_chromium(src, tmp_path):
    data = _damaged() if src is None else src.read_bytes()
    hm = build_hexmap(data)
    page = tmp_path / "map.html"
    page.write_text(render_html(hm, "test"), encoding="utf-8")
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=|https?://|@import|url\(""", text), \
        "the page must not load anything"
    dom = _dump_dom(page, "#selftest", tmp_path)
    m = re.search(r'<pre id="selftest-result" hidden="">(.*?)</pre>', dom, re.S)
    assert m, "no self-test result in the DOM"
    res = json.loads(htmlmod.unescape(m.group(1)))
    assert len(res["clicks"]) == len(hm.nodes) == len(res["hovers"])
    for click, hover, node in zip(res["clicks"], res["hovers"], hm.nodes, strict=True):
        want = [(node.offset, node.end)] if node.size else []
        assert click["selected"] == node.path
        assert _ranges(click["highlight"]) == want, f"click on {node.path} ({node.kind})"
        assert hover["hovered"] == node.path
        assert _ranges(hover["highlight"]) == want, f"hover on {node.path} ({node.kind})"
    covered = 0
    for run in res["bytes"]:  # hovering any byte names the leaf field that holds it
        leaf = hm.field_at(run["o"])
        assert leaf is not None and run["hovered"] == leaf.path
        assert run["o"] + run["n"] <= leaf.end
        covered += run["n"]
    assert covered == hm.stop - hm.base
    if src is None:
        assert "decoding stopped" in dom and 'class="r raw' in dom


@pytest.mark.chromium
def test_page_deep_link_selects_a_field(tmp_path):
    src = real_dir() / "p17_mixed_medium" / "segment-0.bin"
    hm = build_hexmap(src.read_bytes())
    page = tmp_path / "map.html"
    page.write_text(render_html(hm), encoding="utf-8")
    path = "sessions[0].actions[40].input_preview"
    node = next(n for n in hm.nodes if n.path == path)
    dom = _dump_dom(page, "#" + path, tmp_path)
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert f'data-selected="{path}"' in body
    assert f'data-selected-range="{node.offset}-{node.end}"' in body
    hl = re.search(r'data-highlight="([^"]*)"', body).group(1)
    assert _ranges(hl) == [(node.offset, node.end)]
