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
