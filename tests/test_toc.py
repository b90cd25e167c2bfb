"""The .mv2 TOC: every real file (memvid CLI and memvid-sdk releases) decodes over exactly
[footer_offset, footer), re-encodes byte-identically, and satisfies every checksum; the legacy
layouts memvid still reads decode from files built to them."""

from __future__ import annotations

import gzip
import json
import math
import random
from pathlib import Path

import blake3
import pytest
from _real import ids, mv2_files
from hypothesis import HealthCheck, given, settings

import replayfmt as R
from replayfmt import _generated_toc as GT
from replayfmt import mv2, oracle, schema, toc
from replayfmt.strategies import toc_values

ROOT = Path(__file__).resolve().parent.parent
SDK = ROOT / "fixtures" / "sdk"
CLI_FILES = mv2_files() + [ROOT / "fixtures" / "damaged" / "cli" / "magic_in_docs.mv2"]
SDK_DIRS = sorted(p for p in SDK.iterdir() if (p / "mem.mv2.gz").is_file())
#: What each memvid-sdk release writes (measured; the schema's layout docstrings say why).
SDK_LAYOUTS = {"2.0.124": "pre_sketch", "2.0.131": "pre_ticket_signature",
               "2.0.140": "pre_ticket_signature", "2.0.160": "current"}


def sdk_bytes(d: Path) -> bytes:
    return gzip.decompress((d / "mem.mv2.gz").read_bytes())


def all_files() -> list[tuple[str, bytes, str]]:
    out = [(f"{p.parent.name}/{p.name}", p.read_bytes(), "current") for p in CLI_FILES]
    out += [(f"sdk-{d.name}", sdk_bytes(d), SDK_LAYOUTS[d.name]) for d in SDK_DIRS]
    return out


FILES = all_files()


def test_fixture_sets_are_there():
    assert len(CLI_FILES) >= 21
    assert sorted(d.name for d in SDK_DIRS) == sorted(SDK_LAYOUTS)


def _decode(data: bytes) -> tuple[mv2.Mv2Layout, toc.DecodedToc]:
    lay = mv2.read_layout(data)
    return lay, toc.decode_toc(data, lay.footer_offset, lay.footer_pos)


@pytest.mark.parametrize("name, data, layout", FILES, ids=[f[0] for f in FILES])
def test_toc_decodes_exactly_and_reencodes(name, data, layout):
    lay, t = _decode(data)
    assert t.layout == layout
    assert (t.start, t.end) == (lay.footer_offset, lay.footer_pos)
    assert toc.encode_toc(t) == data[lay.footer_offset:lay.footer_pos]
    # the field map covers every TOC byte exactly once
    leaves = sorted((s.offset, s.end) for s in t.trace().leaves if s.size)
    assert t.trace().ok and leaves[0][0] == t.start and leaves[-1][1] == t.end
    assert all(a[1] == b[0] for a, b in zip(leaves, leaves[1:], strict=False))


@pytest.mark.parametrize("name, data, layout", FILES, ids=[f[0] for f in FILES])
def test_every_checksum_holds(name, data, layout):
    lay, t = _decode(data)
    checks = toc.container_checks(data, lay.footer_offset, lay.footer_pos, t)
    assert [c.name for c in checks[:3]] == ["footer_toc_hash", "toc_checksum",
                                            "header_toc_checksum"]
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    # frame checksums are BLAKE3 of the stored payload bytes
    for f in t.frames:
        payload = data[f.payload_offset:f.payload_offset + f.payload_length]
        assert blake3.blake3(payload).digest() == f.checksum


