"""The golden table of command-line outputs (tests/golden_cli, made by scripts/make_cli_golden.py).

Every case is replayed through `replayfmt.cli.main` in this process (stdout, stderr and stdin
swapped for byte buffers, cwd at the repository root, the same environment the table was made
in) and must give the same exit code, the same stdout bytes and the same stderr text. A few
cases also run as a real subprocess of the `replayfmt` console script's entry.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "golden_cli"
CASES = json.loads((TABLE / "cases.json").read_text(encoding="utf-8"))
ENV = {"COLUMNS": "100", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
       "PYTHONHASHSEED": "0"}
ENTRY = "import sys; from replayfmt.cli import main; sys.exit(main())"


def _expected_stdout(case: dict) -> bytes | None:
    if "stdout_file" in case:
        return (TABLE / case["stdout_file"]).read_bytes()
    return None


def _run_in_process(case: dict, monkeypatch) -> tuple[int, bytes, str]:
    from replayfmt.cli import main

    monkeypatch.chdir(ROOT)
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    stdin = (ROOT / case["stdin"]).read_bytes() if case["stdin"] else b""
    out, err = io.BytesIO(), io.BytesIO()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8",
                                                        write_through=True))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, encoding="utf-8",
                                                        write_through=True))
    try:
        code = main(list(case["argv"]))
    except SystemExit as exc:  # argparse: --help, usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    sys.stdout.flush()
    sys.stderr.flush()
    return code, out.getvalue(), err.getvalue().decode("utf-8", "backslashreplace")


def _check(case: dict, code: int, stdout: bytes, stderr: str) -> None:
    assert code == case["exit"], f"{case['argv']}: exit {code}, stderr {stderr!r}"
    want = _expected_stdout(case)
    if want is not None:
        assert stdout == want, f"{case['argv']}: stdout differs"
    assert hashlib.sha256(stdout).hexdigest() == case["stdout_sha256"], case["argv"]
    assert stderr == case["stderr"], f"{case['argv']}: stderr differs"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_case(case, monkeypatch):
    _check(case, *_run_in_process(case, monkeypatch))


SUBPROCESS = [c for c in CASES if c["name"].split("_", 1)[1].startswith(
    ("help", "info_fixtures_real_p09", "validate_fixtures_damaged_mv2_live", "dump_session",
     "carve_json_fixtures_real_p10", "roundtrip_dump_fixtures_golden_segment_all"))]


def test_subprocess_cases_are_chosen():
    assert len(SUBPROCESS) >= 5


@pytest.mark.parametrize("case", SUBPROCESS, ids=[c["name"] for c in SUBPROCESS])
def test_golden_case_as_a_process(case):
    stdin = (ROOT / case["stdin"]).read_bytes() if case["stdin"] else b""
    proc = subprocess.run([sys.executable, "-c", ENTRY, *case["argv"]], cwd=ROOT, input=stdin,
                          capture_output=True, env={**os.environ, **ENV}, timeout=300, check=False)
    _check(case, proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "backslashreplace"))


def test_table_covers_every_command():
    commands = {c["argv"][0] for c in CASES if c["argv"] and not c["argv"][0].startswith("-")}
    assert {"info", "dump", "build", "validate", "carve", "sessions", "salvage", "hexmap",
            "diff"} <= commands
    assert len(CASES) > 300
