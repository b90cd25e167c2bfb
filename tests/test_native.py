"""The compiled fast path (`_native`) against the generated Python and the Construct reference.

Every flavour the compiled path provides (model objects, summaries, memvid JSON text, encoders)
must give the same value as the generated Python, or the same error: kind, offset, path,
expected, actual and message. Checked on every fixture (real, golden, malformed, damaged),
on every truncation of golden and real sessions, on hypothesis-generated and mutated inputs,
and on the public API (codec, stream) with the switch in `accel` flipped.

The extension must be built (`pip install .` with a C compiler); this module fails without it,
except when REPLAYFMT_PURE=1 asks for the pure path on purpose (then there is nothing to
compare and the module is skipped). A built extension must also be the one in use: `accel`
never falls back silently to the pure path when the compiled module is present.
"""

from __future__ import annotations

import os
import random
from contextlib import contextmanager

import pytest
from conftest import FIXTURES, GOLDEN, REAL, all_binaries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replayfmt import _generated as G
from replayfmt import _generated_model as GM
from replayfmt import _generated_toc as GT
from replayfmt import _native as N  # fails loudly when the build is missing
from replayfmt import accel, codec, codegen_native, oracle, scan, strategies, stream
from replayfmt.errors import ReplayFormatError
from replayfmt.fuzz import byte_mutate, mutate

#: The switch is on for this run (.ci/run runs the suite both ways).
PURE = os.environ.get("REPLAYFMT_PURE", "") not in ("", "0")

#: (pure module, flavour) of every entry point the compiled path serves record by record.
FLAVOURS = [(GM, "parse"), (G, "summary")]
RECORDS = ["ReplaySession", "ActiveSession"]


def test_native_pyx_is_generated_from_the_schema():
    assert codegen_native.TARGET.read_text() == codegen_native.generate(), (
        "replayfmt/_native.pyx is stale: run python -m replayfmt.codegen_native")
    assert codegen_native.main(["--check"]) == 0


def test_the_built_extension_is_the_checked_in_source_and_is_used():
    assert accel.native_built(), "no compiled replayfmt._native in the package"
    assert f"SOURCE_DIGEST = {N.SOURCE_DIGEST!r}" in codegen_native.TARGET.read_text(), (
        "the compiled module is older than _native.pyx: rebuild it (pip install -e .)")
    if PURE:  # the switch forces the generated Python everywhere
        assert accel.native is None
        for name in accel.NATIVE_NAMES:
            assert getattr(accel.G, name) is getattr(G, name)
        for name in accel.NATIVE_MODEL_NAMES:
            assert getattr(accel.GM, name) is getattr(GM, name)
        for name in accel.NATIVE_TOC_NAMES:
            assert getattr(accel.GT, name) is getattr(GT, name)
        assert scan.DEPTHS["full"] is G.summary_ReplaySession
        return
    assert accel.native is N, "the compiled module is built but accel runs the pure path"
    for name in accel.NATIVE_NAMES:
        assert getattr(accel.G, name) is getattr(N, name)
        assert getattr(G, name) is not getattr(N, name)
    for name in accel.NATIVE_MODEL_NAMES:
        assert getattr(accel.GM, name) is getattr(N, name)
        assert getattr(GM, name) is not getattr(N, name)
    for name in accel.NATIVE_TOC_NAMES:
        assert getattr(accel.GT, name) is getattr(N, name)
        assert getattr(GT, name) is not getattr(N, name)
    assert scan.DEPTHS["full"] is N.summary_ReplaySession
    assert stream.DEPTHS is scan.DEPTHS and stream.native is N
    # the other names are the generated Python's own
    assert accel.G.json_ReplaySession is G.json_ReplaySession
    assert accel.GM.parse_SegmentHeader is GM.parse_SegmentHeader


def test_a_present_but_broken_extension_is_an_error_not_a_fallback(monkeypatch):
    """An ImportError from inside the compiled module (a name it needs that is gone) is
    raised; only a module that is not there at all means the pure path."""
    import sys

    import replayfmt

    monkeypatch.delitem(sys.modules, "replayfmt._native")
    monkeypatch.delattr(replayfmt, "_native")

    class Broken:
        def find_spec(self, name, path=None, target=None):
            if name == "replayfmt._native":
                raise ImportError("cannot import name '_gone' from 'replayfmt.errors'")
            return None

    monkeypatch.setattr(sys, "meta_path", [Broken(), *sys.meta_path])
    with pytest.raises(ImportError, match="_gone"):
        accel._load_native()

    class Absent:
        def find_spec(self, name, path=None, target=None):
            if name == "replayfmt._native":
                raise ModuleNotFoundError("No module named 'replayfmt._native'",
                                          name="replayfmt._native")
            return None

    monkeypatch.setattr(sys, "meta_path", [Absent(), *sys.meta_path[1:]])
    assert accel._load_native() is None


