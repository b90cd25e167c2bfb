#!/usr/bin/env python3
"""atheris harness: replayfmt.parse_active_session on any bytes (corpus: fuzz/corpus/active)."""
import _common

from replayfmt import parse_active_session

if __name__ == "__main__":
    _common.run(parse_active_session)
