"""Shared plumbing for the atheris harnesses: one entry point each, ReplayFormatError allowed.

Each harness calls `run(target)` where `target(data)` feeds the bytes to one replayfmt entry
point. Anything other than a value or a ReplayFormatError escapes and atheris reports a crash.
The custom mutator is replayfmt.fuzz.mutate (structure-aware, byte-level fallback), mixed with
libFuzzer's own mutations.
"""

from __future__ import annotations

import random
import sys

import atheris

with atheris.instrument_imports(include=["replayfmt"]):
    import replayfmt  # noqa: F401
    from replayfmt import fuzz as _fuzz
    from replayfmt.errors import ReplayFormatError


def make_test_one(target):
    def test_one(data: bytes) -> None:
        try:
            target(data)
        except ReplayFormatError:
            pass
    return test_one


#: Share of mutations done by replayfmt.fuzz.mutate (it is ~50x slower than libFuzzer's).
STRUCTURE_AWARE_SHARE = 0.2


def _custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if rng.random() < STRUCTURE_AWARE_SHARE:
        return _fuzz.mutate(data, rng)[:max_size]
    return atheris.Mutate(data, max_size)


def run(target, *, structure_aware: bool = True) -> None:
    test_one = make_test_one(target)
    if structure_aware:
        atheris.Setup(sys.argv, test_one, custom_mutator=_custom_mutator)
    else:
        atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()