def err_tuple(err: ReplayFormatError):
    return ("error", err.kind, err.offset, err.path, err.expected, err.actual, err.reason,
            str(err))


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except ReplayFormatError as err:
        return err_tuple(err)


def same_record(b, p, e, records=RECORDS):
    """Every compiled flavour of every record agrees with the generated Python on b[p:e]."""
    for record in records:
        for pure, fl in FLAVOURS:
            name = f"{fl}_{record}"
            a, c = outcome(getattr(pure, name), b, p, e), outcome(getattr(N, name), b, p, e)
            assert a == c, f"{name} on {e - p} bytes: pure {a[:4]!r} != compiled {c[:4]!r}"


def pure_memvid_json(b, start, stop, path="", depth=0):
    saved = stream.native
    stream.native = None
    try:
        return stream.session_memvid_json(b, start, stop, path, depth)
    finally:
        stream.native = saved


def same_json(b, start, stop, path="", depth=0):
    a = outcome(lambda: b"".join(pure_memvid_json(b, start, stop, path, depth)))
    c = outcome(lambda: b"".join(N.session_memvid_json(b, start, stop, path, depth)))
    assert a == c, f"memvid JSON on {stop - start} bytes: pure {a[:4]!r} != compiled {c[:4]!r}"
    return a


@contextmanager
def pure_path():
    """The public API with the compiled functions switched off (what REPLAYFMT_PURE=1 does)."""
    switched = [(accel.G, G, name) for name in accel.NATIVE_NAMES]
    switched += [(accel.GM, GM, name) for name in accel.NATIVE_MODEL_NAMES]
    saved = [(codec_, name, getattr(codec_, name)) for codec_, _, name in switched]
    full, native = scan.DEPTHS["full"], stream.native
    for codec_, pure, name in switched:
        setattr(codec_, name, getattr(pure, name))
    scan.DEPTHS["full"], stream.native = G.summary_ReplaySession, None
    try:
        yield
    finally:
        for codec_, name, fn in saved:
            setattr(codec_, name, fn)
        scan.DEPTHS["full"], stream.native = full, native


def public(data: bytes):
    """What the library says about `data` through every entry point the compiled path serves."""
    out = []
    out.append(outcome(codec.parse_segment, data))
    out.append(outcome(codec.parse_active_session, data))
    out.append(outcome(codec.parse_session, data))
    out.append(outcome(stream.scan_segment, data))
    out.append(outcome(stream.summarize_active, data))
    try:
        blocks = list(codec.segment_blocks(data))
    except ReplayFormatError:
        blocks = []
    for i, start, stop in blocks:
        out.append(outcome(lambda i=i, start=start, stop=stop: b"".join(
            stream.session_memvid_json(data, start, stop, f"sessions[{i}]"))))
    return out


def same_public(data: bytes):
    compiled = public(data)
    with pure_path():
        pure = public(data)
    assert compiled == pure
    return compiled


# --- fixtures ------------------------------------------------------------------------------

def every_fixture():
    files = sorted(p for p in FIXTURES.rglob("*") if p.is_file()
                   and p.suffix in (".bin", ".session", ".mv2"))
    assert len(files) > 100
    return files


def test_every_fixture_same_on_both_paths():
    for path in every_fixture():
        data = path.read_bytes()
        same_public(data)
        for p in range(0, min(len(data), 64)):  # record decoders started anywhere near the top
            same_record(data, p, len(data))


def test_fixtures_agree_with_the_construct_reference():
    for path in every_fixture():
        data = path.read_bytes()
        head = data[:8]
        pairs = []
        if head == G.SEGMENT_MAGIC:
            pairs.append((codec.parse_segment, oracle.parse_segment))
        elif head == G.ACTIVE_MAGIC:
            pairs.append((codec.parse_active_session, oracle.parse_active_session))
        for fast, ref in pairs:
            a = outcome(fast, data)
            r = outcome(ref, data)
            assert a[:4] == r[:4], f"{path.name}: compiled {a[:4]!r} != reference {r[:4]!r}"


def session_ranges():
    """(bytes, start, stop) of every session in the golden and real segments and envelopes."""
    out = []
    for path in all_binaries():
        data = path.read_bytes()
        if data[:8] == G.ACTIVE_MAGIC:
            out.append((data, 16, len(data)))
        elif data[:8] == G.SEGMENT_MAGIC:
            out += [(data, s, e) for _, s, e in codec.segment_blocks(data)]
    return out


