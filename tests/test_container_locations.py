"""validate's `.mv2` diagnostics sit where `trace.trace_mv2` puts the fields they name.

validate locates container findings with `toc` (the decoded TOC's field offsets) and
`forensics.carve` (segment blocks and their origin); the whole-file map is `trace_mv2`'s. Here
every container diagnostic of every damaged and real `.mv2` is checked against that map: same
offset, same length, same path; every carved segment against the range trace_mv2 names there.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from _real import mv2_files

from replayfmt.forensics import carve
from replayfmt.trace import trace_mv2
from replayfmt.validate import validate

ROOT = Path(__file__).resolve().parent.parent
DAMAGED = ROOT / "fixtures" / "damaged"
MANIFEST = json.loads((DAMAGED / "MANIFEST.json").read_text())
FILES = ([DAMAGED / n for n in sorted(MANIFEST) if n.endswith(".mv2")]
         + sorted((DAMAGED / "cli").glob("*.mv2")) + mv2_files()
         + sorted((ROOT / "fixtures" / "sdk").glob("*/mem.mv2.gz")))


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _label(path: Path) -> str:
    return "/".join(path.parts[-2:])


@pytest.mark.parametrize("path", FILES, ids=[_label(p) for p in FILES])
def test_every_located_diagnostic_is_a_trace_mv2_span(path):
    data = _read(path)
    report = validate(data)
    t = trace_mv2(data)
    spans: dict[str, list] = {}
    for sp in t.fields:
        spans.setdefault(sp.path, []).append((sp.offset, sp.size))
    checked = 0
    for d in report.diagnostics:
        if not d.path:  # a whole-input or block finding: RF501, RF508 (below)
            continue
        if d.code == "RF509":  # the TOC does not decode: trace_mv2 stops at the same field
            assert (t.error.offset, t.error.path) == (d.offset, d.path)
        elif d.code == "RF514":  # the payload range: payload_offset and payload_length
            (off,) = spans[d.path]
            (length,) = spans[d.path.replace("payload_offset", "payload_length")]
            assert (off[0], length[0] + length[1] - off[0]) == (d.offset, d.length)
        elif d.code in ("RF004", "RF005", "RF006", "RF013"):  # a field that does not decode
            assert (d.offset, d.path) in {(e.offset, e.path) for e in t.problems}, str(d)
        else:
            assert (d.offset, d.length) in spans.get(d.path, []), str(d)
        checked += 1
    expected = MANIFEST.get(path.name, {}).get("expect_at") if path.parent == DAMAGED else None
    if expected:
        assert checked == sum(1 for code, _, p in expected if p)


@pytest.mark.parametrize("path", FILES, ids=[_label(p) for p in FILES])
def test_carved_segments_agree_with_trace_mv2_names(path):
    """A segment copy inside a frame's payload is that frame's payload in the map; a stale
    save lies in bytes nothing references; an unreferenced block in the WAL or in bytes nothing
    references."""
    data = _read(path)
    t = trace_mv2(data)
    leaves = [s for s in t.fields if s.is_leaf and s.size]
    report = validate(data)
    stale = {d.offset for d in report.diagnostics if d.code == "RF508"}
    resized = {t.value["toc"]["replay_manifest"]["segment_offset"]
               for d in report.diagnostics if d.code == "RF503"}
    for block in carve(data):
        if block.kind != "segment":
            continue
        over = {s.path for s in leaves
                if s.offset < block.offset + block.size and block.offset < s.offset + s.size
                and (s.path.startswith(("frame#", "wal", "unreferenced", "data[", "replay_")))}
        if block.origin == "frame-payload":
            assert over == {f"frame#{block.frame_id}.payload"}
        elif block.origin == "unreferenced":
            assert over and all(p == "unreferenced" or p.startswith("wal.")
                                for p in over), over
        elif block.origin == "stale":
            assert not any(p.startswith(("frame#", "wal.", "data[")) for p in over), over
        if block.origin in ("frame-payload", "unreferenced", "stale"):
            # validate reports each as RF508, except the segment the manifest names when only
            # its size is off: validate checks it as the live one (RF503), while carve, which
            # matches offset and size, calls it stale.
            assert block.offset in stale or resized == {block.offset}, block
