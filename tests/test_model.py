"""The attrs model rejects values memvid could never encode."""

from __future__ import annotations

import uuid

import pytest

import replayfmt as R
from replayfmt import model as M


@pytest.mark.parametrize("kwargs", [
    {"sequence": -1}, {"sequence": 2**64}, {"timestamp_secs": 2**63},
    {"timestamp_secs": -(2**63) - 1}, {"input_hash": b"\0" * 31}, {"output_hash": "00" * 32},
    {"affected_frames": [2**64]}, {"affected_frames": [-1]}, {"duration_ms": True},
    {"input_preview": b"bytes"}, {"action_type": "Put"},
])
def test_action_validators(kwargs):
    base = dict(sequence=0, timestamp_secs=0, action_type=M.Put(1))
    with pytest.raises((TypeError, ValueError)):
        M.ReplayAction(**{**base, **kwargs})


def test_validation_on_assignment():
    action = M.ReplayAction(0, 0, M.Put(1))
    with pytest.raises(ValueError):
        action.sequence = 2**64
    with pytest.raises(ValueError):
        M.Put(-1)
    with pytest.raises(ValueError):
        M.ReplaySession(uuid.uuid4(), version=2**32)


def test_boundaries_are_accepted_and_round_trip():
    a = M.ReplayAction(M.U64_MAX, M.I64_MIN, M.PutMany([0, M.U64_MAX], M.U64_MAX),
                       M.OVERSIZE_HASH, M.ZERO_HASH, "", "ü" * 600, [M.U64_MAX], M.U64_MAX)
    s = M.ReplaySession(uuid.UUID(int=0), "", M.I64_MAX, M.I64_MIN, [], [a], {"k": "v"},
                        M.U32_MAX)
    assert R.parse_session(R.build_session(s)) == s


def test_in_place_mutation_past_range_fails_at_build_not_silently():
    s = M.ReplaySession(uuid.UUID(int=0), actions=[M.ReplayAction(0, 0, M.Put(1))])
    s.actions[0].affected_frames.append(-5)
    with pytest.raises(ValueError):
        R.build_session(s)


def test_metadata_order_is_wire_order():
    s1 = M.ReplaySession(uuid.UUID(int=0), metadata={"b": "1", "a": "2"})
    s2 = M.ReplaySession(uuid.UUID(int=0), metadata={"a": "2", "b": "1"})
    assert R.build_session(s1) != R.build_session(s2)
    assert list(R.parse_session(R.build_session(s1)).metadata) == ["b", "a"]


def test_variant_display_names():
    assert [c.DISPLAY for c in M.VARIANTS] == ["PUT", "PUT_MANY", "FIND", "ASK", "CHECKPOINT",
                                               "UPDATE", "DELETE", "TOOL_CALL"]
    assert M.VARIANTS_BY_NAME["Checkpoint"] is M.CheckpointAction


_LONE = "a\ud800b"


@pytest.mark.parametrize("make", [
    lambda: M.ReplaySession(uuid.uuid4(), _LONE),
    lambda: M.Find(_LONE, "Tantivy", 1),
    lambda: M.Find("q", _LONE, 1),
    lambda: M.Ask("q", _LONE, "m"),
    lambda: M.Ask("q", "p", _LONE),
    lambda: M.ToolCall(_LONE, M.ZERO_HASH),
    lambda: M.ReplayAction(0, 0, M.Put(1), input_preview=_LONE),
    lambda: M.ReplayAction(0, 0, M.Put(1), output_preview="\udcff"),
    lambda: M.ReplaySession(uuid.uuid4(), metadata={_LONE: "v"}),
    lambda: M.ReplaySession(uuid.uuid4(), metadata={"k": _LONE}),
], ids=["name", "find.query", "find.mode", "ask.provider", "ask.model", "tool.name",
        "input_preview", "output_preview", "metadata key", "metadata value"])
def test_lone_surrogates_are_rejected_on_construction(make):
    with pytest.raises(ValueError, match=r"must be encodable as UTF-8: lone surrogate U\+D[8C]"):
        make()


def test_lone_surrogate_error_names_field_and_index_and_assignment_is_checked():
    with pytest.raises(ValueError) as exc:
        M.ReplaySession(uuid.uuid4(), _LONE)
    assert str(exc.value) == "name must be encodable as UTF-8: lone surrogate U+D800 at index 1"
    s = M.ReplaySession(uuid.uuid4(), "ok \U0001f642")   # a real astral character is fine
    with pytest.raises(ValueError, match="name must be encodable"):
        s.name = _LONE
    assert s.name == "ok \U0001f642"
    assert R.parse_session(R.build_session(s)) == s
    assert R.from_memvid_json(R.to_memvid_json(s)) == s