def test_memvid_json_is_byte_identical_on_every_fixture_session():
    ranges = session_ranges()
    assert len(ranges) > 30
    for data, start, stop in ranges:
        if data[:8] == G.ACTIVE_MAGIC:
            same_record(data, start, stop, ["ActiveSession"])
            continue
        assert same_json(data, start, stop)[0] == "ok"
        same_json(data, start, stop, "sessions[3]", depth=2)


def test_every_truncation_of_every_golden_session():
    """Every cut of every session up to 8 KiB; every 7th cut of the larger ones (their
    1.5 KiB previews make most cuts alike)."""
    for path in sorted(GOLDEN.glob("*.bin")) + sorted(REAL.glob("*/active-*.bin"))[:2]:
        data = path.read_bytes()
        step = 1 if len(data) <= 8192 else 7
        if data[:8] == G.ACTIVE_MAGIC:
            blocks = [(16, len(data))]
        else:
            blocks = [(s, e) for _, s, e in codec.segment_blocks(data)]
        for start, stop in blocks:
            for cut in [*range(start, stop + 1, step), stop]:
                same_record(data, start, cut)
                if data[:8] == G.SEGMENT_MAGIC:
                    same_json(data, start, cut, "sessions[0]")
        for cut in range(0, len(data) + 1, 1 if len(data) < 4096 else 61):
            same_public(data[:cut])


def test_record_by_record_parsers_on_every_record_and_its_truncations():
    """parse_ReplayAction / parse_Checkpoint (what salvage and validate call per record) at
    every record of every fixture session, and at every cut of the first ones."""
    from replayfmt.forensics import salvage_session_block

    checked = 0
    for data, start, stop in session_ranges():
        if data[:8] == G.ACTIVE_MAGIC:
            continue
        got = salvage_session_block(data, start, stop)
        for name, spans in (("parse_ReplayAction", got.action_spans),
                            ("parse_Checkpoint", got.checkpoint_spans)):
            for k, (p, q) in enumerate(spans):
                cuts = range(p, q + 1) if k < 2 else (q, q - 1, stop)
                for e in cuts:
                    a = outcome(getattr(GM, name), data, p, e)
                    c = outcome(getattr(N, name), data, p, e)
                    assert a == c, f"{name} at {p}..{e}: pure {a[:4]!r} != compiled {c[:4]!r}"
                    checked += 1
    assert checked > 1000


def test_every_truncation_of_a_real_session():
    data = sorted(REAL.glob("*/segment-*.bin"), key=lambda p: -p.stat().st_size)[0].read_bytes()
    for _, start, stop in codec.segment_blocks(data):
        for cut in range(start, stop + 1, 3):
            same_record(data, start, cut, ["ReplaySession"])
            same_json(data, start, cut)


# --- generated and mutated inputs --------------------------------------------------------------

FAST = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(st.one_of(strategies.segment_bytes(), strategies.active_session_bytes(),
                 strategies.segment_bytes(realistic=True)))
def test_generated_inputs(data):
    assert same_public(data)[0][0] == "ok" or data[:8] == G.ACTIVE_MAGIC


@FAST
@given(st.one_of(strategies.malformed_segment_bytes(),
                 strategies.malformed_active_session_bytes()))
def test_malformed_inputs(malformed):
    same_public(malformed[0])


@FAST
@given(st.binary(max_size=64))
def test_utf8_check_is_the_decoders(raw):
    assert N.utf8_ok(raw) == _decodes(raw)


def _decodes(raw):
    """Whether bytes.decode() accepts `raw` (what the compiled UTF-8 check must say)."""
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def test_utf8_check_on_every_boundary_sequence():
    leads = [0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
             0xF5, 0xFF]
    conts = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0]
    for a in leads:
        for b in conts:
            for c in conts:
                for d in [0x80, 0xBF, 0x41]:
                    for raw in (bytes([a]), bytes([a, b]), bytes([a, b, c]),
                                bytes([a, b, c, d])):
                        assert N.utf8_ok(raw) == _decodes(raw), raw


def test_utf8_check_where_the_eight_byte_steps_fall():
    """The check skips ASCII eight bytes at a time: every boundary sequence at every offset of
    a word, among ASCII before and after."""
    seqs = [bytes([a, b, c]) for a in (0x80, 0xC1, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF)
            for b in (0x41, 0x80, 0x9F, 0xA0, 0xBF, 0xC0) for c in (0x41, 0x80, 0xBF)]
    seqs += ["é".encode(), "日".encode(), "😀".encode(), "😀".encode()[:3]]
    for seq in seqs:
        for before in range(17):
            for after in (0, 1, 7, 8, 9):
                raw = b"a" * before + seq + b"z" * after
                assert N.utf8_ok(raw) == _decodes(raw), raw


