"""Feed every file of one or more directories to the replayfmt entry points, once.

    python fuzz/replay_corpus.py DIR...            # exit 1 if anything but ReplayFormatError
    coverage run --branch --include='replayfmt/*' fuzz/replay_corpus.py DIR...

Use it to replay a libFuzzer corpus or crash files without atheris, or to measure the line and
branch coverage a corpus reaches (how docs/fuzzing.md's numbers were taken).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import replayfmt
from replayfmt import ReplayFormatError

NAMES = ("parse_segment", "parse_active_session", "parse_session", "carve", "validate",
         "salvage")


def main(dirs: list[str]) -> int:
    eps = [getattr(replayfmt, n) for n in NAMES if hasattr(replayfmt, n)]
    files = [p for d in dirs for p in sorted(Path(d).iterdir()) if p.is_file()]
    bad = 0
    for path in files:
        data = path.read_bytes()
        for ep in eps:
            try:
                ep(data)
            except ReplayFormatError:
                pass
            except Exception:
                bad += 1
                print(f"CRASH {ep.__name__} {path}", file=sys.stderr)
                traceback.print_exc()
    print(f"{len(files)} files x {len(eps)} entry points, {bad} crash(es)")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
