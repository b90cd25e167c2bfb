"""What a wheel install needs: the license, type information, the schemas as package data, an
installer for the memvid CLI, actionable messages when something optional is missing, and
generators that never rewrite an installed package."""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import subprocess
import sys

import pytest
from conftest import ROOT

import replayfmt


def _py(*args: str, cwd=None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


def test_license_is_apache_2():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert 'license = {text = "Apache-2.0"}' in (ROOT / "pyproject.toml").read_text()


def test_typed_and_schemas_are_package_data():
    pkg = importlib.resources.files(replayfmt)
    assert pkg.joinpath("py.typed").is_file()
    shipped = {p.name: p.read_bytes() for p in pkg.joinpath("schemas").iterdir()
               if p.name.endswith((".json", ".ksy"))}
    repo = {p.name: p.read_bytes() for p in (ROOT / "schemas").iterdir()}
    assert shipped == repo and {"replay.ksy", "memvid-json.schema.json"} <= set(shipped)


def test_strategies_without_hypothesis_say_what_to_install():
    res = _py("-c", "import sys; sys.modules['hypothesis'] = None; import replayfmt.strategies")
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: replayfmt.strategies needs hypothesis")
    assert "pip install 'replayfmt[test]'" in last


def _digest() -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in (*(ROOT / "replayfmt").glob("_generated*.py"),
                      ROOT / "replayfmt" / "_native.pyx")}


@pytest.mark.parametrize("module", ["replayfmt.codegen", "replayfmt.codegen_native"])
def test_codegen_help_and_bad_options_write_nothing(module):
    before = _digest()
    res = _py("-m", module, "--help")
    assert res.returncode == 0 and "--check" in res.stdout and "wrote" not in res.stdout
    res = _py("-m", module, "--write-everything")
    assert res.returncode == 2 and "unrecognized arguments" in res.stderr
    assert _digest() == before


def test_peer_installer_without_npm_says_so(tmp_path):
    res = _py("-m", "replayfmt.peer", "install", "--cache", str(tmp_path / "cache"),
              PATH=str(tmp_path))
    assert res.returncode == 1
    assert "npm not found on PATH" in res.stderr and res.stdout == ""
    assert not (tmp_path / "cache" / "memvid" / "2.0.160" / "package").exists()


def test_fuzz_recipe_without_the_peer_says_how_to_install(tmp_path):
    argv = ["fuzz", "--recipe", "memvid", "--runs", "1", "--out", str(tmp_path / "out")]
    res = _py("-c", f"from replayfmt.cli import main; raise SystemExit(main({argv!r}))",
              REPLAYFMT_MEMVID=str(tmp_path / "none"))
    assert res.returncode == 2
    assert "python -m replayfmt.peer install" in res.stderr
