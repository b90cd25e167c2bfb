"""Replay the seed corpus and a few thousand mutations through every entry point (as Pillow
replays its fuzz corpus in CI): the only exception allowed out is ReplayFormatError."""

from __future__ import annotations

import random

import pytest

import replayfmt
from replayfmt import ReplayFormatError
from replayfmt.fuzz import mutate

from conftest import corpus_files

ALL = corpus_files("segment") + corpus_files("active") + corpus_files("mv2")
_NAMES = ("parse_segment", "parse_active_session", "parse_session", "carve", "validate",
          "salvage")


def entry_points():
    """Every entry point present (carve/validate/salvage join once the forensics work lands)."""
    from replayfmt import mv2
    eps = [getattr(replayfmt, n) for n in _NAMES if hasattr(replayfmt, n)]
    return eps + [mv2.live_segment]


def _feed(data: bytes) -> None:
    for ep in entry_points():
        try:
            ep(data)
        except ReplayFormatError:
            pass


def test_corpus_is_small_and_present():
    assert len(ALL) >= 40
    assert sum(p.stat().st_size for p in ALL) < 2_000_000


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}-{p.name[:10]}")
def test_corpus_file(path):
    _feed(path.read_bytes())


@pytest.mark.parametrize("chunk", range(8))
def test_mutations(chunk):
    """3,200 mutations in all (400 per chunk), stacked up to 4 deep, seeded."""
    rng = random.Random(1000 + chunk)
    seeds = [p.read_bytes() for p in ALL if p.parent.name != "mv2"]
    for _ in range(400):
        data = rng.choice(seeds)
        for _ in range(rng.randrange(1, 5)):
            data = mutate(data, rng)
        _feed(data)
