"""The peer markers (tests/conftest.py): a missing peer fails with how to install it; the switch
deselects the tests that need it and the run says what it did not run. Each case runs pytest
on tests/test_peer.py in a subprocess (six tests need the memvid CLI, one does not)."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def _pytest(base, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items()
            if k not in ("REPLAYFMT_SKIP_PEERS", "REPLAYFMT_MEMVID", "PYTEST_ADDOPTS")}
    full.update(env)
    # --basetemp: the inner run's temporary dirs live in this test's, not in $TMPDIR.
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--basetemp={base / 'inner'}", *args],
                          cwd=ROOT, env=full, capture_output=True, text=True, timeout=300)


def test_missing_peer_fails_with_how_to_install(tmp_path):
    res = _pytest(tmp_path, "tests/test_peer.py::test_version",
                  "tests/test_peer.py::test_missing_binary_message",
                  REPLAYFMT_MEMVID=str(tmp_path / "no-memvid"))
    assert res.returncode == 1, res.stdout
    assert "1 failed, 1 passed" in res.stdout
    assert "FAILED tests/test_peer.py::test_version" in res.stdout
    assert "needs the memvid CLI (marker memvid), which is missing" in res.stdout
    assert "python -m replayfmt.peer install" in res.stdout
    assert "REPLAYFMT_SKIP_PEERS=memvid" in res.stdout


def test_switch_deselects_and_lists_what_was_not_run(tmp_path):
    for how in ({"REPLAYFMT_SKIP_PEERS": "memvid,chromium"}, {}):
        args = () if how else ("--skip-peers", "memvid")
        res = _pytest(tmp_path, "tests/test_peer.py", *args,
                      REPLAYFMT_MEMVID=str(tmp_path / "no-memvid"), **how)
        assert res.returncode == 0, res.stdout
        assert "1 passed, 6 deselected" in res.stdout
        assert "not run: reference peers skipped on request" in res.stdout
        assert "memvid (the memvid CLI): 6 test(s) not run: tests/test_peer.py (6)" in res.stdout


def test_not_interop_deselects_every_peer_test(tmp_path):
    res = _pytest(tmp_path, "tests/test_peer.py", "-m", "not interop")
    assert res.returncode == 0, res.stdout
    assert "1 passed, 6 deselected" in res.stdout


def test_unknown_peer_is_a_usage_error(tmp_path):
    res = _pytest(tmp_path, "tests/test_peer.py", REPLAYFMT_SKIP_PEERS="memvid,npm")
    assert res.returncode == 4
    assert "unknown peer(s) npm" in res.stderr


def test_a_run_leaves_nothing_in_tmpdir_unless_it_fails(tmp_path):
    """pytest's base directory for `tmp_path` used to stay in $TMPDIR after every run
    (pytest-of-USER, the last three runs'); now it is private and removed when the run passes,
    and kept and named when it fails."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    full = {k: v for k, v in os.environ.items()
            if k not in ("REPLAYFMT_SKIP_PEERS", "REPLAYFMT_MEMVID", "PYTEST_ADDOPTS")}
    full["TMPDIR"] = str(tmp)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               *args], cwd=ROOT, env=full, capture_output=True, text=True,
                              timeout=300)

    # test_missing_binary_message writes into tmp_path
    res = run("tests/test_peer.py::test_missing_binary_message")
    assert res.returncode == 0 and "1 passed" in res.stdout, res.stdout
    assert list(tmp.iterdir()) == []
    for args in (["--help"], ["--collect-only", "tests/test_peer.py"]):
        assert run(*args).returncode == 0
        assert list(tmp.iterdir()) == [], args
    full["REPLAYFMT_MEMVID"] = str(tmp_path / "no-memvid")  # test_version fails without it
    res = run("tests/test_peer.py::test_missing_binary_message", "tests/test_peer.py::test_version")
    assert res.returncode == 1, res.stdout
    kept = list(tmp.iterdir())
    assert len(kept) == 1 and kept[0].name.startswith("replayfmt-tests-"), kept
    assert f"the tests' temporary files are kept in {kept[0]}" in res.stdout
