"""The generated codec: no drift from the schema, exact round trips, field order = schema."""

from __future__ import annotations

import random

import gen
import pytest
from conftest import REAL

from replayfmt import _generated as G
from replayfmt import codec, codegen, model, schema


def test_generated_module_matches_the_schema():
    """Fails when schema.py or codegen.py changed without `python -m replayfmt.codegen`."""
    assert codegen.TARGET.read_text() == codegen.generate(), \
        "replayfmt/_generated.py is stale: run python -m replayfmt.codegen"
    assert codegen.TOC_TARGET.read_text() == codegen.generate_all()[codegen.TOC_TARGET], \
        "replayfmt/_generated_toc.py is stale: run python -m replayfmt.codegen"
    assert codegen.main(["--check"]) == 0


def test_model_fields_follow_the_schema():
    for name, node in schema.RECORDS.items():
        cls = getattr(model, name)
        assert [a.name for a in cls.__attrs_attrs__] == [s.name for s in node.subcons]


@pytest.mark.skipif(not REAL.is_dir(), reason="real fixtures not available")
def test_golden_round_trip_of_real_files_is_exact():
    count = 0
    for path in sorted(REAL.glob("*/segment-*.bin")):
        data = path.read_bytes()
        seg = codec.parse_segment(data)
        assert codec.build_segment(seg.sessions, version=seg.version) == data, path
        count += 1
    for path in sorted(REAL.glob("*/active-*.bin")):
        data = path.read_bytes()
        assert codec.build_active_session(codec.parse_active_session(data)) == data, path
        count += 1
    assert count > 20


def test_generated_round_trip_and_models_equal_validated_ones():
    rng = random.Random(1)
    for _ in range(50):
        s = gen.session(rng)
        data = codec.build_session(s)
        parsed = codec.parse_session(data)
        assert parsed == s
        assert codec.build_session(parsed) == data
        # slot-filled objects behave as validated ones: assignment is still validated
        if parsed.actions:
            with pytest.raises((TypeError, ValueError)):
                parsed.actions[0].sequence = -1


def test_builder_rejects_values_mutated_out_of_range():
    s = gen.session(random.Random(2), 3)
    s.actions[0].affected_frames.append(-1)  # list mutation bypasses validators
    with pytest.raises(ValueError):
        codec.build_session(s)


def test_constants_come_from_the_schema():
    assert G.SEGMENT_MAGIC == schema.SEGMENT_MAGIC and G.ACTIVE_MAGIC == schema.ACTIVE_MAGIC
    assert G.SIZE["SegmentHeader"] == schema.SegmentHeader.sizeof() == 24
    assert G.SIZE["Mv2Footer"] == schema.Mv2Footer.sizeof()
    for name, node in schema.RECORDS.items():
        assert G.MIN_SIZE[name] == schema.min_size(node)
