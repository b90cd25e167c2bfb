"""Shared test helpers: the seed corpus and the optional forensics entry points."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def corpus_files(sub: str) -> list[Path]:
    return sorted((CORPUS / sub).iterdir())