@pytest.mark.parametrize("d", SDK_DIRS, ids=[d.name for d in SDK_DIRS])
def test_sdk_file_agrees_with_what_the_sdk_reported(d):
    data = sdk_bytes(d)
    reported = json.loads((d / "sdk.json").read_text())
    assert len(data) == reported["size"]
    _, t = _decode(data)
    assert len(t.frames) == reported["stats"]["frame_count"]
    live = mv2.live_segment(data)
    assert live.manifest_values == t.replay_manifest
    assert [str(s.session_id) for s in live.segment.sessions] == [
        s["session_id"] for s in reported["session_list"]]
    assert [len(s.actions) for s in live.segment.sessions] == [
        s["action_count"] for s in reported["session_list"]]
    uris = {f.uri for f in t.frames}
    assert {"mv2://recipe/alpha", "mv2://recipe/beta", "mv2://recipe/gamma"} <= uris


def _legacy(data: bytes, layout: str) -> bytes:
    """The file rebuilt with its TOC in an earlier layout (fields that layout lacks dropped)."""
    lay, t = _decode(data)
    return toc.with_toc(data, toc.build_toc(t.value, layout))


@pytest.mark.parametrize("layout", ["legacy_v2", "legacy_v1"])
@pytest.mark.parametrize("src", [CLI_FILES[0], CLI_FILES[7]], ids=ids([CLI_FILES[0],
                                                                     CLI_FILES[7]]))
def test_legacy_layouts_decode(src, layout):
    data = _legacy(src.read_bytes(), layout)
    lay, t = _decode(data)
    assert t.layout == layout
    assert t.replay_manifest is None and t.manifest_tag_pos is None
    assert toc.encode_toc(t) == data[lay.footer_offset:lay.footer_pos]
    assert all(c.ok for c in toc.container_checks(data, lay.footer_offset, lay.footer_pos, t))
    assert mv2.live_segment(data) is None
    assert len(t.frames) == len(_decode(src.read_bytes())[1].frames)


def test_with_toc_of_the_same_toc_is_identity():
    data = CLI_FILES[0].read_bytes()
    lay = mv2.read_layout(data)
    assert toc.with_toc(data, data[lay.footer_offset:lay.footer_pos]) == data


def test_undecodable_toc_is_an_error_with_offset_and_path():
    data = bytearray(CLI_FILES[0].read_bytes())
    lay, t = _decode(bytes(data))
    tag = t.manifest_tag_pos
    data[tag] = 7
    with pytest.raises(R.ReplayFormatError) as info:
        toc.decode_toc(bytes(data), lay.footer_offset, lay.footer_pos)
    err = info.value
    assert (err.kind, err.offset, err.path) == ("invalid_tag", tag, "toc.replay_manifest")


def test_toc_with_bytes_left_over_is_an_error():
    data = CLI_FILES[0].read_bytes()
    lay, t = _decode(data)
    longer = toc.with_toc(data, data[lay.footer_offset:lay.footer_pos - 32] + bytes(8)
                          + bytes(32))
    lay2 = mv2.read_layout(longer)
    with pytest.raises(R.ReplayFormatError) as info:
        toc.decode_toc(longer, lay2.footer_offset, lay2.footer_pos)
    assert info.value.kind == "trailing_bytes"
    assert info.value.offset == lay2.footer_pos - 8


def test_truncated_toc_is_an_error():
    data = CLI_FILES[0].read_bytes()
    lay = mv2.read_layout(data)
    with pytest.raises(R.ReplayFormatError) as info:
        toc.decode_toc(data, lay.footer_offset, lay.footer_offset + 100)
    assert info.value.offset >= lay.footer_offset
    assert info.value.path.startswith("toc")


def test_container_constants_match_the_schema():
    assert (toc.HEADER_SIZE, toc.FOOTER_SIZE, toc.HEADER_CHECKSUM_RANGE) == (
        schema.MV2_HEADER_SIZE, schema.MV2_FOOTER_SIZE, schema.MV2_HEADER_CHECKSUM_RANGE)
    assert schema.Mv2Footer.sizeof() == toc.FOOTER_SIZE
    assert schema.Mv2HeaderPage.sizeof() == toc.HEADER_SIZE


# --- the generated codec against the Construct oracle ----------------------------------------

