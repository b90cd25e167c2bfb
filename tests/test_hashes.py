"""Content hashes: what memvid's files let us check (every real file: no false alarm), and a
tampered hash or preview found where the bytes prove it."""

from __future__ import annotations

import collections
import gzip
from pathlib import Path

import attrs
import blake3
import pytest
from _real import real_dir

import replayfmt as R
from replayfmt import framing, hashes, mv2
from replayfmt.model import Ask, Find, Put
from replayfmt.trace import trace_segment
from replayfmt.validate import validate

ROOT = Path(__file__).resolve().parent.parent
SDK = ROOT / "fixtures" / "sdk"
SHARED = Path("/work/shared/real-fixtures")


def _real_files() -> list[tuple[str, bytes]]:
    out = []
    roots = [real_dir()] + ([SHARED] if SHARED.is_dir() else [])
    for root in roots:
        for path in sorted(root.glob("p*/*")):
            if path.suffix in (".bin", ".mv2", ".session"):
                out.append((str(path), path.read_bytes()))
    for path in sorted(SDK.glob("*/mem.mv2.gz")):
        out.append((str(path), gzip.decompress(path.read_bytes())))
    return out


def _sessions(data: bytes):
    kind = framing.sniff(data)
    if kind == "mv2":
        live = mv2.live_segment(data)
        return live.segment.sessions if live else []
    if kind == "segment":
        return R.parse_segment(data).sessions
    return [R.parse_active_session(data).session]


@pytest.fixture(scope="module")
def real_files():
    files = _real_files()
    assert len(files) >= 80, "the real corpus is missing"
    return files


def test_every_real_file_verifies_or_is_unchecked_never_a_mismatch(real_files):
    tally: collections.Counter = collections.Counter()
    seen = set()
    for name, data in real_files:
        for s in _sessions(data):
            for a in s.actions:
                checks = hashes.check_action(a)
                assert [c for c in checks if c.status == "mismatch"] == [], name
                assert list(hashes.mismatches(a)) == []
                key = (s.session_id, a.sequence)
                if key not in seen:
                    seen.add(key)
                    for c in checks:
                        tally[(a.action_type.VARIANT, c.field, c.status, c.basis)] += 1
    # Every Find and Ask input is checked against its query; Put inputs by their preview,
    # except the ones cut at 512 bytes.
    assert tally[("Find", "input_hash", "verified", "query")] >= 100
    assert tally[("Ask", "input_hash", "verified", "query")] >= 3
    assert tally[("Ask", "output_hash", "verified", "preview")] >= 3
    assert tally[("Put", "input_hash", "verified", "preview")] >= 60
    assert tally[("Put", "input_hash", "unchecked", "preview")] >= 1
    assert not any(k[2] == "unchecked" and k[:2] != ("Put", "input_hash") for k in tally)


def test_every_real_file_validates_strict(real_files):
    for name, data in real_files:
        report = validate(data)
        assert report.ok(strict=True), (name, [str(d) for d in report.diagnostics])
        assert not report.codes & {"RF306", "RF307"}, name


def test_preview_of_is_memvids_rule():
    assert hashes.preview_of(b"a\r\nb\x00c\td") == "a\nbc\td"
    assert hashes.preview_of(b"a\r\nb", strip_controls=False) == "a\r\nb"
    assert hashes.preview_of(b"x" * 600) == "x" * 512
    cut = b"x" * 511 + "\u00e9".encode()  # a 2-byte character cut at byte 512
    assert hashes.preview_of(cut) == "x" * 511 + "\ufffd"
    assert hashes.preview_of(b"\xff\xfeab") == "\ufffd\ufffdab"
    assert hashes.preview_of(b"a\x85b" + "\u0085".encode() + b"c") == "a\ufffdbc"


def _p01() -> bytes:
    return (real_dir() / "p01_basic_put_find" / "segment-0.bin").read_bytes()


def _one(session, j, **changes):
    actions = list(session.actions)
    actions[j] = attrs.evolve(actions[j], **changes)
    return R.build_segment([attrs.evolve(session, actions=actions)])


def test_tampered_find_hash_fires_where_it_is():
    data = bytearray(_p01())
    span = trace_segment(bytes(data)).find("sessions[0].actions[1].input_hash")
    data[span.offset + 5] ^= 0x40
    (d,) = validate(bytes(data)).diagnostics
    assert (d.code, d.severity, d.offset, d.length, d.path) == (
        "RF306", "error", span.offset, 32, "sessions[0].actions[1].input_hash")
    assert "Find.query" in d.message


