"""Fuzzing toolkit: field maps, structure-aware corruption with known outcome, and `mutate`.

- `field_map(data)` walks a *valid* segment or envelope and lists every field in decode order
  with its offset, size, kind and path (the map every corruption below is aimed with).
- `malform(data, rng)` applies one structural corruption to valid bytes and returns
  `Malformed(data, kind, offset, how)`: the ErrorKind and offset a strict parser must report.
  The expectation is computed from the field map and the format's rules, not by running the
  parser, so it tests the parser.
- `mutate(data, rng)` is the structure-aware mutator for fuzzers: parse, change one field of the
  model (boundary values, swapped variants, grown/shrunk strings and vectors), rebuild with
  consistent lengths; or, chosen at random, `malform` on purpose. Inputs that do not parse get
  byte-level mutations aimed at the format (magics, boundary u64s, tags).

Running other programs on these inputs (differential / crash fuzzing) lives in `fuzz_target`.
"""

from __future__ import annotations

import random
import struct
import uuid
from typing import NamedTuple

import attrs

from . import model as M
from . import schema
from .codec import build_active_session, build_segment, parse_active_session, parse_segment
from .errors import ErrorKind as K
from .errors import ReplayFormatError

__all__ = [
    "Field", "Malformed", "field_map", "malform", "mutate", "byte_mutate", "detect",
    "INTERESTING_U64", "INTERESTING_U32", "MALFORMATIONS", "MAGICS",
]

SEGMENT_MAGIC = schema.SEGMENT_MAGIC
ACTIVE_MAGIC = schema.ACTIVE_MAGIC
MAGICS = (SEGMENT_MAGIC, ACTIVE_MAGIC, b"MV2\x00", b"MV2FOOT!", b"MVSK")
INTERESTING_U64 = (0, 1, 7, 8, 15, 16, 17, 24, 90, 124, 250, 251, 255, 256, 2**16 - 1, 2**16,
                   2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**62, 2**63 - 1, 2**63, 2**64 - 1)
INTERESTING_U32 = (0, 1, 7, 8, 9, 255, 256, 2**16, 2**31 - 1, 2**31, 2**32 - 1)
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")

# Fewest bytes one element takes (what the decoder checks a count against).
_MIN = {"u64": 8, "checkpoints": 90, "actions": 124, "metadata": 16}


class Field(NamedTuple):
    """One decoded field: where it is and what it is.

    kind: magic, u32, u64, i64, hash, uuid_len, uuid, tag (Option), bool, variant, len
    (string length), str (string bytes), count (vector or map count), block_len (session or
    envelope length prefix), and the header's version / session_count / total_size.
    need: for len/count, the end offset the declared value requires (start of data + n *
    smallest element); the decoder rejects the value when its block ends before that.
    """

    offset: int
    size: int
    kind: str
    path: str
    need: int = 0


class Malformed(NamedTuple):
    data: bytes
    kind: str  # the ErrorKind a strict parser must raise
    offset: int  # the offset it must report
    how: str  # what was done, for humans


# --- field map -------------------------------------------------------------------------------

