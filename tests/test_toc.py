"""The .mv2 TOC: every real file (memvid CLI and memvid-sdk releases) decodes over exactly
[footer_offset, footer), re-encodes byte-identically, and satisfies every checksum; the legacy
layouts memvid still reads decode from files built to them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import blake3
import pytest
from _real import ids, mv2_files

import replayfmt as R
from replayfmt import mv2, schema, toc

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
    value = dict(t.value)
    value.pop("_io", None)
    return toc.with_toc(data, schema.TOC_LAYOUTS[layout].build(value))


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
