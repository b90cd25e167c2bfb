#!/usr/bin/env python3
"""atheris harness: replayfmt.validate on arbitrary bytes (lands with the forensics branch).

Imported lazily so this file exists before replayfmt.validate does; until then it exits with a
message instead of fuzzing. Seed corpus: fuzz/corpus/segment, fuzz/corpus/active and
fuzz/corpus/mv2.
"""
import sys

import _common


def _target(data):
    import replayfmt
    return replayfmt.validate(data)


if __name__ == "__main__":
    import replayfmt
    if not hasattr(replayfmt, "validate"):
        sys.exit("replayfmt.validate is not available yet (merge the forensics branch)")
    _common.run(_target)