class _Walker:
    """Recursive descent over valid bytes, recording fields in decode order."""

    def __init__(self, b: bytes):
        self.b = b
        self.p = 0
        self.out: list[Field] = []

    def f(self, size, kind, path, need=0):
        self.out.append(Field(self.p, size, kind, path, need))
        self.p += size

    def u64(self):
        return _U64.unpack_from(self.b, self.p)[0]

    def string(self, path):
        n = self.u64()
        self.f(8, "len", path, self.p + 8 + n)
        self.f(n, "str", path)

    def u64_vec(self, path):
        n = self.u64()
        self.f(8, "count", path, self.p + 8 + 8 * n)
        for i in range(n):
            self.f(8, "u64", f"{path}[{i}]")

    def option(self, path, body):
        tag = self.b[self.p]
        self.f(1, "tag", path)
        if tag == 1:
            body(path)

    def snapshot(self, path):
        self.f(8, "u64", path + ".frame_count")
        self.u64_vec(path + ".frame_ids")
        self.option(path + ".lex_index_hash", lambda q: self.f(32, "hash", q))
        self.option(path + ".vec_index_hash", lambda q: self.f(32, "hash", q))
        self.f(8, "u64", path + ".wal_sequence")
        self.f(8, "u64", path + ".generation")

    def checkpoint(self, path):
        self.f(8, "u64", path + ".id")
        self.f(8, "u64", path + ".at_sequence")
        self.f(8, "i64", path + ".timestamp_secs")
        self.f(32, "hash", path + ".state_hash")
        self.snapshot(path + ".snapshot")

    def action(self, path):
        self.f(8, "u64", path + ".sequence")
        self.f(8, "i64", path + ".timestamp_secs")
        v = _U32.unpack_from(self.b, self.p)[0]
        self.f(4, "variant", path + ".action_type")
        at = f"{path}.action_type.{M.VARIANTS[v].VARIANT}"
        if v in (0, 4, 5, 6):
            self.f(8, "u64", at + "." + attrs.fields(M.VARIANTS[v])[0].name)
        elif v == 1:
            self.u64_vec(at + ".frame_ids")
            self.f(8, "u64", at + ".count")
        elif v == 2:
            self.string(at + ".query")
            self.string(at + ".mode")
            self.f(8, "u64", at + ".result_count")
        elif v == 3:
            for name in ("query", "provider", "model"):
                self.string(f"{at}.{name}")
        else:
            self.string(at + ".name")
            self.f(32, "hash", at + ".args_hash")
        self.f(32, "hash", path + ".input_hash")
        self.f(32, "hash", path + ".output_hash")
        self.string(path + ".input_preview")
        self.string(path + ".output_preview")
        self.u64_vec(path + ".affected_frames")
        self.f(8, "u64", path + ".duration_ms")

    def vec(self, path, what, body):
        n = self.u64()
        self.f(8, "count", path, self.p + 8 + _MIN[what] * n)
        for i in range(n):
            body(f"{path}[{i}]")

    def session(self, path):
        pre = path + "." if path else ""
        self.f(8, "uuid_len", pre + "session_id")
        self.f(16, "uuid", pre + "session_id")
        self.option(pre + "name", self.string)
        self.f(8, "i64", pre + "created_secs")
        self.option(pre + "ended_secs", lambda q: self.f(8, "i64", q))
        self.vec(pre + "checkpoints", "checkpoints", self.checkpoint)
        self.vec(pre + "actions", "actions", self.action)
        n = self.u64()
        self.f(8, "count", pre + "metadata", self.p + 8 + 16 * n)
        for i in range(n):
            self.string(f"{pre}metadata[{i}].key")
            self.string(f"{pre}metadata[{i}].value")
        self.f(4, "u32", pre + "version")

    def active(self):
        self.session("session")
        self.f(8, "u64", "next_checkpoint_id")
        self.f(8, "u64", "actions_since_checkpoint")
        self.f(8, "u64", "config.auto_checkpoint_interval")
        self.option("config.max_actions_per_session", lambda q: self.f(8, "u64", q))
        self.f(1, "bool", "config.auto_record")


def detect(data) -> str | None:
    """'segment' or 'active' from the leading magic, else None."""
    head = bytes(data[:8])
    return {SEGMENT_MAGIC: "segment", ACTIVE_MAGIC: "active"}.get(head)


def field_map(data) -> list[Field]:
    """Every field of a valid segment or envelope, in decode order (offsets absolute).

    The input must parse (call parse_segment / parse_active_session first); the walk trusts it.
    """
    b = bytes(data)
    w = _Walker(b)
    if detect(b) == "segment":
        w.f(8, "magic", "magic")
        w.f(4, "version", "version")
        count = _U32.unpack_from(b, w.p)[0]
        w.f(4, "session_count", "session_count")
        w.f(8, "total_size", "total_size")
        for i in range(count):
            w.f(8, "block_len", f"sessions[{i}]", w.p + 8 + w.u64())
            w.session(f"sessions[{i}]")
    elif detect(b) == "active":
        w.f(8, "magic", "magic")
        w.f(8, "block_len", "length", 16 + w.u64())
        w.active()
    else:
        raise ValueError("not a segment or active-session envelope")
    return w.out


