"""The Construct schema is the byte truth: it reads and rebuilds every fixture by itself, the
model mirrors its field names, and the generated codec is what the schema generates today."""

from __future__ import annotations

import attrs
import pytest
from conftest import all_binaries, real_actives, real_segments

import replayfmt as R
from replayfmt import codegen, model, schema


@pytest.mark.parametrize("path", all_binaries(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_construct_reference_round_trips_every_fixture(path):
    data = path.read_bytes()
    container = (schema.Segment if data[:8] == b"MV2RPLY!" else schema.ActiveSessionEnvelope)
    parsed = container.parse(data)
    assert container.build(parsed) == data


@pytest.mark.parametrize("path", real_segments()[:3] + real_actives()[:2],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_construct_reference_agrees_with_codec(path):
    data = path.read_bytes()
    if data[:8] == b"MV2RPLY!":
        ours = R.parse_segment(data).sessions
        theirs = [s for s in schema.Segment.parse(data).sessions]
    else:
        ours = [R.parse_active_session(data).session]
        theirs = [schema.ActiveSessionEnvelope.parse(data).active_session.session]
    for mine, ref in zip(ours, theirs, strict=True):
        assert ref.session_id == mine.session_id
        assert ref.name == mine.name
        assert len(ref.actions) == len(mine.actions)
        for a, b in zip(mine.actions, ref.actions, strict=True):
            (variant, fields), = b.action_type.items()
            assert variant == a.action_type.VARIANT
            assert {k: v for k, v in fields.items() if not k.startswith("_")} == \
                attrs.asdict(a.action_type)
            assert (b.input_hash, b.input_preview, b.affected_frames) == \
                (a.input_hash, a.input_preview, a.affected_frames)


def _names(struct):
    return [sub.name for sub in struct.subcons]


@pytest.mark.parametrize("name", list(schema.RECORDS))
def test_model_fields_are_the_schema_fields(name):
    cls = getattr(model, name)
    assert [f.name for f in attrs.fields(cls)] == _names(schema.RECORDS[name])


def test_variant_classes_follow_the_enum():
    assert [n for n, _ in schema.ActionType.variants] == [c.VARIANT for c in model.VARIANTS]
    for index, (_name, struct) in enumerate(schema.ActionType.variants):
        cls = model.VARIANTS[index]
        assert cls.INDEX == index
        assert [f.name for f in attrs.fields(cls)] == _names(struct)
    assert [c.DISPLAY for c in model.VARIANTS] == [
        "PUT", "PUT_MANY", "FIND", "ASK", "CHECKPOINT", "UPDATE", "DELETE", "TOOL_CALL"]


def test_generated_codec_matches_the_schema():
    """Fails when schema.py changed and `python -m replayfmt.codegen` was not re-run."""
    assert codegen.TARGET.read_text() == codegen.generate()


def test_header_sizes():
    assert schema.SegmentHeader.sizeof() == 24
    assert schema.ReplayManifest.sizeof() == 32
    assert schema.Mv2Footer.sizeof() == 56


def test_varint_encoding_of_the_snapshot():
    snap = R.StateSnapshot(frame_count=250, frame_ids=[251, 65536, 2**32],
                           lex_index_hash=None, vec_index_hash=bytes(32),
                           wal_sequence=0, generation=2**64 - 1)
    raw = R.encode_snapshot_standard(snap)
    assert raw == (bytes([250]) + bytes([3]) + b"\xfb\xfb\x00" + b"\xfc\x00\x00\x01\x00"
                   + b"\xfd" + (2**32).to_bytes(8, "little") + b"\x00" + b"\x01" + bytes(32)
                   + bytes([0]) + b"\xfd" + b"\xff" * 8)
    assert schema.StateSnapshotStandard.parse(raw).frame_ids == [251, 65536, 2**32]
