"""Shared paths and fixture tables for the tests."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
REAL = FIXTURES / "real"
GOLDEN = FIXTURES / "golden"
MALFORMED = FIXTURES / "malformed"
CORPUS = ROOT / "fuzz" / "corpus"


def real_cases() -> list[Path]:
    return sorted(p for p in REAL.iterdir() if (p / "case.json").exists())


def real_segments() -> list[Path]:
    return sorted(REAL.glob("*/segment-*.bin"))


def real_actives() -> list[Path]:
    return sorted(REAL.glob("*/active-*.bin"))


def golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.bin"))


def all_binaries() -> list[Path]:
    """Every valid segment and envelope we hold (real and golden)."""
    return real_segments() + real_actives() + golden_files()


def cli_views(case_dir: Path) -> dict[str, bytes]:
    """session id -> raw `memvid session view --format json` output, over all oracle dumps."""
    out: dict[str, bytes] = {}
    for view in sorted(case_dir.rglob("view-*.json")):
        out.setdefault(view.stem[len("view-"):], view.read_bytes())
    return out


def load_json(path: Path):
    return json.loads(path.read_bytes())


def corpus_files(sub: str) -> list[Path]:
    """The fuzz seed corpus (fuzz/corpus/SUB)."""
    return sorted((CORPUS / sub).iterdir())