def test_control_check_is_validates_at_every_offset():
    """The vet's RF303 screen (eight bytes at a time while nothing can match) against
    validate's regular expression: every code point up to U+00A0 and a few beyond, at every
    offset of a word, among ASCII and among non-ASCII text."""
    control = validate_module()._CONTROL
    chars = [chr(c) for c in range(0xA1)] + ["é", "\u2028", "\u202e", "日", "😀", "\x7e"]
    for ch in chars:
        for pad in ("a", "é"):
            for before in range(17):
                for after in (0, 1, 8, 9):
                    text = pad * before + ch + "z" * after
                    assert N.controls(text.encode()) == bool(control.search(text)), text


@FAST
@given(st.text(max_size=80))
def test_control_check_on_any_text(text):
    assert N.controls(text.encode("utf-8", "surrogatepass")) == bool(
        validate_module()._CONTROL.search(text))


def validate_module():
    import importlib

    return importlib.import_module("replayfmt.validate")


def test_mutated_fixtures():
    rng = random.Random(10)
    seeds = [p.read_bytes() for p in all_binaries()]
    for _ in range(400):
        data = rng.choice(seeds)
        for _ in range(rng.randrange(1, 4)):
            data = mutate(data, rng) if rng.random() < 0.5 else byte_mutate(data, rng)
        same_public(data)
        start = 16 if data[:8] == G.ACTIVE_MAGIC else 32
        same_record(data, min(start, len(data)), len(data))


def test_memvid_json_escapes_like_orjson():
    from replayfmt import model as M

    text = "".join(chr(c) for c in range(0x80)) + "\u2028é日本\U0001f600\ufffd\"\\/"
    action = M.ReplayAction(0, -5, M.Find(text, "", 2**64 - 1), input_preview=text,
                            output_preview=text[::-1], affected_frames=[0, 2**64 - 1])
    session = M.ReplaySession(__import__("uuid").UUID(int=7), name=text, created_secs=-(2**63),
                              ended_secs=2**63 - 1, actions=[action],
                              metadata={text: text, "": ""}, version=2**32 - 1)
    data = codec.build_segment([session])
    (_, start, stop), = codec.segment_blocks(data)
    assert same_json(data, start, stop)[0] == "ok"


def test_compiled_parsers_accept_mmap_and_memoryview(tmp_path):
    import mmap

    path = sorted(GOLDEN.glob("segment_*.bin"))[-1]
    data = path.read_bytes()
    (_, start, stop), *_ = codec.segment_blocks(data)
    want = GM.parse_ReplaySession(data, start, stop)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        assert N.parse_ReplaySession(mm, start, stop) == want
    assert N.parse_ReplaySession(memoryview(data), start, stop) == want
    with pytest.raises(ValueError):
        N.parse_ReplaySession(data, start, len(data) + 1)


# --- encoding --------------------------------------------------------------------------------

def build_outcome(mod, name, value):
    out = bytearray()
    try:
        getattr(mod, name)(value, out)
        return ("ok", bytes(out))
    except Exception as exc:  # the pure encoder's own errors (struct.error, TypeError...)
        return ("error", type(exc), str(exc), bytes(out))


def same_build(name, value):
    a, c = build_outcome(G, name, value), build_outcome(N, name, value)
    assert a == c, f"{name}: pure {a!r:.300} != compiled {c!r:.300}"
    return a


def test_build_every_fixture_byte_identical():
    for data, start, stop in session_ranges():
        if data[:8] == G.ACTIVE_MAGIC:
            value, _ = GM.parse_ActiveSession(data, start, stop)
            assert same_build("build_ActiveSession", value) == ("ok", data[start:stop])
        else:
            value, _ = GM.parse_ReplaySession(data, start, stop)
            assert same_build("build_ReplaySession", value) == ("ok", data[start:stop])


@FAST
@given(strategies.sessions(), strategies.active_sessions())
def test_build_generated_values(session, active):
    same_build("build_ReplaySession", session)
    same_build("build_ActiveSession", active)


def _force(obj, name, value):
    """Set a slot without the model's validators (what a careless caller can end up with)."""
    type(obj).__dict__[name].__set__(obj, value)


BAD_VALUES = [-1, 2**64, 2**63, -(2**63) - 1, 2**32, True, 1.5, "x", None, b"\0" * 31,
              bytearray(32), "\ud800", (1, 2), [1, -1], [1, "x"], {"a": 1}, [("a", "b")],
              {"\ud800": "x"}]