def _framed(path: Path) -> bool:
    """Whether framing finds a TOC range in the file (a lost footer leaves none)."""
    try:
        mv2.read_layout(path.read_bytes())
    except ValueError:
        return False
    return True


ALL_DAMAGED = sorted((ROOT / "fixtures" / "damaged").rglob("*.mv2"))
DAMAGED = [p for p in ALL_DAMAGED if _framed(p)]


def _plain(value):
    """A decoded value with every NaN as the text "NaN" (NaN != NaN), records as dicts."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def _outcome(fn, *args):
    """(layout, value) or the error's (kind, offset, path, text)."""
    try:
        r = fn(*args)
    except R.ReplayFormatError as err:
        return ("error", err.kind, err.offset, err.path, str(err))
    if isinstance(r, toc.DecodedToc):
        return (r.layout, _plain(r.value))
    return (r[0], _plain(r[1]))


def _same(data, start: int, end: int):
    got = _outcome(toc.decode_toc, data, start, end)
    want = _outcome(oracle.parse_toc, data, start, end)
    assert got == want
    return got


@pytest.mark.parametrize("name, data, layout", FILES, ids=[f[0] for f in FILES])
def test_generated_decoder_agrees_with_the_oracle(name, data, layout):
    lay = mv2.read_layout(data)
    got = _same(data, lay.footer_offset, lay.footer_pos)
    assert got[0] == layout
    value = toc.decode_toc(data, lay.footer_offset, lay.footer_pos).value
    # Construct builds the same bytes from the generated decoder's value
    node = schema.TOC_LAYOUTS[layout]
    assert node.build(_oracle_enums(node, value)) == data[lay.footer_offset:lay.footer_pos]


def _oracle_enums(node, value):
    """`value` with unit enums in Construct's shape ({name: {}}), for Construct's build."""
    while isinstance(node, schema.Renamed):
        node = node.subcon
    if isinstance(node, schema.Struct):
        return {sub.name: _oracle_enums(sub.subcon, value[sub.name]) for sub in node.subcons}
    if isinstance(node, schema.Enum):
        return {value: {}}
    if isinstance(node, schema.Option):
        return None if value is None else _oracle_enums(node.subcon, value)
    if isinstance(node, schema.Vec):
        return [_oracle_enums(node.subcon, x) for x in value]
    return value


@pytest.mark.parametrize("path", DAMAGED, ids=[str(p.relative_to(ROOT)) for p in DAMAGED])
def test_damaged_files_decode_or_fail_as_the_oracle_does(path):
    data = path.read_bytes()
    lay = mv2.read_layout(data)
    _same(data, lay.footer_offset, lay.footer_pos)


def test_the_damaged_set_holds_an_undecodable_toc():
    assert len(DAMAGED) >= len(ALL_DAMAGED) - 1  # only a lost footer hides the TOC
    outcomes = []
    for path in DAMAGED:
        data = path.read_bytes()
        lay = mv2.read_layout(data)
        outcomes.append(_outcome(toc.decode_toc, data, lay.footer_offset, lay.footer_pos)[0])
    assert "error" in outcomes and "current" in outcomes


#: Small TOCs of each kind: the CLI files with the fewest and most frames, every SDK release.
_MUTATED = [FILES[0], max(FILES[:len(CLI_FILES)], key=lambda f: len(f[1]))] + FILES[
    len(CLI_FILES):]


@pytest.mark.parametrize("name, data, layout", _MUTATED, ids=[f[0] for f in _MUTATED])
def test_truncated_tocs_fail_as_the_oracle_does(name, data, layout):
    lay = mv2.read_layout(data)
    n = lay.toc_len
    rng = random.Random(n)
    cuts = sorted({*range(0, min(n, 64)), *rng.sample(range(n), min(n, 120)), n - 1, n - 33})
    kinds = set()
    for cut in cuts:
        kinds.add(_same(data, lay.footer_offset, lay.footer_offset + cut)[1])
    assert "truncated" in kinds


