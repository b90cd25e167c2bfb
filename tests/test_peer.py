"""The real memvid CLI works as our reference peer (replayfmt.peer).

These tests run the installed binary for real (marker `memvid`). When it is missing they FAIL
(they do not skip): run scripts/install-memvid.sh first.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from replayfmt.peer import (
    MEMVID_VERSION_OUTPUT,
    MemvidCLI,
    MemvidError,
    MemvidNotFound,
    find_memvid,
)


@pytest.fixture(scope="module")
def peer():
    """A MemvidCLI, or the MemvidNotFound it raised (turned into a failure by `cli`)."""
    try:
        cli = MemvidCLI()
    except MemvidNotFound as exc:
        yield exc
        return
    with cli:
        yield cli


@pytest.fixture
def cli(peer) -> MemvidCLI:
    return peer


def _need(cli) -> MemvidCLI:
    # pytest.fail here, inside the test, makes a missing binary a FAILED test
    # (a failing fixture would be reported as an error at setup instead).
    if isinstance(cli, Exception):
        pytest.fail(f"memvid CLI unavailable: {cli}", pytrace=False)
    return cli


@pytest.mark.memvid
def test_installed_binary_is_found():
    path = find_memvid()
    assert path.is_file()
    assert path.name == "memvid"


@pytest.mark.memvid
def test_version(cli):
    cli = _need(cli)
    assert "2.0.140" in cli.version
    assert cli.version == MEMVID_VERSION_OUTPUT
    raw = cli.run("--version", check=True)
    assert raw.stdout == b"memvid 2.0.140\n"
    assert raw.stderr == b""


@pytest.mark.memvid
def test_session_round_trip(cli, tmp_path: Path):
    cli = _need(cli)
    mv2 = tmp_path / "mem.mv2"
    cli.create(mv2)
    assert mv2.read_bytes()[:4] == b"MV2\0"

    sid = cli.session_start(mv2, name="peer test")
    assert str(uuid.UUID(sid)) == sid
    sidecar = tmp_path / "mem.mv2.session"
    assert sidecar.read_bytes()[:8] == b"MV2ACTIV"
    # Only an active session: list prints an empty JSON array.
    assert cli.session_list_json(mv2) == b"[]\n"

    cli.put(mv2, "hello world apple banana\n", title="t1")
    hits = cli.find(mv2, "apple", mode="lex")
    assert b"hits: 1" in hits.stdout
    ended = cli.session_end(mv2)
    assert f"Ended session: {sid}".encode() in ended.stdout
    assert not sidecar.exists()

    raw = cli.session_list_json(mv2)
    assert raw.endswith(b"]\n")
    sessions = json.loads(raw)
    assert len(sessions) == 1
    assert sessions[0]["session_id"] == sid
    assert sessions[0]["name"] == "peer test"
    assert sessions[0]["action_count"] == 2
    assert sessions[0]["checkpoint_count"] == 0

    view_raw = cli.session_view_json(mv2, sid)
    assert view_raw.endswith(b"}\n")
    view = json.loads(view_raw)
    assert view["session_id"] == sid
    kinds = [next(iter(a["action_type"])) for a in view["actions"]]
    assert kinds == ["Put", "Find"]
    assert view["actions"][1]["action_type"]["Find"] == {
        "query": "apple",
        "mode": "Tantivy",
        "result_count": 1,
    }


@pytest.mark.memvid
def test_unnamed_start_and_auto_checkpoint(cli, tmp_path: Path):
    cli = _need(cli)
    mv2 = tmp_path / "mem.mv2"
    cli.create(mv2)
    # A file that never had a segment: plain text, not JSON.
    assert cli.session_list_json(mv2) == b"No recorded sessions.\n"
    sid = cli.session_start(mv2, auto_checkpoint=1)
    cli.put(mv2, b"one\n")
    cli.session_end(mv2)
    view = json.loads(cli.session_view_json(mv2, sid))
    assert view["name"] is None
    assert len(view["checkpoints"]) == 1
    assert [next(iter(a["action_type"])) for a in view["actions"]] == ["Put", "Checkpoint"]


@pytest.mark.memvid
def test_failures_raise_with_stderr(cli, tmp_path: Path):
    cli = _need(cli)
    mv2 = tmp_path / "mem.mv2"
    cli.create(mv2)
    proc = cli.run("session", "end", mv2)
    assert proc.returncode == 1
    assert b"No active session" in proc.stderr
    with pytest.raises(MemvidError, match="No active session"):
        cli.session_end(mv2)
    with pytest.raises(MemvidError, match="not found"):
        cli.session_view_json(mv2, "00000000-0000-0000-0000-000000000000")


@pytest.mark.memvid
def test_private_home_is_removed(cli):
    binary = _need(cli).binary
    with MemvidCLI(binary) as other:
        env = other.environ()
        home = other.home
        assert env["HOME"] == str(home)
        assert env["LD_LIBRARY_PATH"].split(":")[0] == str(binary.parent)
        assert env["MEMVID_TELEMETRY"] == "0"
        other.run("--version", check=True)
        assert home.is_dir()
    assert not home.exists()


def test_missing_binary_message(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("REPLAYFMT_MEMVID", str(tmp_path / "no-such-memvid"))
    with pytest.raises(MemvidNotFound, match="install-memvid.sh"):
        find_memvid()
    assert issubclass(MemvidNotFound, RuntimeError)
