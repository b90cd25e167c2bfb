#!/usr/bin/env python3
"""atheris harness: replayfmt.parse_segment on any bytes (seed corpus: fuzz/corpus/segment)."""
import _common

from replayfmt import parse_segment

if __name__ == "__main__":
    _common.run(parse_segment)
