"""validate: real files are clean, every diagnostic code is triggered by a damaged fixture."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _real import active_files, cases, ids, mv2_files, real_dir, segment_files

from replayfmt.validate import ERROR, INFO, RULES, to_sarif, validate

ROOT = Path(__file__).resolve().parent.parent
DAMAGED = ROOT / "fixtures" / "damaged"
MANIFEST = json.loads((DAMAGED / "MANIFEST.json").read_text())
REAL_CODES = {"RF507": "p15_abandoned_active/mem.mv2", "RF508": "p10_two_cycles/mem.mv2"}
CLEAN = segment_files() + active_files()


@pytest.mark.parametrize("path", CLEAN, ids=ids(CLEAN))
def test_real_blocks_are_clean(path):
    report = validate(path.read_bytes())
    assert report.diagnostics == []


@pytest.mark.parametrize("case", cases(), ids=[c.name for c in cases()])
def test_real_mv2_only_informs(case):
    if not (case / "mem.mv2").exists():
        pytest.fail(f"{case.name}: no mem.mv2")
    report = validate((case / "mem.mv2").read_bytes())
    info = json.loads((case / "case.json").read_text())
    assert report.errors == [] and report.warnings == []
    stale = [d for d in report.diagnostics if d.code == "RF508"]
    assert len(stale) == info["expected"]["segment_count"] - (
        1 if info["toc_manifest"]["present"] else 0)
    stale_offsets = {s["offset"] for s in info["segments"] if not s["is_current"]}
    assert {d.offset for d in stale} == stale_offsets
    none = [d for d in report.diagnostics if d.code == "RF507"]
    if info["toc_manifest"]["present"]:
        assert none == []
    else:
        assert [d.offset for d in none] == [info["toc_manifest"]["tag_pos"]]


@pytest.mark.parametrize("name", sorted(MANIFEST), ids=sorted(MANIFEST))
def test_damaged_fixture_gives_exactly_its_codes(name):
    entry = MANIFEST[name]
    report = validate((DAMAGED / name).read_bytes())
    assert report.codes == set(entry["expect"]), [str(d) for d in report.diagnostics]
    for d in report.diagnostics:
        assert d.severity == RULES[d.code][1]
        assert 0 <= d.offset <= report.size and d.offset + d.length <= report.size


@pytest.mark.parametrize("name", sorted(n for n in MANIFEST if "expect_at" in MANIFEST[n]))
def test_damaged_fixture_diagnostics_are_where_the_damage_is(name):
    report = validate((DAMAGED / name).read_bytes())
    got = sorted([d.code, d.offset, d.path] for d in report.diagnostics)
    assert got == sorted(MANIFEST[name]["expect_at"])


def test_header_checksum_copy_fails_only_under_strict():
    report = validate((DAMAGED / "mv2_header_checksum_flip.mv2").read_bytes())
    assert report.ok() and not report.ok(strict=True)


def test_every_code_has_a_fixture():
    covered = set(REAL_CODES)
    for entry in MANIFEST.values():
        covered |= set(entry["expect"])
    assert covered == set(RULES)
    for code, rel in REAL_CODES.items():
        assert code in validate((real_dir() / rel).read_bytes()).codes


def test_generator_reproduces_fixtures(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_damaged_fixtures.py"),
                    str(tmp_path)], check=True, capture_output=True)
    for name in MANIFEST:
        assert (tmp_path / name).read_bytes() == (DAMAGED / name).read_bytes(), name


def test_diagnostics_point_at_the_field():
    data = (DAMAGED / "sequence_gap.bin").read_bytes()
    (d,) = validate(data).diagnostics
    assert d.path == "sessions[0].actions[2].sequence" and d.length == 8
    assert int.from_bytes(data[d.offset:d.offset + 8], "little") == 5
    (d,) = validate((DAMAGED / "state_hash_flip.bin").read_bytes()).diagnostics
    assert d.path == "sessions[0].checkpoints[1].state_hash" and d.length == 32


def test_goes_on_after_the_first_problem():
    # Bad UTF-8 in sessions[0] does not hide sessions[1] (its block length is known).
    data = bytearray((DAMAGED / "duplicate_session.bin").read_bytes())
    from replayfmt.trace import trace_segment

    span = trace_segment(bytes(data)).find("sessions[0].actions[1].input_preview", "string")
    data[span.offset + 8] = 0xFF
    report = validate(bytes(data))
    assert report.codes == {"RF006", "RF105"}
    by_code = {d.code: d for d in report.diagnostics}
    assert by_code["RF006"].path.startswith("sessions[0].")
    assert by_code["RF105"].path == "sessions[1].session_id"


def test_cut_segment_still_checks_the_actions_before_the_cut():
    data = (DAMAGED / "sequence_gap.bin").read_bytes()
    from replayfmt.trace import trace_segment

    end = trace_segment(data).find("sessions[0].actions[2]").end
    report = validate(data[:end + 3])
    assert {"RF005", "RF101"} <= report.codes


def test_oversize_sentinel_is_info_only():
    report = validate((DAMAGED / "oversize_sentinel.bin").read_bytes())
    assert [d.severity for d in report.diagnostics] == [INFO]
    assert report.ok(strict=True)


def test_sarif_shape():
    reports = []
    for name in ("bad_utf8.bin", "preview_600.bin", "oversize_sentinel.bin"):
        r = validate((DAMAGED / name).read_bytes())
        r.file = name
        reports.append(r)
    doc = to_sarif(reports)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert sorted(rule_ids) == sorted(RULES)
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"RF006": "error", "RF302": "warning", "RF301": "note"}
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        region = res["locations"][0]["physicalLocation"]["region"]
        assert set(region) == {"byteOffset", "byteLength"}
        art = res["locations"][0]["physicalLocation"]["artifactLocation"]
        assert run["artifacts"][art["index"]]["location"]["uri"] == art["uri"]


def test_unrecognized_and_empty():
    assert validate(b"").codes == {"RF001"}
    r = validate(b"\0" * 100)
    assert r.kind == "unknown" and r.errors[0].severity == ERROR


@pytest.mark.parametrize("path", mv2_files()[:3], ids=ids(mv2_files()[:3]))
def test_any_corruption_gives_a_report_not_a_crash(path):
    import random

    data = path.read_bytes()
    from replayfmt.mv2 import live_segment

    live = live_segment(data)
    rng = random.Random(7)
    seg = bytearray(data[live.offset:live.offset + live.size])
    for _ in range(150):
        m = bytearray(seg)
        for _ in range(rng.randrange(1, 4)):
            m[rng.randrange(len(m))] = rng.randrange(256)
        validate(bytes(m))
        validate(bytes(m[:rng.randrange(len(m))]))


def test_clean_segments_are_not_traced_up_front(monkeypatch):
    """A segment strict parsing accepts is checked without a whole-segment trace; offsets of
    diagnostics are traced record by record, and come out the same."""
    V = sys.modules["replayfmt.validate"]  # the package binds the name to the function
    root = Path(__file__).resolve().parents[1]
    data = (root / "fixtures" / "golden" / "segment_all_variants.bin").read_bytes()
    expected = [d.to_json() for d in V.validate(data).diagnostics]

    def no_trace(*args, **kwargs):
        raise AssertionError("whole-segment trace on a clean segment")

    monkeypatch.setattr(V, "trace_segment", no_trace)
    assert [d.to_json() for d in V.validate(data).diagnostics] == expected
