"""Where the real memvid CLI files are: fixtures/real/<case>/ in the repo when present, else
the shared corpus. Used by the hexmap, diff and ksy tests; a missing corpus fails loudly."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CANDIDATES = (ROOT / "fixtures" / "real", ROOT.parent / "shared" / "real-fixtures",
               Path("/work/shared/real-fixtures"))


def real_dir() -> Path:
    for cand in _CANDIDATES:
        if cand.is_dir() and any(cand.glob("p*/case.json")):
            return cand
    raise AssertionError("no real fixtures: looked in " + ", ".join(map(str, _CANDIDATES)))


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
