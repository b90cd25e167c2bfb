#!/usr/bin/env python3
"""Regenerate real replay fixtures by driving the real memvid CLI (the reference peer).

    .venv/bin/python scripts/regen_real_fixtures.py [OUT_DIR] [--case NAME ...] [--list]

OUT_DIR defaults to <repo>/fixtures/real-regen. Each case in RECIPES below runs
in a fresh OUT_DIR/<case>/ (an existing one is replaced) with a fresh HOME,
exactly like the cases in shared/real-fixtures: cwd = the case dir, file
always ``mem.mv2``, argv[0] = memvid. Per case it writes:

* ``mem.mv2``                  the final memory file
* ``active-N.bin``             byte copies of the sidecar ``mem.mv2.session``
                               taken where the recipe says (before ``session end``)
* ``list.json``                raw stdout of ``session list mem.mv2 --format json``
* ``view-<uuid>.json``         raw stdout of ``session view mem.mv2 -s UUID --format json``
                               for every session in list.json
* ``segment-live.bin``         the segment the TOC manifest points at, cut out with
                               ``replayfmt.mv2.find_live_segment`` (skipped with a
                               message if that module is not importable)
* ``case.json``                the commands run (argv, stdin, rc, output heads),
                               sidecar captures, live segment location, CLI version

The procedure is reproducible; the bytes are not (timestamps, session UUIDs and
frame UUIDs change on every run).

Finds use ``--mode lex``: the CLI's default (auto) mode first tries to download
an embedding model, i.e. a network attempt, and then falls back to the same
lexical engine, so the recorded Find action is identical (mode ``Tantivy``).
Exit status: 0 when every case ran and matched its expected summary, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from replayfmt.peer import MemvidCLI, MemvidError, MemvidNotFound  # noqa: E402

MV2 = "mem.mv2"
SIDECAR = MV2 + ".session"


@dataclass
class Run:
    """One CLI invocation: ``memvid *argv`` with optional stdin text."""

    argv: tuple[str, ...]
    stdin: str | None = None


@dataclass
class Capture:
    """Copy the sidecar ``mem.mv2.session`` to ``file`` (it must exist)."""

    file: str
    label: str


@dataclass
class Recipe:
    name: str
    description: str
    steps: list[Run | Capture]
    # Expected final `session list` summary: one (name, action_count, checkpoint_count)
    # per session, in list order. A mismatch makes the run fail.
    expect: list[tuple[str | None, int, int]] = field(default_factory=list)


def run(*argv: str, stdin: str | None = None) -> Run:
    return Run(tuple(argv), stdin)


def _auto_checkpoint_steps() -> list[Run | Capture]:
    # Exactly the puts/finds of shared/real-fixtures/p09_auto_checkpoint_3.
    docs = [
        "checkpointed doc 1 gamma omega cloud alpha sigma omega\n",
        "checkpointed doc 2 mountain banana cloud theta theta mountain\n",
        "checkpointed doc 3 gamma beta banana kiwi theta alpha\n",
        "checkpointed doc 4 mountain gamma melon theta epsilon cloud\n",
        "checkpointed doc 5 cloud banana delta grape banana apple\n",
        "checkpointed doc 6 alpha gamma sigma kappa epsilon kappa\n",
        "checkpointed doc 7 cherry kiwi kappa zeta alpha river\n",
    ]
    find = run("find", MV2, "--query", "checkpointed", "--mode", "lex")
    steps: list[Run | Capture] = []
    for i, doc in enumerate(docs):
        steps.append(run("put", MV2, stdin=doc))
        if i in (1, 3, 5):
            steps.append(find)
    return steps


# A name with non-ASCII letters, CJK, an emoji ZWJ sequence, RTL text and
# control characters (tab, newline, CR, 0x01, DEL): the CLI stores it byte-exact.
UNICODE_NAME = "ünïcödé 名前 👩\u200d💻 שלום\tTAB\nNL\rCR\x01SOH\x7fDEL"
# 3000 characters (8,987 bytes of UTF-8). The preview keeps the first 512 bytes:
# 13 ASCII bytes then 3-byte characters, so byte 512 cuts one (-> U+FFFD), and
# the 0x01 is dropped from the preview.
BIG_TEXT = ("unicode doc\x01 " + "日本語テキスト" * 500)[:3000]

RECIPES: list[Recipe] = [
    Recipe(
        "p01_basic_put_find",
        "One named session: one put (with --title) then two finds.",
        [
            run("create", MV2),
            run("session", "start", MV2, "-n", "basic"),
            run("put", MV2, "--title", "t1", stdin="hello world apple banana\n"),
            run("find", MV2, "--query", "apple", "--mode", "lex"),
            run("find", MV2, "--query", "apple", "--mode", "lex"),
            run("session", "end", MV2),
        ],
        expect=[("basic", 3, 0)],
    ),
    Recipe(
        "p04_empty_unnamed",
        "Unnamed session with zero actions: the smallest segment the CLI writes.",
        [
            run("create", MV2),
            run("session", "start", MV2),
            run("session", "end", MV2),
        ],
        expect=[(None, 0, 0)],
    ),
    Recipe(
        "p09_auto_checkpoint_3",
        "session start --auto-checkpoint 3; 7 puts interleaved with 3 finds; "
        "sidecar captured right before session end.",
        [
            run("create", MV2),
            run("session", "start", MV2, "-n", "auto checkpoint 3", "--auto-checkpoint", "3"),
            *_auto_checkpoint_steps(),
            Capture("active-0.bin", "before-end"),
            run("session", "end", MV2),
        ],
        expect=[("auto checkpoint 3", 13, 3)],
    ),
    Recipe(
        "p10_two_cycles",
        "Two start/end cycles: two segments, the first one stale, the TOC points "
        "at the second (which holds only the second session).",
        [
            run("create", MV2),
            run("session", "start", MV2, "-n", "first"),
            run("put", MV2, stdin="first cycle doc\n"),
            run("session", "end", MV2),
            run("session", "start", MV2, "-n", "second"),
            run("find", MV2, "--query", "cycle", "--mode", "lex"),
            run("put", MV2, stdin="second cycle doc\n"),
            run("session", "end", MV2),
        ],
        expect=[("second", 2, 0)],
    ),
    Recipe(
        "x01_unicode_name_big_put",
        "Unicode name with control characters (tab, LF, CR, 0x01, DEL), a "
        "3000-character multibyte put (preview cut at 512 bytes mid-character) "
        "and a find; sidecar captured before session end.",
        [
            run("create", MV2),
            run("session", "start", MV2, "-n", UNICODE_NAME),
            run("put", MV2, stdin=BIG_TEXT),
            run("find", MV2, "--query", "unicode", "--mode", "lex"),
            Capture("active-0.bin", "before-end"),
            run("session", "end", MV2),
        ],
        expect=[(UNICODE_NAME, 2, 0)],
    ),
]


def _head(data: bytes, limit: int = 400) -> str:
    return data[:limit].decode("utf-8", "replace")


def _load_find_live_segment():
    """``replayfmt.mv2.find_live_segment`` or None (with a message) if unavailable."""
    try:
        from replayfmt.mv2 import find_live_segment
    except Exception as exc:  # ImportError, or a half-written package
        print(
            "regen: cannot import replayfmt.mv2.find_live_segment "
            f"({type(exc).__name__}: {exc}); segment-live.bin will NOT be written",
            file=sys.stderr,
        )
        return None
    return find_live_segment


def regen_case(recipe: Recipe, out_dir: Path, find_live_segment) -> list[str]:
    """Run one recipe into out_dir/<name>; return a list of problems (empty = ok)."""
    case_dir = out_dir / recipe.name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    problems: list[str] = []
    commands: list[dict] = []
    captures: list[dict] = []
    with MemvidCLI() as cli:
        version = cli.version
        for step in recipe.steps:
            if isinstance(step, Capture):
                src = case_dir / SIDECAR
                if not src.is_file():
                    problems.append(f"{step.file}: no sidecar {SIDECAR} to capture")
                    continue
                data = src.read_bytes()
                (case_dir / step.file).write_bytes(data)
                captures.append(
                    {
                        "file": step.file,
                        "label": step.label,
                        "after_step": len(commands),
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                    }
                )
                continue
            proc = cli.run(*step.argv, cwd=case_dir, stdin=step.stdin)
            commands.append(
                {
                    "step": len(commands) + 1,
                    "argv": ["memvid", *step.argv],
                    **({"stdin": step.stdin} if step.stdin is not None else {}),
                    "rc": proc.returncode,
                    "stdout_head": _head(proc.stdout),
                    "stderr_head": _head(proc.stderr),
                }
            )
            if proc.returncode != 0:
                problems.append(
                    f"step {len(commands)} {step.argv!r} exited {proc.returncode}: "
                    f"{_head(proc.stderr, 300).strip()}"
                )
                break

        listing = cli.run("session", "list", MV2, "--format", "json", cwd=case_dir, check=True)
        (case_dir / "list.json").write_bytes(listing.stdout)
        try:
            sessions = json.loads(listing.stdout)
        except ValueError:  # "No recorded sessions." is plain text
            sessions = []
        for summary in sessions:
            sid = summary["session_id"]
            (case_dir / f"view-{sid}.json").write_bytes(cli.session_view_json(case_dir / MV2, sid))

    got = [(s["name"], s["action_count"], s["checkpoint_count"]) for s in sessions]
    if got != recipe.expect:
        problems.append(f"session list gives {got!r}, recipe expects {recipe.expect!r}")

    live = None
    mv2 = (case_dir / MV2).read_bytes()
    if find_live_segment is not None:
        try:
            found = find_live_segment(mv2)
        except Exception as exc:  # the lead's carver is new: report, don't crash
            problems.append(f"find_live_segment failed: {type(exc).__name__}: {exc}")
            found = False
        if found is False:
            live = {"present": None, "error": problems[-1]}
        elif found is None:
            live = {"present": False}
        else:
            offset, size = found
            seg = mv2[offset : offset + size]
            (case_dir / "segment-live.bin").write_bytes(seg)
            live = {
                "present": True,
                "file": "segment-live.bin",
                "offset": offset,
                "size": size,
                "sha256": hashlib.sha256(seg).hexdigest(),
            }

    case = {
        "name": recipe.name,
        "description": recipe.description,
        "generator": "scripts/regen_real_fixtures.py",
        "cli": {"version_output": version, "npm_package_version": "2.0.160"},
        "mv2": {"file": MV2, "size": len(mv2), "sha256": hashlib.sha256(mv2).hexdigest()},
        "commands": commands,
        "active_snapshots": captures,
        "live_segment": live,  # None: extraction skipped (replayfmt.mv2 unavailable)
        "sessions": sessions,
        "problems": problems,
    }
    (case_dir / "case.json").write_text(
        json.dumps(case, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "out", nargs="?", type=Path, default=REPO / "fixtures" / "real-regen",
        help="output directory (default: <repo>/fixtures/real-regen)",
    )
    ap.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the recipes and exit")
    args = ap.parse_args(argv)

    if args.list:
        for r in RECIPES:
            print(f"{r.name}: {r.description}")
        return 0
    unknown = set(args.case) - {r.name for r in RECIPES}
    if unknown:
        ap.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    recipes = [r for r in RECIPES if not args.case or r.name in args.case]

    try:
        with MemvidCLI() as cli:
            print(f"regen: memvid {cli.binary} ({cli.version})", file=sys.stderr)
    except MemvidNotFound as exc:
        print(f"regen: {exc}", file=sys.stderr)
        return 1
    find_live_segment = _load_find_live_segment()

    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for recipe in recipes:
        t0 = time.monotonic()
        try:
            problems = regen_case(recipe, args.out, find_live_segment)
        except MemvidError as exc:
            problems = [str(exc)]
        status = "ok" if not problems else "FAILED"
        print(f"regen: {recipe.name}: {status} ({time.monotonic() - t0:.2f}s)", file=sys.stderr)
        for p in problems:
            print(f"regen:   {p}", file=sys.stderr)
        failed += bool(problems)
    ok = len(recipes) - failed
    print(f"regen: {ok}/{len(recipes)} cases written to {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
