"""memvid's own verdict on the container fixtures, beside ours.

For every tamper fixture (fixtures/damaged/mv2_*.mv2) and every memvid-sdk file, the real memvid
CLI is run (`verify`, `session list`) and its exit code and message are pinned next to what
`replayfmt validate` says: where memvid rejects, we reject with the code that names the cause;
where memvid does not look (the header's checksum copy, frame checksums, manifest counts, an
action's content hash), we still report. The SDK files show that the CLI (memvid 2.0.140)
cannot read the TOC that memvid-sdk 2.0.124 to 2.0.140 wrote, while we decode it exactly.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from replayfmt import mv2
from replayfmt.peer import MemvidCLI
from replayfmt.validate import validate

pytestmark = pytest.mark.memvid

ROOT = Path(__file__).resolve().parent.parent
DAMAGED = ROOT / "fixtures" / "damaged"
SDK = ROOT / "fixtures" / "sdk"
MANIFEST = json.loads((DAMAGED / "MANIFEST.json").read_text())

#: fixture -> (memvid command, its exit code, a phrase of its output).
MEMVID_VERDICTS = {
    "mv2_toc_flip.mv2": (("verify",), 4, "no valid commit footer found"),
    "mv2_footer_hash_flip.mv2": (("verify",), 4, "no valid commit footer found"),
    "mv2_header_checksum_flip.mv2": (("verify",), 0, "Overall: Passed"),
    "mv2_frame_payload.mv2": (("verify", "--deep"), 0, "Overall: Passed"),
    "mv2_frame_range.mv2": (("verify", "--deep"), 0, "Overall: Passed"),
    "mv2_manifest_moved.mv2": (("session", "list"), 4, "Invalid replay segment magic"),
    "mv2_manifest_count.mv2": (("session", "list"), 0, "basic [completed, 3 actions"),
    "mv2_manifest_lost.mv2": (("session", "list"), 4,
                              "unable to recover table of contents"),
    "mv2_live_damaged.mv2": (("session", "list"), 4, "Failed to deserialize replay session"),
    "mv2_find_hash_flip.mv2": (("verify", "--deep"), 0, "Overall: Passed"),
}


@pytest.fixture(scope="module")
def memvid():
    with MemvidCLI() as cli:
        yield cli


def _run(memvid, tmp_path, data: bytes, *args: str, timeout: float = 60):
    path = tmp_path / "mem.mv2"
    path.write_bytes(data)
    proc = memvid.run(*args, path, cwd=tmp_path, timeout=timeout)
    return proc.returncode, (proc.stdout + proc.stderr).decode("utf-8", "replace")


@pytest.mark.parametrize("name", sorted(MEMVID_VERDICTS))
def test_memvid_verdict_beside_ours(memvid, tmp_path, name):
    data = (DAMAGED / name).read_bytes()
    args, rc, phrase = MEMVID_VERDICTS[name]
    got_rc, out = _run(memvid, tmp_path, data, *args)
    assert (got_rc, phrase in out) == (rc, True), out[-400:]
    report = validate(data)
    assert report.codes == set(MANIFEST[name]["expect"])
    assert not report.ok(strict=True)  # we reject every one, memvid only some


def _sdk(version: str) -> bytes:
    return gzip.decompress((SDK / version / "mem.mv2.gz").read_bytes())


@pytest.mark.parametrize("version", ["2.0.124", "2.0.131", "2.0.140"])
def test_memvid_cli_cannot_read_earlier_sdk_tocs_we_can(memvid, tmp_path, version):
    data = _sdk(version)
    rc, out = _run(memvid, tmp_path, data, "verify", timeout=60)
    assert rc == 1 and "Deserialization error" in out, out[-400:]
    report = validate(data)
    assert report.ok(strict=True), [str(d) for d in report.diagnostics]
    assert mv2.live_segment(data) is not None


def test_memvid_lists_the_sessions_we_find_in_a_current_sdk_file(memvid, tmp_path):
    data = _sdk("2.0.160")
    rc, out = _run(memvid, tmp_path, data, "session", "list", "--format", "json")
    assert rc == 0
    listed = json.loads(out[out.index("["):out.rindex("]") + 1])
    live = mv2.live_segment(data)
    assert [s["session_id"] for s in listed] == [str(s.session_id)
                                                 for s in live.segment.sessions]
    assert [s["action_count"] for s in listed] == [len(s.actions)
                                                   for s in live.segment.sessions]
    shutil.rmtree(tmp_path, ignore_errors=True)