# --- corruption with a known outcome ---------------------------------------------------------

def _blocks(fields: list[Field]) -> list[Field]:
    return [f for f in fields if f.kind == "block_len"]


def _block_of(fields: list[Field], off: int) -> Field:
    """The block_len field whose block holds offset `off`."""
    for blk in _blocks(fields):
        if blk.offset + 8 <= off < blk.need:
            return blk
    raise LookupError(off)


def _put_u64(b: bytearray, off: int, value: int) -> None:
    b[off:off + 8] = _U64.pack(value)


def _resize_block(b: bytearray, fields: list[Field], blk: Field, delta: int) -> None:
    """Fix the length prefix of `blk` (and total_size) after its block changed by delta bytes."""
    _put_u64(b, blk.offset, _U64.unpack_from(b, blk.offset)[0] + delta)
    if detect(b) == "segment":
        _put_u64(b, 16, _U64.unpack_from(b, 16)[0] + delta)


def _first_failing(fields: list[Field], blk: Field, cut: int) -> tuple[str, int]:
    """What the decoder reports when the block of `blk` is cut to end at `cut`."""
    for f in fields:
        if f.offset < blk.offset + 8 or f.offset >= blk.need:
            continue
        if f.kind in ("len", "count"):
            if f.offset + 8 > cut:
                return K.TRUNCATED, f.offset
            if f.need > cut:
                return K.LENGTH_OVERFLOW, f.offset
        elif f.kind == "str":
            continue  # covered by its len
        elif f.offset + f.size > cut:
            return K.TRUNCATED, f.offset
    raise AssertionError("cut leaves the block whole")


def _truncate_inside(b, fields, rng):
    inner = [f for f in fields if f.kind not in ("magic", "version", "session_count",
                                                 "total_size", "block_len") and f.size > 0]
    f = rng.choice(inner)
    cut = f.offset + rng.randrange(f.size)
    blk = _block_of(fields, f.offset)
    kind, off = _first_failing(fields, blk, cut)
    out = bytearray(b[:cut] + b[blk.need:])
    _resize_block(out, fields, blk, cut - blk.need)
    return Malformed(bytes(out), kind, off, f"block cut at {cut}, inside {f.path} ({f.kind})")


def _truncate_raw(b, fields, rng):
    """Cut the file itself (lengths not fixed up): the outermost check that fails wins."""
    cut = rng.randrange(len(b))
    if detect(b) == "active":
        if cut < 8:
            return Malformed(b[:cut], K.TRUNCATED, 0, f"file cut at {cut}")
        if cut < 16:
            return Malformed(b[:cut], K.TRUNCATED, 8, f"file cut at {cut}")
        return Malformed(b[:cut], K.LENGTH_OVERFLOW, 8, f"file cut at {cut}")
    for f in fields[:4]:
        if cut < f.offset + f.size:
            return Malformed(b[:cut], K.TRUNCATED, f.offset, f"file cut at {cut} in {f.path}")
    for blk in _blocks(fields):
        if cut == blk.offset:
            return Malformed(b[:cut], K.COUNT_MISMATCH, 12, f"file cut before {blk.path}")
        if cut < blk.offset + 8:
            return Malformed(b[:cut], K.TRUNCATED, blk.offset, f"file cut in {blk.path} length")
        if cut < blk.need:
            return Malformed(b[:cut], K.LENGTH_OVERFLOW, blk.offset, f"file cut in {blk.path}")
    raise AssertionError("unreachable")


def _length_bomb(b, fields, rng):
    f = rng.choice([f for f in fields if f.kind in ("len", "count", "block_len", "uuid_len")])
    value = rng.choice((2**62, 2**64 - 1, 2**63, 2**32, 2**40))
    out = bytearray(b)
    _put_u64(out, f.offset, value)
    kind = K.BAD_UUID_LENGTH if f.kind == "uuid_len" else K.LENGTH_OVERFLOW
    return Malformed(bytes(out), kind, f.offset, f"{f.path} length set to {value}")