def test_tampered_query_fires_on_the_hash_and_the_preview_stays_consistent():
    s = R.parse_segment(_p01()).sessions[0]
    find = s.actions[1].action_type
    assert isinstance(find, Find)
    bad = _one(s, 1, action_type=attrs.evolve(find, query="apples"))
    codes = sorted((d.code, d.path) for d in validate(bad).diagnostics)
    assert codes == [("RF306", "sessions[0].actions[1].input_hash"),
                     ("RF307", "sessions[0].actions[1].input_preview")]


def test_tampered_ask_fires_and_its_answer_is_only_verified():
    data = (real_dir() / "p20_ask_mock_llm" / "segment-0.bin").read_bytes()
    s = R.parse_segment(data).sessions[0]
    j = next(i for i, a in enumerate(s.actions) if isinstance(a.action_type, Ask))
    a = s.actions[j]
    assert [c.status for c in hashes.check_action(a)] == ["verified"] * 3
    bad = _one(s, j, input_hash=blake3.blake3(b"another question").digest())
    assert [d.code for d in validate(bad).diagnostics] == ["RF306"]
    # The answer's hash is not provable from its preview: a changed one is not a finding.
    other = _one(s, j, output_hash=blake3.blake3(b"another answer").digest())
    assert validate(other).diagnostics == []
    (out,) = [c for c in hashes.check_action(R.parse_segment(other).sessions[0].actions[j])
              if c.field == "output_hash"]
    assert out.status == "unchecked" and "control characters" in out.message


def test_put_hash_is_verified_by_a_whole_preview_and_never_a_false_alarm():
    s = R.parse_segment(_p01()).sessions[0]
    put = s.actions[0]
    assert isinstance(put.action_type, Put)
    assert hashes.check_action(put)[0].status == "verified"
    # CR LF text: memvid hashes the CRs, its preview drops them. Genuine, so no finding.
    text = b"line one\r\nline two\r\n"
    crlf = attrs.evolve(put, input_hash=blake3.blake3(text).digest(),
                        input_preview=hashes.preview_of(text))
    assert list(hashes.mismatches(crlf)) == []
    assert hashes.check_action(crlf)[0].status == "unchecked"
    # A preview cut at 512 bytes proves nothing about the rest.
    long = b"y" * 700
    cut = attrs.evolve(put, input_hash=blake3.blake3(long).digest(),
                       input_preview=hashes.preview_of(long))
    (c, _) = hashes.check_action(cut)
    assert c.status == "unchecked" and "512" in c.message
    # A zero hash says "no input": a preview beside it is impossible.
    zero = attrs.evolve(put, input_hash=bytes(32))
    (m,) = hashes.mismatches(zero)
    assert (m.field, m.code) == ("input_hash", "RF306")


def test_releases_before_2_0_135_are_not_false_alarms():
    """Up to 2.0.134 memvid hashed the empty input (BLAKE3 of nothing, not zero) and kept
    control characters in previews."""
    s = R.parse_segment(_p01()).sessions[0]
    find = s.actions[1]
    q = "tab\there\r\nand CR"
    old = attrs.evolve(find, action_type=attrs.evolve(find.action_type, query=q),
                       input_hash=blake3.blake3(q.encode()).digest(), input_preview=q)
    new = attrs.evolve(old, input_preview=hashes.preview_of(q.encode()))
    assert new.input_preview == "tab\there\nand CR"
    for a in (old, new):
        assert list(hashes.mismatches(a)) == []
    empty = attrs.evolve(find, action_type=attrs.evolve(find.action_type, query=""),
                         input_preview="")
    for digest in (bytes(32), hashes.EMPTY_HASH):
        assert list(hashes.mismatches(attrs.evolve(empty, input_hash=digest))) == []
    wrong = attrs.evolve(empty, input_hash=blake3.blake3(b"x").digest())
    assert [m.code for m in hashes.mismatches(wrong)] == ["RF306"]


def test_sentinel_is_unchecked():
    s = R.parse_segment(_p01()).sessions[0]
    put = attrs.evolve(s.actions[0], input_hash=b"\xff" * 32,
                       input_preview="[ERROR: Input size 20000000 exceeds maximum 10485760]")
    assert list(hashes.mismatches(put)) == []
    assert hashes.check_action(put)[0].basis == "sentinel"


def test_mv2_live_segment_hash_is_located_in_the_file():
    m = (real_dir() / "p01_basic_put_find" / "mem.mv2").read_bytes()
    live = mv2.live_segment(m)
    span = trace_segment(m[live.offset:live.offset + live.size]).find(
        "sessions[0].actions[1].input_hash")
    at = live.offset + span.offset
    bad = m[:at] + bytes([m[at] ^ 1]) + m[at + 1:]
    report = validate(bad)
    assert [(d.code, d.offset, d.path) for d in report.diagnostics] == [
        ("RF306", at, "sessions[0].actions[1].input_hash")]
