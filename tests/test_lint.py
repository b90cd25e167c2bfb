"""Lint and types, as pinned in pyproject.toml: the installed mypy and ruff are the pinned
versions, `mypy` (the project's configuration: strict, generated modules included) and
`ruff check .` report nothing, and the stub that types the lazily imported public names
(`replayfmt/__init__.pyi`) names exactly `__all__`."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import os
import re
import subprocess
import sys
import tempfile
import tomllib

import pytest
from conftest import ROOT

import replayfmt

pytestmark = pytest.mark.lint


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **(env or {})})


def _pins() -> dict[str, str]:
    test_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["test"]
    pins = {}
    for req in test_extra:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][^;\s]*)", req.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def test_mypy_and_ruff_are_pinned_and_installed_at_the_pins() -> None:
    pins = _pins()
    assert set(pins) >= {"mypy", "ruff"}, pins
    for name in ("mypy", "ruff"):
        assert importlib.metadata.version(name) == pins[name], (
            f"{name} {importlib.metadata.version(name)} installed, pyproject pins "
            f"{pins[name]}: pip install -e '.[test]'")
    ruff = _run("ruff", "--version")
    assert ruff.returncode == 0 and ruff.stdout.split() == ["ruff", pins["ruff"]]


def test_mypy_reports_no_issues_with_a_fresh_cache() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True and config["files"] == ["replayfmt"]
    # no module of the package is exempted from the checks (generated ones included)
    for override in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"].get(
            "overrides", []):
        assert not override.get("ignore_errors"), override
        assert all(not m.startswith("replayfmt") for m in override["module"]), override
    with tempfile.TemporaryDirectory(prefix="replayfmt-mypy-") as cache:
        res = _run("mypy", "--cache-dir", cache)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1].startswith("Success: no issues found in ")


def test_ruff_check_is_clean() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert settings["lint"]["select"], "ruff's rule selection lives in pyproject"
    res = _run("ruff", "check", "--no-cache", ".")
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-2000:]
    assert res.stdout.strip() == "All checks passed!"


def _stub_names() -> tuple[list[str], dict[str, tuple[str, str]]]:
    """The stub's `__all__` and, for every name it imports, (module, attribute)."""
    tree = ast.parse((ROOT / "replayfmt" / "__init__.pyi").read_text())
    declared: list[str] = []
    imported: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.level == 1 and node.module, ast.dump(node)
            for alias in node.names:
                # `X as X` (or `Y as X`): a re-export, as PEP 484 stubs spell it
                assert alias.asname is not None, f"{alias.name} is not re-exported"
                assert alias.asname not in imported, alias.asname
                imported[alias.asname] = (node.module, alias.name)
        elif isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
                "__all__"]:
            declared = ast.literal_eval(node.value)
    return declared, imported


def test_the_stub_names_exactly_all_and_each_is_the_object_imported() -> None:
    declared, imported = _stub_names()
    assert declared == replayfmt.__all__
    assert sorted(imported) == sorted(replayfmt.__all__)
    for name, (module, attr) in imported.items():
        source = importlib.import_module(f"replayfmt.{module}")
        assert getattr(replayfmt, name) is getattr(source, attr), name
