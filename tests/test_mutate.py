"""replayfmt.fuzz: the field map, malform and the structure-aware mutator."""

from __future__ import annotations

import random

import pytest
from conftest import corpus_files

from replayfmt import ReplayFormatError, parse_active_session, parse_segment
from replayfmt.fuzz import (
    MALFORMATIONS,
    applicable,
    byte_mutate,
    detect,
    field_map,
    malform,
    mutate,
)

VALID = corpus_files("segment") + corpus_files("active")


def _parse(data):
    return parse_segment(data) if detect(data) == "segment" else parse_active_session(data)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name[:12])
def test_field_map_tiles_the_input(path):
    data = path.read_bytes()
    fields = field_map(data)
    pos = 0
    for f in fields:
        assert f.offset == pos, f
        pos += f.size
    assert pos == len(data)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name[:12])
def test_malform_predicts_kind_and_offset(path):
    data = path.read_bytes()
    rng = random.Random(path.name)
    for name in applicable(data):
        for _ in range(15):
            bad = malform(data, rng, name)
            with pytest.raises(ReplayFormatError) as info:
                _parse(bad.data)
            assert (info.value.kind, info.value.offset) == (bad.kind, bad.offset), bad.how


def test_malform_rejects_an_inapplicable_name():
    empty = parse_segment  # noqa: F841
    data = b"MV2RPLY!" + bytes([1, 0, 0, 0, 0, 0, 0, 0, 24]) + bytes(7)
    assert "bad_utf8" not in applicable(data)
    with pytest.raises(ValueError):
        malform(data, random.Random(0), "bad_utf8")
    assert set(applicable(data)) <= set(MALFORMATIONS)


def test_mutate_is_deterministic_and_total():
    data = VALID[0].read_bytes()
    assert mutate(data, random.Random(7)) == mutate(data, random.Random(7))
    rng = random.Random(1)
    for junk in (b"", b"\x00", b"MV2RPLY!", b"MV2ACTIV" + bytes(8), bytes(range(256))):
        for _ in range(50):
            assert isinstance(mutate(junk, rng), bytes)


def test_mutations_stay_mostly_parseable_and_vary():
    """Structure-aware: most mutations of a valid file still parse, and they differ."""
    rng = random.Random(3)
    for path in VALID[:6]:
        data = path.read_bytes()
        outs = [mutate(data, rng) for _ in range(60)]
        ok = 0
        for out in outs:
            try:
                _parse(out)
                ok += 1
            except ReplayFormatError:
                pass
        assert ok >= 20, path
        assert len(set(outs)) >= 30


def test_mutations_rebuild_consistent_lengths():
    """A parseable mutation of a segment has total_size and length prefixes that agree."""
    rng = random.Random(5)
    data = next(p for p in VALID if detect(p.read_bytes()) == "segment").read_bytes()
    for _ in range(200):
        out = mutate(data, rng)
        try:
            seg = parse_segment(out)
        except ReplayFormatError:
            continue
        assert seg.total_size == len(out)


def test_mutation_reaches_every_action_variant():
    rng = random.Random(11)
    data = VALID[0].read_bytes()
    seen = set()
    for _ in range(400):
        out = mutate(data, rng)
        try:
            v = _parse(out)
        except ReplayFormatError:
            continue
        sessions = v.sessions if hasattr(v, "sessions") else [v.session]
        seen |= {type(a.action_type).__name__ for s in sessions for a in s.actions}
    assert len(seen) >= 6


def test_byte_mutate_changes_unparseable_input():
    rng = random.Random(2)
    outs = {byte_mutate(b"not a replay file", rng) for _ in range(50)}
    assert len(outs) > 30