def _bad_tag(b, fields, rng):
    f = rng.choice([f for f in fields if f.kind in ("tag", "bool")])
    out = bytearray(b)
    out[f.offset] = rng.choice((2, 3, 0x7F, 0x80, 0xFF, rng.randrange(2, 256)))
    kind = K.INVALID_TAG if f.kind == "tag" else K.INVALID_BOOL
    return Malformed(bytes(out), kind, f.offset, f"{f.path} tag set to {out[f.offset]}")


def _unknown_variant(b, fields, rng):
    f = rng.choice([f for f in fields if f.kind == "variant"])
    value = rng.choice((8, 9, 255, 2**31, 2**32 - 1, rng.randrange(8, 2**32)))
    out = bytearray(b)
    out[f.offset:f.offset + 4] = _U32.pack(value)
    return Malformed(bytes(out), K.UNKNOWN_VARIANT, f.offset, f"{f.path} variant {value}")


def _bad_utf8(b, fields, rng):
    f = rng.choice([f for f in fields if f.kind == "str" and f.size > 0])
    starts = [i for i in range(f.size) if not 0x80 <= b[f.offset + i] < 0xC0]
    k = rng.choice(starts)
    out = bytearray(b)
    out[f.offset + k] = rng.choice((0xFF, 0xFE, 0x80, 0xBF, 0xC0, 0xF8))
    return Malformed(bytes(out), K.INVALID_UTF8, f.offset + k, f"{f.path} byte {k} invalid")


def _count_mismatch(b, fields, rng):
    out = bytearray(b)
    n = _U32.unpack_from(b, 12)[0]
    if n and rng.random() < 0.5:
        # Fewer sessions declared than present, and total_size still covers them all.
        out[12:16] = _U32.pack(rng.randrange(n))
        return Malformed(bytes(out), K.COUNT_MISMATCH, 12, "session_count lowered")
    out[12:16] = _U32.pack(rng.randrange(n + 1, n + 3) if rng.random() < 0.5 else 2**32 - 1)
    return Malformed(bytes(out), K.COUNT_MISMATCH, 12, "session_count raised")


def _size_mismatch(b, fields, rng):
    out = bytearray(b)
    total = _U64.unpack_from(b, 16)[0]
    value = rng.choice([v for v in (0, 24, total - 1, total + 1, 2**62, 2**64 - 1)
                        if 0 <= v < 2**64 and v != total])
    _put_u64(out, 16, value)
    return Malformed(bytes(out), K.SIZE_MISMATCH, 16, f"total_size {value}")


def _trailing(b, fields, rng):
    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12)))
    blocks = _blocks(fields)
    if rng.random() < 0.5 and blocks:
        blk = rng.choice(blocks)
        out = bytearray(b[:blk.need] + junk + b[blk.need:])
        _resize_block(out, fields, blk, len(junk))
        return Malformed(bytes(out), K.TRAILING_BYTES, blk.need, f"{len(junk)} bytes in {blk.path}")
    return Malformed(b + junk, K.TRAILING_BYTES, len(b), f"{len(junk)} bytes appended")


def _bad_header(b, fields, rng):
    out = bytearray(b)
    if rng.random() < 0.5:
        out[rng.randrange(8)] ^= 1 << rng.randrange(8)
        return Malformed(bytes(out), K.BAD_MAGIC, 0, "magic bit flipped")
    if detect(b) == "active":
        return _length_bomb(b, fields, rng)
    out[8:12] = _U32.pack(rng.choice((0, 2, 2**32 - 1)))
    return Malformed(bytes(out), K.UNSUPPORTED_VERSION, 8, "version changed")


MALFORMATIONS = {
    "truncate_inside": _truncate_inside,
    "truncate_raw": _truncate_raw,
    "length_bomb": _length_bomb,
    "bad_tag": _bad_tag,
    "unknown_variant": _unknown_variant,
    "bad_utf8": _bad_utf8,
    "count_mismatch": _count_mismatch,
    "size_mismatch": _size_mismatch,
    "trailing_bytes": _trailing,
    "bad_header": _bad_header,
}


