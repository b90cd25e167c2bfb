"""The command-line package: layering, lazy command modules, the one exception boundary."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL, ROOT

from replayfmt import cli
from replayfmt.cli import COMMANDS, main
from replayfmt.errors import ReplayFormatError

P09 = REAL / "p09_auto_checkpoint_3"
PKG = ROOT / "replayfmt"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to replayfmt/ for the library modules
                base = "replayfmt" + ("." + base if base else "")
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def test_no_library_module_imports_the_command_line():
    offenders = []
    for path in sorted(PKG.glob("*.py")):
        if path.name == "__main__.py":
            continue
        if any(n == "replayfmt.cli" or n.startswith("replayfmt.cli.") for n in _imports(path)):
            offenders.append(path.name)
    assert offenders == []


def test_every_command_has_its_module_with_register_and_run():
    assert COMMANDS == ("info", "dump", "build", "diff", "hexmap", "validate", "carve",
                        "sessions", "salvage", "timeline", "report", "fuzz")
    for name in COMMANDS:
        mod = __import__(f"replayfmt.cli.{name}", fromlist=["register", "run"])
        assert callable(mod.register) and callable(mod.run)
        args = cli.build_parser([name]).parse_args(
            [name] + {"diff": ["a", "b"], "build": ["x.json", "-o", "y"],
                      "fuzz": ["--target", "t {file}"],
                      "report": ["f", "-o", "r.html"]}.get(name, ["f"]))
        assert args.run is mod.run


def test_library_defaults_the_command_line_repeats():
    from replayfmt import fuzz_target, hexmap
    from replayfmt.cli import fuzz
    from replayfmt.cli import hexmap as cli_hexmap

    assert cli_hexmap.RAW_LIMIT == hexmap.RAW_LIMIT
    assert fuzz.KINDS == fuzz_target.KINDS


def test_a_command_imports_only_its_own_module():
    code = ("import sys; from replayfmt.cli import main; main(sys.argv[1:]);"
            "print(sorted(m for m in sys.modules if m.startswith('replayfmt.cli.')))")
    out = subprocess.run([sys.executable, "-c", code, "info", str(P09 / "segment-0.bin")],
                         capture_output=True, check=True).stdout
    assert out.splitlines()[-1] == b"['replayfmt.cli._common', 'replayfmt.cli.info']"


@pytest.mark.parametrize("module", ["replayfmt", "replayfmt.cli"])
def test_python_dash_m_runs_the_command_line(module):
    proc = subprocess.run([sys.executable, "-m", module, "info", str(P09 / "segment-0.bin")],
                          capture_output=True)
    assert proc.returncode == 0 and b"auto checkpoint 3" in proc.stdout, proc.stderr


def _raise(exc):
    def run(args):
        raise exc
    return run


@pytest.mark.parametrize("exc, code, words", [
    (ReplayFormatError("truncated", "runs past the end", offset=12, path="version"), 1,
     "version at offset 12 (0xc): runs past the end"),
    (FileNotFoundError(2, "No such file or directory", "gone.bin"), 2,
     "gone.bin: No such file or directory"),
    (PermissionError(13, "Permission denied"), 2, "Permission denied"),
])
def test_the_boundary_maps_expected_errors_to_one_line(monkeypatch, capsys, exc, code, words):
    from replayfmt.cli import info

    monkeypatch.setattr(info, "run", _raise(exc))
    assert main(["info", "x"]) == code
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("exc", [ValueError("boom"), TypeError("boom"), KeyError("boom"),
                                 AttributeError("boom")])
def test_a_bug_looks_like_a_bug(monkeypatch, capsys, exc):
    from replayfmt.cli import info

    monkeypatch.setattr(info, "run", _raise(exc))
    assert main(["info", "x"]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"replayfmt: internal error (a bug): {type(exc).__name__}: ")
    assert "Traceback (most recent call last)" in err


def test_a_bug_inside_a_library_function_is_not_reported_as_bad_input(monkeypatch, capsys):
    """Before the boundary was narrowed, any ValueError read 'cannot build: ...', exit 1."""
    import replayfmt.forensics as F

    def broken(data):
        raise ValueError("an internal inconsistency")

    monkeypatch.setattr(F, "carve", broken)
    assert main(["carve", str(P09 / "mem.mv2")]) == 3
    assert "internal error (a bug): ValueError" in capsys.readouterr().err


def test_ctrl_c_exits_130_without_a_traceback(monkeypatch, capsys):
    from replayfmt.cli import info

    monkeypatch.setattr(info, "run", _raise(KeyboardInterrupt()))
    assert main(["info", "x"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "interrupted" in err


def test_build_still_reports_out_of_range_values_as_bad_input(tmp_path, capsys):
    import json

    value = json.loads((ROOT / "fixtures/golden/segment_all_variants.json").read_text())
    value["sessions"][0]["created_secs"] = 2**64
    src = tmp_path / "big.json"
    src.write_text(json.dumps(value))
    assert main(["build", str(src), "-o", "-"]) == 1
    assert "replayfmt: " in capsys.readouterr().err