@pytest.mark.parametrize("name, data, layout", _MUTATED, ids=[f[0] for f in _MUTATED])
def test_mutated_tocs_agree_with_the_oracle(name, data, layout):
    lay = mv2.read_layout(data)
    rng = random.Random(lay.toc_len)
    kinds = set()
    for _ in range(150):
        b = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 4))):
            i = lay.footer_offset + rng.randrange(lay.toc_len)
            b[i] = rng.choice((0, 1, 2, 0xFF, 0x80, b[i] ^ 1 << rng.randrange(8)))
        got = _same(bytes(b), lay.footer_offset, lay.footer_pos)
        kinds.add(got[1] if got[0] == "error" else "decodes")
    assert len(kinds) >= 3, kinds


@pytest.mark.parametrize("layout", list(schema.TOC_LAYOUTS))
def test_hypothesis_tocs_round_trip_and_agree_with_the_oracle(layout):
    @settings(max_examples=30, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(value=toc_values(layout))
    def check(value):
        raw = toc.build_toc(value, layout)
        t = toc.decode_toc(raw, 0, len(raw))
        assert toc.encode_toc(t) == raw  # NaN payloads included
        assert _outcome(toc.decode_toc, raw, 0, len(raw)) == _outcome(
            oracle.parse_toc, raw, 0, len(raw))
        if t.layout == layout:
            assert _plain(t.value) == _plain(value)
        # any cut of it fails as the oracle's does
        cut = len(raw) * 2 // 3
        assert _outcome(toc.decode_toc, raw, 0, cut) == _outcome(oracle.parse_toc, raw, 0, cut)

    check()


def test_nan_payloads_survive_a_round_trip():
    data = CLI_FILES[0].read_bytes()
    lay, t = _decode(data)
    value = dict(t.value)
    frame = dict(value["frames"][0])
    gps = {"latitude": GT.NaN(float("nan")), "longitude": 1.5}
    gps["latitude"].raw = bytes.fromhex("0100000000f8ff7f")  # a quiet NaN, payload 1
    frame["metadata"] = {"mime": None, "bytes": None, "hash": None, "width": None,
                         "height": None, "colors": None, "caption": None,
                         "exif": {"make": None, "model": None, "lens": None, "datetime": None,
                                  "gps": gps},
                         "audio": {"duration_secs": GT.NaN(float("nan")), "sample_rate_hz": 1,
                                   "channels": 2, "bitrate_kbps": None, "codec": None,
                                   "segments": [], "tags": {}},
                         "media": None}
    frame["metadata"]["audio"]["duration_secs"].raw = bytes.fromhex("0100a0ff")  # signalling
    value["frames"] = [frame]
    raw = toc.build_toc(value)
    t2 = toc.decode_toc(raw, 0, len(raw))
    assert toc.encode_toc(t2) == raw
    got = t2.value["frames"][0]["metadata"]
    assert got["exif"]["gps"]["latitude"].raw == bytes.fromhex("0100000000f8ff7f")
    assert got["audio"]["duration_secs"].raw == bytes.fromhex("0100a0ff")


def test_records_read_as_attributes_and_items():
    _, t = _decode(CLI_FILES[0].read_bytes())
    f = t.frames[0]
    assert f.id == f["id"] and f.get("uri") == f.uri
    assert f.status in ("Active", "Superseded", "Deleted")
    with pytest.raises(AttributeError):
        f.no_such_field  # noqa: B018


def test_field_offsets_are_where_the_trace_puts_the_fields():
    for name, data, _layout in FILES[:3] + FILES[len(CLI_FILES):]:
        _, t = _decode(data)
        for field in ("segments", "frames", "segment_catalog", "replay_manifest",
                      "toc_checksum"):
            span = t.span(f"toc.{field}")
            assert t.field_offset(field) == span.offset, (name, field)