def applicable(data, fields: list[Field] | None = None) -> list[str]:
    """Names of the MALFORMATIONS that apply to this valid input."""
    fields = field_map(data) if fields is None else fields
    kinds = {f.kind for f in fields}
    nonempty_str = any(f.kind == "str" and f.size for f in fields)
    seg = detect(data) == "segment"
    names = ["truncate_raw", "trailing_bytes", "bad_header"]
    if "block_len" in kinds:
        names += ["truncate_inside", "length_bomb"]
    if kinds & {"tag", "bool"}:
        names.append("bad_tag")
    if "variant" in kinds:
        names.append("unknown_variant")
    if nonempty_str:
        names.append("bad_utf8")
    if seg:
        names += ["count_mismatch", "size_mismatch"]
    return names


def malform(data, rng: random.Random, how: str | None = None) -> Malformed:
    """One structural corruption of a valid segment or envelope, with the error it must cause."""
    b = bytes(data)
    fields = field_map(b)
    names = applicable(b, fields)
    name = how if how is not None else rng.choice(names)
    if name not in names:
        raise ValueError(f"{name} does not apply to this input")
    return MALFORMATIONS[name](b, fields, rng)


# --- model-level mutation ---------------------------------------------------------------------

_INT_RANGES = {"u32": (0, M.U32_MAX), "u64": (0, M.U64_MAX), "i64": (M.I64_MIN, M.I64_MAX)}
_STRANGE = ("", "\x00", "\ufffd", "MV2RPLY!", "MV2ACTIV", "é", "日本", "\U0001f600\u200d",
            "\u202e", "a" * 513, "\n\t\r")


def _int_kind(value_holder, name: str) -> str:
    if name == "version" or isinstance(value_holder, (M.ReplayManifest,)):
        return "u32"
    if name in ("timestamp_secs", "created_secs", "ended_secs"):
        return "i64"
    return "u64"


def _nodes(obj, out):
    """Every (holder, attribute name) in a model value, depth first."""
    if attrs.has(type(obj)):
        for a in attrs.fields(type(obj)):
            out.append((obj, a.name))
            _nodes(getattr(obj, a.name), out)
    elif isinstance(obj, list):
        for item in obj:
            _nodes(item, out)
    return out


def _new_int(rng, kind, old):
    low, high = _INT_RANGES[kind]
    cands = [v for v in INTERESTING_U64 if low <= v <= high] + [low, high]
    if kind == "i64":
        cands += [-1, M.I64_MIN, M.I64_MAX, 1_795_629_225]
    cands += [min(high, old + 1), max(low, old - 1)]
    return rng.choice(cands)


def _new_str(rng, old: str):
    r = rng.random()
    if r < 0.3:
        return old + rng.choice(_STRANGE) * rng.randrange(1, 4)
    if r < 0.6:
        return old[:rng.randrange(len(old) + 1)]
    return rng.choice(_STRANGE)


def _new_list(rng, old: list, holder, name):
    if old and rng.random() < 0.5:
        cut = rng.randrange(len(old))
        return old[:cut] + old[cut + 1:]
    if old:
        return old + [rng.choice(old)] * rng.randrange(1, 3)
    if name in ("frame_ids", "affected_frames"):
        return [rng.choice(INTERESTING_U64) for _ in range(rng.randrange(1, 4))]
    if name == "actions":
        return [M.ReplayAction(0, 0, M.Put(0))]
    if name == "checkpoints":
        return [M.Checkpoint(0, 0, 0, M.ZERO_HASH, M.StateSnapshot())]
    if name == "sessions":
        return [M.ReplaySession(uuid.UUID(int=rng.getrandbits(128)))]
    return old


def _new_variant(rng):
    cls = rng.choice(M.VARIANTS)
    args = []
    for a in attrs.fields(cls):
        if a.name in ("frame_ids",):
            args.append([rng.choice(INTERESTING_U64)])
        elif a.name == "args_hash":
            args.append(rng.choice((M.ZERO_HASH, M.OVERSIZE_HASH)))
        elif a.type in ("str", str):
            args.append(rng.choice(_STRANGE))
        else:
            args.append(rng.choice(INTERESTING_U64))
    return cls(*args)


