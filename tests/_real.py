"""Where the real memvid CLI files are: fixtures/real/<case>/ in this checkout. Used by the
hexmap, diff and ksy tests; a missing corpus fails loudly."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "fixtures" / "real"


def real_dir() -> Path:
    if REAL.is_dir() and any(REAL.glob("p*/case.json")):
        return REAL
    raise AssertionError(f"no real fixtures in {REAL}")


def cases() -> list[Path]:
    return sorted(p.parent for p in real_dir().glob("p*/case.json"))


def segment_files() -> list[Path]:
    return sorted(real_dir().glob("p*/segment-*.bin"))


def active_files() -> list[Path]:
    return sorted(real_dir().glob("p*/active-*.bin"))


def mv2_files() -> list[Path]:
    return sorted(real_dir().glob("p*/mem.mv2"))


def ids(paths) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]
