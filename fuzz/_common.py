"""Shared plumbing for the atheris harnesses: one entry point each, ReplayFormatError allowed.

Each harness calls `run(target)` where `target(data)` feeds the bytes to one replayfmt entry
point. Anything other than a value or a ReplayFormatError escapes and atheris reports a crash.
The custom mutator is replayfmt.fuzz.mutate (structure-aware, byte-level fallback), mixed with
libFuzzer's own mutations.
"""

from __future__ import annotations

import os
import random
import sys

import atheris

# Coverage comes from instrumented Python only: on the compiled fast path a harness's target runs
# in C and libFuzzer sees almost no edges (parse_segment: 52 at start, flat). So the harnesses
# fuzz the generated Python, the reference, unless REPLAYFMT_PURE says otherwise;
# fuzz_native_diff.py runs both paths on every input and compares them.
os.environ.setdefault("REPLAYFMT_PURE", "1")

#: The modules the entry points run. The package imports its modules on first use, and atheris
#: instruments (gives coverage feedback for) only modules imported inside the block below: one
#: first imported by the target at run time would be fuzzed blind.
INSTRUMENTED = ("errors", "_types", "framing", "_generated", "_generated_model", "codec",
                "model", "memvid_json", "stream", "scan", "accel", "hashes", "trace",
                "_generated_toc", "toc", "mv2", "files", "forensics", "validate", "fuzz")

with atheris.instrument_imports(include=["replayfmt"]):
    import importlib

    import replayfmt  # noqa: F401
    for _name in INSTRUMENTED:
        importlib.import_module(f"replayfmt.{_name}")
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