def _mutate_value(rng, holder, name):
    old = getattr(holder, name)
    if name == "action_type":
        return _new_variant(rng)
    if name == "session_id":
        return uuid.UUID(int=rng.choice((0, 2**128 - 1, rng.getrandbits(128))))
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return _new_int(rng, _int_kind(holder, name), old)
    if isinstance(old, str):
        return _new_str(rng, old) if rng.random() < 0.9 else None
    if isinstance(old, bytes):
        return rng.choice((M.ZERO_HASH, M.OVERSIZE_HASH, rng.randbytes(32))) \
            if rng.random() < 0.9 else None
    if isinstance(old, list):
        return _new_list(rng, old, holder, name)
    if isinstance(old, dict):
        if old and rng.random() < 0.5:
            return dict(list(old.items())[1:])
        return {**old, rng.choice(_STRANGE) + str(len(old)): rng.choice(_STRANGE)}
    if old is None:
        if name in ("name",):
            return rng.choice(_STRANGE)
        if name in ("lex_index_hash", "vec_index_hash"):
            return rng.randbytes(32)
        if name == "ended_secs":
            return rng.choice((0, -1, M.I64_MAX))
        return rng.choice(INTERESTING_U64)
    return old


def _mutate_model(value, rng) -> None:
    nodes = _nodes(value, [])
    for _ in range(8):
        holder, name = rng.choice(nodes)
        try:
            setattr(holder, name, _mutate_value(rng, holder, name))
            return
        except (TypeError, ValueError):
            continue


# --- byte-level mutation ----------------------------------------------------------------------

def byte_mutate(data, rng: random.Random) -> bytes:
    """Format-aware byte mutations for inputs that do not parse."""
    b = bytearray(data)
    op = rng.randrange(9)
    if not b or op == 0:
        magic = rng.choice(MAGICS)
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = magic
    elif op == 1:
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 2:
        pos = rng.randrange(len(b))
        b[pos:pos + 8] = _U64.pack(rng.choice(INTERESTING_U64))
    elif op == 3:
        pos = rng.randrange(len(b))
        b[pos:pos + 4] = _U32.pack(rng.choice(INTERESTING_U32))
    elif op == 4:
        b[rng.randrange(len(b))] = rng.choice((0, 1, 2, 0x7F, 0x80, 0xC0, 0xFF))
    elif op == 5:
        start = rng.randrange(len(b))
        del b[start:start + rng.randrange(1, 17)]
    elif op == 6:
        start = rng.randrange(len(b))
        chunk = b[start:start + rng.randrange(1, 33)]
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = chunk
    elif op == 7:
        del b[rng.randrange(len(b)):]
    else:
        pos = rng.randrange(len(b) + 1)
        b[pos:pos] = rng.randbytes(rng.randrange(1, 9))
    return bytes(b)


def mutate(data, rng: random.Random | None = None) -> bytes:
    """One structure-aware mutation of `data` (any bytes in, bytes out, never raises).

    Valid segments and envelopes are decoded, one field of the model is changed and the
    container is rebuilt with consistent lengths; one time in four a length, tag, variant or
    header is corrupted on purpose instead (`malform`). Anything else gets `byte_mutate`.
    """
    rng = rng if rng is not None else random.Random()
    b = bytes(data)
    kind = detect(b)
    value = None
    try:
        if kind == "segment":
            value = parse_segment(b)
        elif kind == "active":
            value = parse_active_session(b)
    except ReplayFormatError:
        value = None
    if value is None:
        return byte_mutate(b, rng)
    if rng.random() < 0.25:
        return malform(b, rng).data
    for _ in range(rng.randrange(1, 4)):
        _mutate_model(value, rng)
    try:
        if kind == "segment":
            return build_segment(value.sessions)
        return build_active_session(value)
    except (ValueError, TypeError, struct.error, OverflowError):
        return byte_mutate(b, rng)
