"""memvid JSON: the JSON Schema in schemas/ accepts every dump, and the readable form reads back."""

from __future__ import annotations

import json

import jsonschema
import pytest
from conftest import ROOT, all_binaries

import replayfmt as R

SCHEMA = json.loads((ROOT / "schemas" / "memvid-json.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _parse(data):
    return R.parse_segment(data) if data[:8] == b"MV2RPLY!" else R.parse_active_session(data)


def test_schema_is_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", all_binaries(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_dump_validates(path):
    value = _parse(path.read_bytes())
    VALIDATOR.validate(R.to_memvid_json(value))
    sessions = value.sessions if isinstance(value, R.Segment) else [value.session]
    for s in sessions:
        VALIDATOR.validate(json.loads(R.dumps_memvid(s)))


def test_cli_json_validates():
    for view in (ROOT / "fixtures" / "real").rglob("view-*.json"):
        VALIDATOR.validate(json.loads(view.read_bytes()))


@pytest.mark.parametrize("bad", [
    {"Put": {"frame_id": -1}},
    {"Put": {"frame_id": 1}, "Find": {}},
    {"Nope": {}},
])
def test_schema_rejects_bad_action_types(bad):
    value = R.to_memvid_json(R.parse_segment(
        (ROOT / "fixtures" / "golden" / "segment_seed_two_sessions.bin").read_bytes()))
    value["sessions"][0]["actions"][0]["action_type"] = bad
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(value)


def test_readable_form_uses_hex_and_internal_tags():
    seg = R.parse_segment((ROOT / "fixtures" / "golden" / "segment_all_variants.bin").read_bytes())
    readable = R.to_json(seg)
    action = readable["sessions"][0]["actions"][2]
    assert action["action_type"] == {"type": "Find", "query": "apple", "mode": "Tantivy",
                                     "result_count": 2}
    assert action["input_hash"] == bytes(range(32)).hex()
    assert R.from_json(readable) == seg


@pytest.mark.parametrize("mutate, path", [
    (lambda v: v["sessions"][0]["actions"][0].update(input_hash=[0] * 31),
     "sessions[0].actions[0].input_hash"),
    (lambda v: v["sessions"][0]["actions"][1].update(sequence=-1), "sessions[0].actions[1]"),
    (lambda v: v["sessions"][0].pop("metadata"), "sessions[0]"),
    (lambda v: v["sessions"][0]["actions"][0].update(action_type={"Jump": {}}),
     "sessions[0].actions[0].action_type"),
    (lambda v: v["sessions"][0].update(session_id="nope"), "sessions[0].session_id"),
])
def test_from_json_errors_name_the_field(mutate, path):
    value = R.to_memvid_json(R.parse_segment(
        (ROOT / "fixtures" / "golden" / "segment_all_variants.bin").read_bytes()))
    mutate(value)
    with pytest.raises(R.JSONShapeError) as info:
        R.from_memvid_json(value)
    assert info.value.path == path
