#!/usr/bin/env python3
"""atheris harness: replayfmt.salvage on arbitrary bytes (lands with the forensics branch).

Imported lazily so this file exists before replayfmt.salvage does; until then it exits with a
message instead of fuzzing. Seed corpus: fuzz/corpus/segment, fuzz/corpus/active and
fuzz/corpus/mv2.
"""
import sys

import _common


def _target(data):
    import replayfmt
    return replayfmt.salvage(data)


if __name__ == "__main__":
    import replayfmt
    if not hasattr(replayfmt, "salvage"):
        sys.exit("replayfmt.salvage is not available yet (merge the forensics branch)")
    _common.run(_target)
