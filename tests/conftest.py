"""Shared paths and fixture tables for the tests, and the reference peers they need.

Tests that run a real peer carry its marker (memvid, memvid_sdk, kaitai, chromium; every one of
them also gets `interop`). A test whose peer is missing FAILS with a message saying how to
install it. `REPLAYFMT_SKIP_PEERS=kaitai,chromium` (or `--skip-peers kaitai,chromium`) deselects
the tests that need those peers, and the end of the run lists what was not run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Timing-based checks depend on the machine's load, not on the code: a shared CI runner made
# input generation "too slow" for some runs. Correctness checks stay on.
settings.register_profile("replayfmt", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("replayfmt")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
REAL = FIXTURES / "real"
GOLDEN = FIXTURES / "golden"
MALFORMED = FIXTURES / "malformed"
CORPUS = ROOT / "fuzz" / "corpus"


def real_cases() -> list[Path]:
    return sorted(p for p in REAL.iterdir() if (p / "case.json").exists())


def real_segments() -> list[Path]:
    return sorted(REAL.glob("*/segment-*.bin"))


def real_actives() -> list[Path]:
    return sorted(REAL.glob("*/active-*.bin"))


def golden_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.bin"))


def all_binaries() -> list[Path]:
    """Every valid segment and envelope we hold (real and golden)."""
    return real_segments() + real_actives() + golden_files()


def cli_views(case_dir: Path) -> dict[str, bytes]:
    """session id -> raw `memvid session view --format json` output, over all oracle dumps."""
    out: dict[str, bytes] = {}
    for view in sorted(case_dir.rglob("view-*.json")):
        out.setdefault(view.stem[len("view-"):], view.read_bytes())
    return out


def load_json(path: Path):
    return json.loads(path.read_bytes())


def corpus_files(sub: str) -> list[Path]:
    """The fuzz seed corpus (fuzz/corpus/SUB)."""
    return sorted((CORPUS / sub).iterdir())


# --- reference peers ----------------------------------------------------------------------------

def _memvid_missing() -> str | None:
    from replayfmt.peer import MemvidNotFound, find_memvid
    try:
        find_memvid()
    except MemvidNotFound as exc:
        return str(exc)
    return None


def _kaitai_missing() -> str | None:
    lacking = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if lacking:
        return (f"{' and '.join(lacking)} not found on PATH: the Kaitai Struct compiler runs on "
                "node and scripts/install-kaitai.sh fetches it with npm "
                "(apt-get install nodejs npm)")
    return None


def _chromium_missing() -> str | None:
    if chromium_binary() is None:
        return ("headless Chromium not found on PATH (chromium, chromium-browser, google-chrome): "
                "apt-get install -y chromium")
    return None


def _sdk_missing() -> str | None:
    if importlib.util.find_spec("memvid_sdk") is None:
        return "the memvid_sdk module is not installed: pip install -e '.[sdk]'"
    return None


#: marker -> (what it is, how to tell whether it is missing)
PEERS = {
    "memvid": ("the memvid CLI", _memvid_missing),
    "memvid_sdk": ("memvid-sdk", _sdk_missing),
    "kaitai": ("the Kaitai Struct compiler", _kaitai_missing),
    "chromium": ("Chromium", _chromium_missing),
}
SKIP_ENV = "REPLAYFMT_SKIP_PEERS"


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def pytest_addoption(parser):
    parser.addoption(
        "--skip-peers", metavar="PEER,...", default=None,
        help=f"do not run the tests that need these reference peers ({', '.join(PEERS)}); "
             f"same as {SKIP_ENV}=PEER,...")


def pytest_configure(config):
    raw = config.getoption("--skip-peers")
    if raw is None:
        raw = os.environ.get(SKIP_ENV, "")
    skip = [p.strip().replace("-", "_") for p in raw.split(",") if p.strip()]
    unknown = sorted(set(skip) - set(PEERS))
    if unknown:
        raise pytest.UsageError(
            f"--skip-peers/{SKIP_ENV}: unknown peer(s) {', '.join(unknown)}; "
            f"known: {', '.join(PEERS)}")
    config._replayfmt_skip = skip
    config._replayfmt_not_run = {}
    # pytest keeps its base directory for `tmp_path` under $TMPDIR after a run (the last three
    # runs'); ours is private and removed when the run passes, kept (and named at the end) when
    # it fails, so that a run leaves nothing behind but the evidence of a failure.
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="replayfmt-tests-")
        config._replayfmt_basetemp = config.option.basetemp


def pytest_sessionfinish(session, exitstatus):
    session.config._replayfmt_keep_tmp = exitstatus not in (pytest.ExitCode.OK,
                                                            pytest.ExitCode.NO_TESTS_COLLECTED)


def pytest_unconfigure(config):  # also after --help or a usage error: no session then
    base = getattr(config, "_replayfmt_basetemp", None)
    if base is not None and not getattr(config, "_replayfmt_keep_tmp", False):
        shutil.rmtree(base, ignore_errors=True)


class _PeerMissing(Exception):
    pass


class MissingPeerItem(pytest.Item):
    """Stands in for a test whose peer is missing: it fails with how to install the peer."""

    def __init__(self, *, message: str, **kwargs):
        super().__init__(**kwargs)
        self.message = message

    def runtest(self):
        raise _PeerMissing(self.message)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, _PeerMissing):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name


@pytest.hookimpl(tryfirst=True)  # before -m, so that `-m "not interop"` sees the markers
def pytest_collection_modifyitems(session, config, items):
    skip = set(config._replayfmt_skip)
    missing: dict[str, str | None] = {}
    kept, deselected = [], []
    for item in items:
        peers = [name for name in PEERS if item.get_closest_marker(name)]
        if peers:
            item.add_marker(pytest.mark.interop)
        skipped = [p for p in peers if p in skip]
        if skipped:
            deselected.append(item)
            for p in skipped:
                config._replayfmt_not_run.setdefault(p, []).append(item.nodeid)
            continue
        reasons = []
        for p in peers:
            if p not in missing:
                missing[p] = PEERS[p][1]()
            if missing[p]:
                reasons.append(f"needs {PEERS[p][0]} (marker {p}), which is missing: {missing[p]}")
        if reasons:
            stand_in = MissingPeerItem.from_parent(
                item.parent, name=item.name,
                message="\n".join(reasons) + "\nInstall it (bash scripts/setup.sh installs every "
                        f"peer), or run without these tests: {SKIP_ENV}="
                        + ",".join(p for p in peers if missing[p]))
            stand_in.own_markers = list(item.own_markers)
            stand_in.keywords.update(item.keywords)
            item = stand_in
        kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    else:
        items[:] = kept


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    base = getattr(config, "_replayfmt_basetemp", None)
    if base is not None and getattr(config, "_replayfmt_keep_tmp", False):
        terminalreporter.write_line(f"the tests' temporary files are kept in {base}")
    not_run = config._replayfmt_not_run
    if not not_run:
        return
    tr = terminalreporter
    tr.section("not run: reference peers skipped on request", sep="-", yellow=True)
    for peer, nodeids in sorted(not_run.items()):
        files: dict[str, int] = {}
        for nid in nodeids:
            f = nid.split("::", 1)[0]
            files[f] = files.get(f, 0) + 1
        where = ", ".join(f"{f} ({n})" for f, n in files.items())
        tr.write_line(f"{peer} ({PEERS[peer][0]}): {len(nodeids)} test(s) not run: {where}")
    total = len({n for ids in not_run.values() for n in ids})
    tr.write_line(f"{total} test(s) not run because of {SKIP_ENV}/--skip-peers; "
                  "this run does not cover them")