def test_build_odd_values_same_as_pure():
    import copy

    from replayfmt import model as M

    data = (GOLDEN / "segment_all_variants.bin").read_bytes()
    (_, start, stop), *_ = codec.segment_blocks(data)
    base, _ = GM.parse_ReplaySession(data, start, stop)
    targets = [(lambda s: s, M.ReplaySession), (lambda s: s.actions[0], M.ReplayAction),
               (lambda s: s.checkpoints[0], M.Checkpoint),
               (lambda s: s.checkpoints[0].snapshot, M.StateSnapshot)]
    targets += [(lambda s, i=i: s.actions[i].action_type, type(a.action_type))
                for i, a in enumerate(base.actions)]
    checked = 0
    for get, cls in targets:
        for field in attrs_fields(cls):
            for bad in BAD_VALUES:
                s = copy.deepcopy(base)
                _force(get(s), field, bad)
                same_build("build_ReplaySession", s)
                checked += 1
            s = copy.deepcopy(base)
            type(get(s)).__dict__[field].__delete__(get(s))  # an unset slot
            same_build("build_ReplaySession", s)
    s = copy.deepcopy(base)
    s.actions.append("not an action")
    same_build("build_ReplaySession", s)
    same_build("build_ReplaySession", "not a session")
    assert checked > 500


def attrs_fields(cls):
    import attrs

    return [f.name for f in attrs.fields(cls)]


def test_differential_fuzz_harness_runs(tmp_path):
    """fuzz/fuzz_native_diff.py (compiled vs pure on every input) starts, loads the corpus and
    fuzzes without a finding."""
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    work = tmp_path / "segment"
    shutil.copytree(ROOT / "fuzz" / "corpus" / "segment", work)
    proc = subprocess.run([sys.executable, "fuzz_native_diff.py", "-runs=300", "-seed=1",
                           "-reload=0", "-dict=replayfmt.dict", str(work)], cwd=ROOT / "fuzz",
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done 300 runs" in proc.stderr


# --- the .mv2 TOC ----------------------------------------------------------------------------

def _toc_outcome(fn, raw: bytes, e: int):
    """(value with NaNs by their bytes, next offset, field starts) or the whole error."""
    try:
        value, p, starts = fn(raw, 0, e)
    except ReplayFormatError as err:
        return ("error", err.kind, err.offset, err.path, err.reason, err.expected, err.actual,
                str(err))
    return (_nan_bytes(value), p, starts)


def _nan_bytes(value):
    if isinstance(value, dict):
        return {k: _nan_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_bytes(v) for v in value]
    if isinstance(value, GT.NaN):
        return ("NaN", value.raw)
    return value


def _same_toc(raw: bytes, e: int | None = None):
    e = len(raw) if e is None else e
    out = []
    for name in accel.NATIVE_TOC_NAMES:
        got = _toc_outcome(getattr(N, name), raw, e)
        assert got == _toc_outcome(getattr(GT, name), raw, e), name
        out.append(got[0] == "error")
    return out


def _tocs() -> list[bytes]:
    import gzip

    from replayfmt import mv2

    out = []
    for path in sorted(FIXTURES.rglob("*.mv2")) + sorted(FIXTURES.rglob("mem.mv2.gz")):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        try:
            lay = mv2.read_layout(data)
        except ValueError:
            continue
        out.append(data[lay.footer_offset:lay.footer_pos])
    assert len(out) > 30
    return out


TOCS = _tocs()


def test_toc_decoders_same_on_both_paths_on_every_fixture():
    for raw in TOCS:
        _same_toc(raw)


def test_toc_decoders_same_on_truncations_and_mutations():
    rng = random.Random(9)
    for raw in TOCS[::3]:
        for cut in sorted(rng.sample(range(len(raw)), min(len(raw), 60))):
            assert all(_same_toc(raw, cut)) or cut == len(raw)
        for _ in range(60):
            b = bytearray(raw)
            for _ in range(rng.choice((1, 2, 4))):
                i = rng.randrange(len(b))
                b[i] = rng.choice((0, 1, 2, 0xFF, 0x80, b[i] ^ 1 << rng.randrange(8)))
            _same_toc(bytes(b))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(value=strategies.toc_values("current"), layout=st.sampled_from(
    ["current", "pre_ticket_signature", "pre_sketch", "legacy_v2", "legacy_v1"]))
def test_toc_decoders_same_on_generated_tocs(value, layout):
    from replayfmt import toc

    _same_toc(toc.build_toc(value, layout))  # a layout's fields are a subset of current's
