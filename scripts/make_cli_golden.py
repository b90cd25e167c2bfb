"""Write the golden table of command-line outputs: tests/golden_cli/cases.json + stdout files.

A fixed list of (command x fixture) cases is run from the repository root with relative paths,
each in a subprocess as the `replayfmt` console script runs it; for each case the table keeps the
argv,
the stdin file (if any), the exit code, stdout (a file beside the table, or its sha256 when it
is large) and stderr. `tests/test_cli_golden.py` replays the table and asserts the same bytes.

    .venv/bin/python scripts/make_cli_golden.py          # rewrite the table
    .venv/bin/python scripts/make_cli_golden.py --check  # compare only; exit 1 on a difference
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path("tests/golden_cli")
LARGE = 64 * 1024
#: What the `replayfmt` console script runs (independent of where the CLI module lives).
ENTRY = "import sys; from replayfmt.cli import main; sys.exit(main())"
# stdout above this is kept as a sha256 only

#: The environment every case runs in: a fixed terminal width for argparse's help text.
ENV = {"COLUMNS": "100", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
       "PYTHONHASHSEED": "0"}

P09 = "fixtures/real/p09_auto_checkpoint_3"
P10 = "fixtures/real/p10_two_cycles"
P15 = "fixtures/real/p15_abandoned_active"
P16 = "fixtures/real/p16_doctor_vacuum"
P17 = "fixtures/real/p17_mixed_medium"
G = "fixtures/golden"
M = "fixtures/malformed"
D = "fixtures/damaged"

SEGMENTS = [f"{P09}/segment-0.bin", f"{P10}/segment-1.bin", f"{G}/segment_all_variants.bin",
            f"{G}/segment_empty.bin", f"{G}/segment_extremes.bin",
            f"{G}/segment_name_variants.bin", f"{G}/segment_multi_mixed.bin"]
SIDECARS = [f"{P09}/active-0.bin", f"{P15}/active-0.bin", f"{G}/envelope_all_variants.bin",
            f"{G}/envelope_extremes.bin", f"{G}/envelope_fresh.bin"]
MV2 = [f"{P09}/mem.mv2", f"{P10}/mem.mv2", f"{P15}/mem.mv2", f"{P16}/mem.mv2",
       f"{P17}/mem.mv2"]
MALFORMED = [f"{M}/{n}.bin" for n in (
    "bad_magic", "empty", "invalid_utf8_preview", "truncated_in_third_action", "trailing_bytes",
    "session_length_2_62", "envelope_truncated", "envelope_bad_magic", "unknown_variant_9",
    "short_header")]
DAMAGED = [f"{D}/{n}" for n in (
    "mv2_live_damaged.mv2", "mv2_manifest_lost.mv2", "mv2_manifest_count.mv2",
    "mv2_no_footer.mv2", "preview_control.bin", "cut_mid_action.bin", "sidecar_cut.session",
    "duplicate_key.bin", "state_hash_flip.bin", "trailing_5.bin", "unrecognized.bin",
    "bad_magic.bin", "ended_before_created.bin", "cli/magic_in_docs.mv2")]
GOOD = SEGMENTS + SIDECARS + MV2
ALL = GOOD + MALFORMED + DAMAGED


def session_ids(path: str) -> list[str]:
    sys.path.insert(0, str(ROOT))
    import replayfmt as R

    data = (ROOT / path).read_bytes()
    if data[:8] == b"MV2ACTIV":
        return [str(R.parse_active_session(data).session.session_id)]
    return [str(s.session_id) for s in R.parse_segment(data).sessions]


def cases() -> list[dict]:
    """(name, argv, stdin file or None), in a fixed order."""
    out: list[tuple[str, list[str], str | None]] = []

    def add(argv, stdin=None):
        out.append((argv, stdin))

    add(["--help"])
    for cmd in ("info", "dump", "build", "validate", "carve", "sessions", "salvage", "hexmap",
                "diff"):
        add([cmd, "--help"])
    add([])
    add(["nosuchcommand"])
    for f in ALL:
        add(["info", f])
    add(["info", *MV2[:2], SIDECARS[0], SEGMENTS[0]])
    add(["info", MALFORMED[0], SEGMENTS[0]])
    add(["info", "nonexistent.bin"])
    for f in GOOD + DAMAGED[:4]:
        add(["info", "--json", f])
    add(["info", "--json", *SEGMENTS[:2]])
    for f in SEGMENTS[:3] + MV2[:2] + SIDECARS[:1]:
        add(["info", "--headers", f])
    add(["info", "--headers", "--json", MV2[1]])
    add(["info", "-"], f"{P09}/segment-0.bin")
    for f in GOOD + MALFORMED[:3] + DAMAGED[:2]:
        add(["dump", f])
    for f in SEGMENTS[:3] + SIDECARS[:3] + MV2[:2]:
        add(["dump", "--format", "json", f])
    for f in (SEGMENTS[0], SEGMENTS[6], SIDECARS[0], MV2[1]):
        for sid in session_ids(f if not f.endswith(".mv2") else f.replace("mem.mv2",
                                                                          "segment-1.bin")):
            add(["dump", "--session", sid, f])
            add(["dump", "--format", "json", "-s", sid, f])
    add(["dump", "--session", "00000000-0000-0000-0000-000000000000", SEGMENTS[0]])
    for f in ALL:
        add(["validate", f])
    for f in GOOD[:4] + DAMAGED + MALFORMED[:4]:
        add(["validate", "--json", f])
    for f in (SEGMENTS[0], MV2[0], DAMAGED[0], DAMAGED[4]):
        add(["validate", "--sarif", f])
    for f in (SEGMENTS[0], DAMAGED[4], DAMAGED[8], MV2[2]):
        add(["validate", "--strict", f])
    add(["validate", "--kind", "segment", DAMAGED[11]])
    add(["validate", *SEGMENTS[:2], DAMAGED[4]])
    add(["validate", D])
    add(["validate", "-r", "--jsonl", "fixtures/real/p10_two_cycles"])
    add(["validate", "nonexistent.bin"])
    for f in MV2 + SEGMENTS[:2] + SIDECARS[:1] + DAMAGED[:2] + [DAMAGED[13], MALFORMED[0]]:
        add(["carve", "--json", f])
    for f in MV2[:2] + [DAMAGED[13]]:
        add(["carve", f])
    add(["carve", "--jsonl", *MV2[:2]])
    for f in MV2 + SEGMENTS[:2] + SIDECARS[:1] + [DAMAGED[13]]:
        add(["sessions", "--all", f])
    for f in MV2[:2]:
        add(["sessions", f])
        add(["sessions", "--all", "--json", f])
    for f in SEGMENTS[:2] + SIDECARS[:2] + DAMAGED[4:9] + MALFORMED[2:4] + MV2[:1]:
        add(["salvage", f])
    for f in (DAMAGED[5], DAMAGED[6], SEGMENTS[0]):
        add(["salvage", "--json", f])
        add(["salvage", "-o", "-", f])
    add(["salvage", "--kind", "segment", DAMAGED[11]])
    for f in SEGMENTS[:2] + SIDECARS[:2] + [MV2[0], MV2[2]] + MALFORMED[2:4] + DAMAGED[4:7]:
        add(["hexmap", f])
    add(["hexmap", "--raw-limit", "16", MALFORMED[3]])
    add(["hexmap", "--json", SEGMENTS[0]])
    add(["hexmap", "--html", "-", SEGMENTS[0]])
    for a, b in ((SEGMENTS[0], SEGMENTS[0]), (SEGMENTS[0], SEGMENTS[1]),
                 (f"{P10}/segment-0.bin", f"{P10}/segment-1.bin"), (MV2[1], SEGMENTS[1]),
                 (SIDECARS[0], SIDECARS[1]), (SEGMENTS[2], SEGMENTS[4]),
                 (DAMAGED[4], SEGMENTS[0]), (MALFORMED[2], SEGMENTS[0]), (MV2[2], MV2[0])):
        add(["diff", a, b])
    add(["diff", "--json", f"{P10}/segment-0.bin", f"{P10}/segment-1.bin"])
    add(["diff", "--json", SIDECARS[0], SIDECARS[2]])
    for j in sorted(Path(ROOT, G).glob("*.json")):
        rel = j.relative_to(ROOT).as_posix()
        add(["build", rel, "-o", "-"] + (["--envelope"] if "envelope" in j.name else []))
    for v in sorted(Path(ROOT, "fixtures/real").glob("p1[0-2]*/view-*.json")):
        add(["build", v.relative_to(ROOT).as_posix(), "-o", "-"])
    add(["build", f"{G}/segment_empty.bin", "-o", "-"])
    add(["build", f"{G}/segment_all_variants.json", "--envelope", "-o", "-"])
    add(["info", "--frames", f"{P09}/mem.mv2"])
    add(["info", "--frames", "--json", "fixtures/real/p20_ask_mock_llm/mem.mv2"])
    named = []
    for i, (argv, stdin) in enumerate(out):
        slug = re.sub(r"[^A-Za-z0-9]+", "_", " ".join(argv))[:70].strip("_") or "no_args"
        named.append({"name": f"{i:03d}_{slug}", "argv": argv, "stdin": stdin})
    return named


def round_trips(table: list[dict]) -> list[dict]:
    """`dump --format json` and `dump` outputs fed back to `build - -o -` on stdin."""
    extra = []
    for case in table:
        argv = case["argv"]
        if (argv[:1] == ["dump"] and "-s" not in argv and "--session" not in argv
                and "--help" not in argv and case["exit"] == 0 and "stdout_file" in case):
            kind = Path(argv[-1]).name
            build = ["build", "-", "-o", "-"]
            if "active" in kind or "envelope" in kind:
                build.append("--envelope")
            extra.append({"name": f"{len(table) + len(extra):03d}_roundtrip_"
                                  + case["name"][4:],
                          "argv": build, "stdin": str(OUT / case["stdout_file"])})
    return extra


def run_case(case: dict) -> dict:
    env = {**os.environ, **ENV}
    stdin = (ROOT / case["stdin"]).read_bytes() if case["stdin"] else b""
    proc = subprocess.run([sys.executable, "-c", ENTRY, *case["argv"]], cwd=ROOT,
                          input=stdin, capture_output=True, env=env, timeout=300, check=False)
    return {"exit": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def record(case: dict, got: dict, files: dict[str, bytes]) -> dict:
    entry = {"name": case["name"], "argv": case["argv"], "stdin": case["stdin"],
             "exit": got["exit"], "stdout_sha256": hashlib.sha256(got["stdout"]).hexdigest(),
             "stdout_size": len(got["stdout"]),
             "stderr": got["stderr"].decode("utf-8", "backslashreplace")}
    if len(got["stdout"]) <= LARGE:
        entry["stdout_file"] = f"out/{case['name']}.stdout"
        files[entry["stdout_file"]] = got["stdout"]
    return entry


def main(argv: list[str]) -> int:
    check = "--check" in argv
    os.chdir(ROOT)
    files: dict[str, bytes] = {}
    todo = cases()
    with ThreadPoolExecutor(3) as pool:
        results = pool.map(run_case, todo)
        table = [record(c, got, files) for c, got in zip(todo, results, strict=False)]
    if not check:  # round trips read the dumps just written
        if (OUT / "out").exists():
            shutil.rmtree(OUT / "out")
        (OUT / "out").mkdir(parents=True)
        for name, data in files.items():
            (OUT / name).write_bytes(data)
    else:
        old = {c["name"]: c for c in json.loads((OUT / "cases.json").read_text())}
    trips = round_trips(table)
    with ThreadPoolExecutor(3) as pool:
        for c, got in zip(trips, pool.map(run_case, trips), strict=False):
            table.append(record(c, got, files))
    if check:
        bad = 0
        for entry in table:
            was = old.get(entry["name"])
            keys = ("argv", "exit", "stdout_sha256", "stderr")
            if was is None or any(was[k] != entry[k] for k in keys):
                bad += 1
                print(f"DIFF {entry['name']}: " + (", ".join(
                    k for k in keys if was[k] != entry[k]) if was else "new case"))
        print(f"{len(table)} cases, {bad} differ")
        return 1 if bad else 0
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    (OUT / "cases.json").write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    print(f"{len(table)} cases written to {OUT}/cases.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
