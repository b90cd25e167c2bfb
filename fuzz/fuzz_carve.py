#!/usr/bin/env python3
"""atheris harness: replayfmt.carve on arbitrary bytes (lands with the forensics branch).

Imported lazily so this file exists before replayfmt.carve does; until then it exits with a
message instead of fuzzing. Seed corpus: fuzz/corpus/segment, fuzz/corpus/active and
fuzz/corpus/mv2.
"""
import sys

import _common


def _target(data):
    import replayfmt
    return replayfmt.carve(data)


if __name__ == "__main__":
    import replayfmt
    if not hasattr(replayfmt, "carve"):
        sys.exit("replayfmt.carve is not available yet (merge the forensics branch)")
    _common.run(_target)
