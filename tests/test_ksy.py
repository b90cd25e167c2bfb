"""schemas/replay.ksy, compiled by the real Kaitai compiler (npm, JS build) to Python, reads
every real segment and sidecar to the same values as replayfmt, and rejects what replayfmt
rejects for the same reason."""

from __future__ import annotations

import importlib.util
import shutil
import struct
import subprocess
import sys
import uuid

import pytest
from _real import ROOT, active_files, ids, segment_files

from replayfmt import (
    ActiveSession,
    Ask,
    Checkpoint,
    CheckpointAction,
    Delete,
    Find,
    Put,
    PutMany,
    ReplayAction,
    ReplayConfig,
    ReplaySession,
    Segment,
    StateSnapshot,
    ToolCall,
    Update,
    parse_active_session,
    parse_segment,
)

KSY = ROOT / "schemas" / "replay.ksy"


@pytest.fixture(scope="module")
def ks(tmp_path_factory):
    """The `Replay` class generated from replay.ksy."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed to run the Kaitai compiler "
                    "(apt-get install -y nodejs npm)")
    try:
        import kaitaistruct  # noqa: F401
    except ImportError:
        pytest.fail("the kaitaistruct runtime is missing: pip install -e '.[test]'")
    inst = subprocess.run(["bash", str(ROOT / "scripts" / "install-kaitai.sh")],
                          capture_output=True, text=True)
    assert inst.returncode == 0, f"scripts/install-kaitai.sh failed:\n{inst.stderr}"
    out = tmp_path_factory.mktemp("ksc")
    comp = subprocess.run(["node", str(ROOT / "scripts" / "ksc.js"), "python", str(KSY),
                           str(out)], capture_output=True, text=True)
    assert comp.returncode == 0, f"the Kaitai compiler rejected replay.ksy:\n{comp.stderr}"
    spec = importlib.util.spec_from_file_location("replay_ksy", out / "replay.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["replay_ksy"] = mod
    spec.loader.exec_module(mod)
    return mod.Replay


# --- Kaitai objects -> replayfmt model ------------------------------------------------------

def _opt(o):
    return o.value if o.tag == 1 else None


def _str(s):
    assert s.len == len(s.value.encode("utf-8"))
    return s.value


def _variant(at):
    kind, f = at.variant.name, at.fields
    if kind == "put":
        return Put(f.frame_id)
    if kind == "put_many":
        assert f.num_frame_ids == len(f.frame_ids)
        return PutMany(list(f.frame_ids), f.count)
    if kind == "find":
        return Find(_str(f.query), _str(f.mode), f.result_count)
    if kind == "ask":
        return Ask(_str(f.query), _str(f.provider), _str(f.model))
    if kind == "checkpoint":
        return CheckpointAction(f.checkpoint_id)
    if kind == "update":
        return Update(f.frame_id)
    if kind == "delete":
        return Delete(f.frame_id)
    assert kind == "tool_call", kind
    return ToolCall(_str(f.name), f.args_hash)


def _snapshot(s):
    return StateSnapshot(s.frame_count, list(s.frame_ids), _opt(s.lex_index_hash),
                         _opt(s.vec_index_hash), s.wal_sequence, s.generation)


def _action(a):
    return ReplayAction(a.sequence, a.timestamp_secs, _variant(a.action_type), a.input_hash,
                        a.output_hash, _str(a.input_preview), _str(a.output_preview),
                        list(a.affected_frames), a.duration_ms)


def _session(s):
    name = None if s.name.tag == 0 else _str(s.name.value)
    return ReplaySession(
        session_id=uuid.UUID(bytes=s.session_id.value),
        name=name,
        created_secs=s.created_secs,
        ended_secs=_opt(s.ended_secs),
        checkpoints=[Checkpoint(c.id, c.at_sequence, c.timestamp_secs, c.state_hash,
                                _snapshot(c.snapshot)) for c in s.checkpoints],
        actions=[_action(a) for a in s.actions],
        metadata={_str(e.key): _str(e.value) for e in s.metadata},
        version=s.version,
    )


def _segment(r) -> Segment:
    assert r.magic == "MV2RPLY!"
    seg = r.body
    return Segment(seg.version, seg.session_count, seg.total_size,
                   [_session(b.session) for b in seg.sessions])


def _active(r) -> ActiveSession:
    assert r.magic == "MV2ACTIV"
    a = r.body.active_session
    cfg = a.config
    return ActiveSession(_session(a.session), a.next_checkpoint_id, a.actions_since_checkpoint,
                         ReplayConfig(cfg.auto_checkpoint_interval,
                                      _opt(cfg.max_actions_per_session), cfg.auto_record.value))


def _first_difference(a, b, path="") -> str:
    """Where two model values first differ, as a field path (for the failure message)."""
    if type(a) is not type(b) or not hasattr(a, "__attrs_attrs__"):
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                if x != y:
                    return _first_difference(x, y, f"{path}[{i}]")
        return f"{path or '<root>'}: {a!r} != {b!r}"
    for f in a.__attrs_attrs__:
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x != y:
            return _first_difference(x, y, f"{path}.{f.name}" if path else f.name)
    return "equal"


# --- tests ----------------------------------------------------------------------------------

def test_corpus_present():
    assert len(segment_files()) >= 20 and len(active_files()) >= 7


@pytest.mark.kaitai
@pytest.mark.parametrize("path", segment_files(), ids=ids(segment_files()))
def test_segment_reads_like_replayfmt(ks, path):
    data = path.read_bytes()
    r = ks.from_bytes(data)
    assert r._io.is_eof(), "replay.ksy left bytes unread"
    got, want = _segment(r), parse_segment(data)
    assert got == want, _first_difference(got, want)
    for block, _session in zip(r.body.sessions, want.sessions, strict=False):
        assert block.length == len(block._raw_session)


@pytest.mark.kaitai
@pytest.mark.parametrize("path", active_files(), ids=ids(active_files()))
def test_active_session_reads_like_replayfmt(ks, path):
    data = path.read_bytes()
    r = ks.from_bytes(data)
    assert r._io.is_eof(), "replay.ksy left bytes unread"
    got, want = _active(r), parse_active_session(data)
    assert got == want, _first_difference(got, want)


@pytest.mark.kaitai
def test_all_eight_action_variants(ks):
    """The four variants the CLI never writes, built by replayfmt, read back through the .ksy."""
    from replayfmt import build_segment
    variants = [Put(1), PutMany([3, 4, 5], 3), Find("q", "hybrid", 2), Ask("a", "p", "m"),
                CheckpointAction(9), Update(7), Delete(8), ToolCall("tool", bytes(range(32)))]
    session = ReplaySession(
        session_id=uuid.UUID(int=0x1234), name="all", created_secs=-5, ended_secs=10,
        checkpoints=[Checkpoint(0, 4, 3, b"\x11" * 32, StateSnapshot(
            2, [1, 2], b"\x22" * 32, None, 6, 7))],
        actions=[ReplayAction(i, i, v, affected_frames=[i] * i, duration_ms=i)
                 for i, v in enumerate(variants)],
        metadata={"k": "v", "ключ": "значение"}, version=1)
    data = build_segment([session, session])
    got, want = _segment(ks.from_bytes(data)), parse_segment(data)
    assert got == want, _first_difference(got, want)


@pytest.mark.kaitai
def test_rejects_what_replayfmt_rejects(ks):
    """Bad magic, an unknown ActionType index, a bad Option tag, a length past the end."""
    import kaitaistruct

    from replayfmt import ReplayFormatError, build_segment
    marker = 0x0DDBA11_C0FFEE
    session = ReplaySession(session_id=uuid.UUID(int=1), name="x", created_secs=1,
                            actions=[ReplayAction(0, 1, Put(marker))])
    good = build_segment([session])
    at = good.index(struct.pack("<Q", marker))
    cases = {
        "magic": (b"MV2XXXXX" + good[8:], kaitaistruct.ValidationNotAnyOfError),
        "variant": (good[:at - 4] + struct.pack("<I", 8) + good[at:],
                    kaitaistruct.ValidationNotInEnumError),
        "name tag": (good[:56] + b"\x02" + good[57:], kaitaistruct.ValidationGreaterThanError),
        "length": (good[:24] + struct.pack("<Q", 2**62) + good[32:], EOFError),
    }
    assert good[56] == 1  # the name's Option tag: 24 header + 8 length + 24 uuid
    for _what, (bad, error) in cases.items():
        with pytest.raises(ReplayFormatError):
            parse_segment(bad)
        with pytest.raises(error):
            ks.from_bytes(bad)


@pytest.mark.kaitai
def test_compiles_for_the_web_ide(tmp_path, ks):
    """The Web IDE compiles to JavaScript with this same compiler: that target must build too."""
    comp = subprocess.run(["node", str(ROOT / "scripts" / "ksc.js"), "javascript", str(KSY),
                           str(tmp_path)], capture_output=True, text=True)
    assert comp.returncode == 0, comp.stderr
    assert (tmp_path / "Replay.js").stat().st_size > 10_000
