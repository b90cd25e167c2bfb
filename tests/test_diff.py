"""`replayfmt diff` and `diff_records`: matching by id and sequence, field paths, exit codes,
on real stale/live segments and sidecar moments and on edited sessions."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from _real import real_dir

from replayfmt import (
    Find,
    Put,
    ReplayAction,
    ReplaySession,
    build_segment,
    diff_records,
    parse_active_session,
    parse_segment,
)
from replayfmt.cli import main


def _case(name):
    return real_dir() / name


def _run(capsys, *argv):
    rc = main(["diff", *map(str, argv)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _session(**kw):
    base = dict(session_id=uuid.UUID(int=7), name="s", created_secs=100, ended_secs=200,
                actions=[ReplayAction(i, 100 + i, Put(i)) for i in range(3)])
    base.update(kw)
    return ReplaySession(**base)


# --- library --------------------------------------------------------------------------------

def test_equal_records_have_no_changes():
    seg = parse_segment((_case("p17_mixed_medium") / "segment-0.bin").read_bytes())
    d = diff_records(seg, copy.deepcopy(seg))
    assert d.equal and d.changes == ()
    assert d.to_json()["sessions"] == {"added": [], "removed": [], "changed": []}


def test_action_changes_by_sequence_with_field_paths():
    a = _session()
    b = copy.deepcopy(a)
    b.ended_secs = 250
    b.actions[1].input_preview = "edited"
    b.actions[2].action_type = Find("q", "Tantivy", 0)   # variant changed: reported whole
    b.actions[0].action_type.frame_id = 9                 # same variant: field path
    del b.actions[0:0]
    b.actions.append(ReplayAction(3, 103, Put(3)))
    b.metadata["k"] = "v"
    d = diff_records(a, b)
    sid = str(a.session_id)
    got = {(c.op, c.path) for c in d.changes}
    assert got == {
        ("changed", f"sessions[{sid}].ended_secs"),
        ("changed", f"sessions[{sid}].actions[0].action_type.frame_id"),
        ("changed", f"sessions[{sid}].actions[1].input_preview"),
        ("changed", f"sessions[{sid}].actions[2].action_type"),
        ("added", f"sessions[{sid}].actions[3]"),
        ("added", f'sessions[{sid}].metadata["k"]'),
    }
    whole = next(c for c in d.changes if c.path.endswith("actions[2].action_type"))
    assert whole.old == {"type": "Put", "frame_id": 2}
    assert whole.new == {"type": "Find", "query": "q", "mode": "Tantivy", "result_count": 0}
    js = d.to_json()
    (entry,) = js["sessions"]["changed"]
    assert entry["session_id"] == sid
    assert entry["actions"]["added"] == ["3"]
    assert [c["sequence"] for c in entry["actions"]["changed"]] == ["0", "1", "2"]
    assert entry["actions"]["changed"][1]["fields"] == [
        {"op": "changed", "path": "input_preview", "old": "", "new": "edited"}]
    assert {f["path"] for f in entry["fields"]} == {"ended_secs", 'metadata["k"]'}


def test_actions_matched_by_sequence_not_position():
    a = _session()
    b = copy.deepcopy(a)
    b.actions.reverse()
    assert diff_records(a, b).equal
    b.actions.pop(1)  # sequence 1 removed
    (c,) = diff_records(a, b).changes
    assert (c.op, c.path) == ("removed", f"sessions[{a.session_id}].actions[1]")
    assert c.old["sequence"] == 1


def test_duplicate_keys_are_numbered():
    a = _session()
    b = copy.deepcopy(a)
    b.actions.append(ReplayAction(1, 999, Put(1)))
    (c,) = diff_records(a, b).changes
    assert (c.op, c.path) == ("added", f"sessions[{a.session_id}].actions[1#2]")


def test_container_fields_only_between_same_kinds():
    active = parse_active_session((_case("p12_sidecar_moments") / "active-3.bin").read_bytes())
    seg = parse_segment((_case("p12_sidecar_moments") / "segment-0.bin").read_bytes())
    d = diff_records(active, seg)
    assert (d.a_kind, d.b_kind) == ("active_session", "segment")
    # the sidecar's last moment is the saved session except ended_secs (README of the corpus)
    assert [(c.op, c.path.split(".")[-1]) for c in d.changes] == [("changed", "ended_secs")]


# --- command line ---------------------------------------------------------------------------

def test_cli_stale_versus_live_segment(capsys):
    case = _case("p10_two_cycles")
    rc, out, err = _run(capsys, case / "segment-0.bin", case / "segment-1.bin", "--json")
    assert rc == 1 and err == ""
    js = json.loads(out)
    assert js["equal"] is False
    assert [s["name"] for s in js["sessions"]["removed"]] == ["first"]
    assert [s["name"] for s in js["sessions"]["added"]] == ["second"]
    assert js["header"] == [{"op": "changed", "path": "total_size", "old": 263, "new": 430}]


def test_cli_live_segment_of_mv2_equals_its_carved_copy(capsys):
    case = _case("p16_doctor_vacuum")
    rc, out, _ = _run(capsys, case / "mem.mv2", case / "segment-2.bin")
    assert rc == 0 and "no differences" in out
    rc, out, _ = _run(capsys, case / "mem.mv2", case / "segment-0.bin")
    assert rc == 1


def test_cli_identical_copies_are_equal(capsys):
    case = _case("p11_save_load_roundtrip")
    rc, out, _ = _run(capsys, case / "segment-0.bin", case / "segment-2.bin", "--json")
    assert rc == 0 and json.loads(out)["equal"] is True


def test_cli_sidecar_moments_text(capsys):
    case = _case("p12_sidecar_moments")
    rc, out, _ = _run(capsys, case / "active-1.bin", case / "active-3.bin")
    assert rc == 1
    sid = "76636843-7f19-44cd-853e-a4b066942fa4"
    assert "~ actions_since_checkpoint: 1 -> 3" in out
    assert f"+ sessions[{sid}].actions[1]  Find " in out
    assert f"+ sessions[{sid}].actions[2]  Put " in out


def test_cli_edited_segment_names_the_field(tmp_path, capsys):
    a, b = _session(), _session(name="renamed")
    pa, pb = tmp_path / "a.bin", tmp_path / "b.bin"
    pa.write_bytes(build_segment([a]))
    pb.write_bytes(build_segment([b]))
    rc, out, _ = _run(capsys, pa, pb)
    assert rc == 1
    assert f'~ sessions[{a.session_id}].name: "s" -> "renamed"' in out


def test_cli_unreadable_or_damaged_input_is_exit_2(tmp_path, capsys):
    good = _case("p01_basic_put_find") / "segment-0.bin"
    bad = tmp_path / "bad.bin"
    bad.write_bytes(good.read_bytes()[:-5])
    rc, _, err = _run(capsys, good, bad)
    assert rc == 2 and "bad.bin" in err
    rc, _, err = _run(capsys, good, tmp_path / "missing.bin")
    assert rc == 2 and "missing.bin" in err
    with pytest.raises(SystemExit) as exc:
        main(["diff", str(good)])
    assert exc.value.code == 2
