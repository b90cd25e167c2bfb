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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from . import framing, schema
from . import model as M
from .codec import build_active_session, build_segment, parse_active_session, parse_segment
from .errors import ErrorKind as K
from .errors import ReplayFormatError

if TYPE_CHECKING:
    from .mv2 import Data

__all__ = [
    "Field", "Malformed", "field_map", "malform", "mutate", "byte_mutate", "detect",
    "INTERESTING_U64", "INTERESTING_U32", "MALFORMATIONS", "MAGICS",
]

SEGMENT_MAGIC = schema.SEGMENT_MAGIC
ACTIVE_MAGIC = schema.ACTIVE_MAGIC
MAGICS = (SEGMENT_MAGIC, ACTIVE_MAGIC, schema.MV2_MAGIC, schema.MV2_FOOTER_MAGIC, b"MVSK")
INTERESTING_U64 = (0, 1, 7, 8, 15, 16, 17, 24, 90, 124, 250, 251, 255, 256, 2**16 - 1, 2**16,
                   2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**62, 2**63 - 1, 2**63, 2**64 - 1)
INTERESTING_U32 = (0, 1, 7, 8, 9, 255, 256, 2**16, 2**31 - 1, 2**31, 2**32 - 1)
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")

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

    @property
    def end(self) -> int:
        return self.offset + self.size


class Malformed(NamedTuple):
    data: bytes
    kind: str  # the ErrorKind a strict parser must raise
    offset: int  # the offset it must report
    how: str  # what was done, for humans


# --- field map -------------------------------------------------------------------------------

#: trace's leaf kinds -> field-map kinds (lengths and bytes are told apart by their holder).
_KINDS = {"magic": "magic", "u32": "u32", "u64": "u64", "i64": "i64", "tag": "tag",
          "bool": "bool", "variant": "variant", "text": "str"}
_LEN_KINDS: dict[str | None, str] = {"string": "len", "vec": "count", "map": "count",
                                     "uuid": "uuid_len"}
_HEADER_KINDS = {"version": "version", "session_count": "session_count",
                 "total_size": "total_size"}


def detect(data: Data) -> str | None:
    """'segment' or 'active' from the leading magic (`framing.sniff`), else None."""
    kinds: dict[str | None, str] = {framing.SEGMENT: "segment", framing.SIDECAR: "active"}
    return kinds.get(framing.sniff(data))


def field_map(data: Data) -> list[Field]:
    """Every field of a valid segment or envelope, in decode order (offsets absolute): the
    leaves of its trace (`trace`), named for aiming corruptions.

    The input must parse (call parse_segment / parse_active_session first).
    """
    from .trace import trace_active_session, trace_segment

    b = bytes(data)
    kind = detect(b)
    if kind is None:
        raise ValueError("not a segment or active-session envelope")
    t = (trace_segment if kind == "segment" else trace_active_session)(b)
    if t.error is not None:
        raise t.error
    holders: dict[str, str] = {}  # path -> kind of the innermost composite opened at it
    out: list[Field] = []
    for s in t.fields:
        if not s.is_leaf:
            holders[s.path] = s.kind
            continue
        if s.kind == "len":
            what = _LEN_KINDS.get(holders.get(s.path), "block_len")
            need = s.end + s.value * s.unit if what != "uuid_len" else 0
            out.append(Field(s.offset, s.size, what, s.path, need))
        elif s.kind == "bytes":
            what = "uuid" if holders.get(s.path) == "uuid" else "hash"
            out.append(Field(s.offset, s.size, what, s.path))
        elif kind == "segment" and s.path in _HEADER_KINDS:
            out.append(Field(s.offset, s.size, _HEADER_KINDS[s.path], s.path))
        else:
            out.append(Field(s.offset, s.size, _KINDS[s.kind], s.path))
    return out


# --- corruption with a known outcome ---------------------------------------------------------

def _blocks(fields: list[Field]) -> list[Field]:
    return [f for f in fields if f.kind == "block_len"]


def _block_of(fields: list[Field], off: int) -> Field:
    """The block_len field whose block holds offset `off`."""
    for blk in _blocks(fields):
        if blk.offset + 8 <= off < blk.need:
            return blk
    raise LookupError(off)


def _at(fields: list[Field], kind: str) -> Field:
    """The (first) field of this kind: header fields are found in the map, not by offset."""
    return next(f for f in fields if f.kind == kind)


def _put_u64(b: bytearray, off: int, value: int) -> None:
    b[off:off + 8] = _U64.pack(value)


def _resize_block(b: bytearray, fields: list[Field], blk: Field, delta: int) -> None:
    """Fix the length prefix of `blk` (and total_size) after its block changed by delta bytes."""
    _put_u64(b, blk.offset, _U64.unpack_from(b, blk.offset)[0] + delta)
    if detect(b) == "segment":
        total = _at(fields, "total_size").offset
        _put_u64(b, total, _U64.unpack_from(b, total)[0] + delta)


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


def _truncate_inside(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    inner = [f for f in fields if f.kind not in ("magic", "version", "session_count",
                                                 "total_size", "block_len") and f.size > 0]
    f = rng.choice(inner)
    cut = f.offset + rng.randrange(f.size)
    blk = _block_of(fields, f.offset)
    kind, off = _first_failing(fields, blk, cut)
    out = bytearray(b[:cut] + b[blk.need:])
    _resize_block(out, fields, blk, cut - blk.need)
    return Malformed(bytes(out), kind, off, f"block cut at {cut}, inside {f.path} ({f.kind})")


def _truncate_raw(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    """Cut the file itself (lengths not fixed up): the outermost check that fails wins."""
    cut = rng.randrange(len(b))
    if detect(b) == "active":
        magic, length = fields[0], fields[1]
        if cut < magic.end:
            return Malformed(b[:cut], K.TRUNCATED, magic.offset, f"file cut at {cut}")
        if cut < length.end:
            return Malformed(b[:cut], K.TRUNCATED, length.offset, f"file cut at {cut}")
        return Malformed(b[:cut], K.LENGTH_OVERFLOW, length.offset, f"file cut at {cut}")
    for f in fields[:4]:
        if cut < f.offset + f.size:
            return Malformed(b[:cut], K.TRUNCATED, f.offset, f"file cut at {cut} in {f.path}")
    for blk in _blocks(fields):
        if cut == blk.offset:
            return Malformed(b[:cut], K.COUNT_MISMATCH, _at(fields, "session_count").offset,
                             f"file cut before {blk.path}")
        if cut < blk.offset + 8:
            return Malformed(b[:cut], K.TRUNCATED, blk.offset, f"file cut in {blk.path} length")
        if cut < blk.need:
            return Malformed(b[:cut], K.LENGTH_OVERFLOW, blk.offset, f"file cut in {blk.path}")
    raise AssertionError("unreachable")


def _length_bomb(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    f = rng.choice([f for f in fields if f.kind in ("len", "count", "block_len", "uuid_len")])
    value = rng.choice((2**62, 2**64 - 1, 2**63, 2**32, 2**40))
    out = bytearray(b)
    _put_u64(out, f.offset, value)
    kind = K.BAD_UUID_LENGTH if f.kind == "uuid_len" else K.LENGTH_OVERFLOW
    return Malformed(bytes(out), kind, f.offset, f"{f.path} length set to {value}")


def _bad_tag(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    f = rng.choice([f for f in fields if f.kind in ("tag", "bool")])
    out = bytearray(b)
    out[f.offset] = rng.choice((2, 3, 0x7F, 0x80, 0xFF, rng.randrange(2, 256)))
    kind = K.INVALID_TAG if f.kind == "tag" else K.INVALID_BOOL
    return Malformed(bytes(out), kind, f.offset, f"{f.path} tag set to {out[f.offset]}")


def _unknown_variant(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    f = rng.choice([f for f in fields if f.kind == "variant"])
    value = rng.choice((8, 9, 255, 2**31, 2**32 - 1, rng.randrange(8, 2**32)))
    out = bytearray(b)
    out[f.offset:f.offset + 4] = _U32.pack(value)
    return Malformed(bytes(out), K.UNKNOWN_VARIANT, f.offset, f"{f.path} variant {value}")


def _bad_utf8(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    f = rng.choice([f for f in fields if f.kind == "str" and f.size > 0])
    starts = [i for i in range(f.size) if not 0x80 <= b[f.offset + i] < 0xC0]
    k = rng.choice(starts)
    out = bytearray(b)
    out[f.offset + k] = rng.choice((0xFF, 0xFE, 0x80, 0xBF, 0xC0, 0xF8))
    return Malformed(bytes(out), K.INVALID_UTF8, f.offset + k, f"{f.path} byte {k} invalid")


def _count_mismatch(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    out = bytearray(b)
    at = _at(fields, "session_count").offset
    n = _U32.unpack_from(b, at)[0]
    if n and rng.random() < 0.5:
        # Fewer sessions declared than present, and total_size still covers them all.
        out[at:at + 4] = _U32.pack(rng.randrange(n))
        return Malformed(bytes(out), K.COUNT_MISMATCH, at, "session_count lowered")
    out[at:at + 4] = _U32.pack(rng.randrange(n + 1, n + 3) if rng.random() < 0.5 else 2**32 - 1)
    return Malformed(bytes(out), K.COUNT_MISMATCH, at, "session_count raised")


def _size_mismatch(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    out = bytearray(b)
    at = _at(fields, "total_size").offset
    total = _U64.unpack_from(b, at)[0]
    value = rng.choice([v for v in (0, 24, total - 1, total + 1, 2**62, 2**64 - 1)
                        if 0 <= v < 2**64 and v != total])
    _put_u64(out, at, value)
    return Malformed(bytes(out), K.SIZE_MISMATCH, at, f"total_size {value}")


def _trailing(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12)))
    blocks = _blocks(fields)
    if rng.random() < 0.5 and blocks:
        blk = rng.choice(blocks)
        out = bytearray(b[:blk.need] + junk + b[blk.need:])
        _resize_block(out, fields, blk, len(junk))
        return Malformed(bytes(out), K.TRAILING_BYTES, blk.need, f"{len(junk)} bytes in {blk.path}")
    return Malformed(b + junk, K.TRAILING_BYTES, len(b), f"{len(junk)} bytes appended")


def _bad_header(b: bytes, fields: list[Field], rng: random.Random) -> Malformed:
    out = bytearray(b)
    if rng.random() < 0.5:
        magic = _at(fields, "magic")
        out[magic.offset + rng.randrange(magic.size)] ^= 1 << rng.randrange(8)
        return Malformed(bytes(out), K.BAD_MAGIC, magic.offset, "magic bit flipped")
    if detect(b) == "active":
        return _length_bomb(b, fields, rng)
    at = _at(fields, "version").offset
    out[at:at + 4] = _U32.pack(rng.choice((0, 2, 2**32 - 1)))
    return Malformed(bytes(out), K.UNSUPPORTED_VERSION, at, "version changed")


#: A corruption: (valid bytes, their field map, rng) -> the corrupted bytes and what they cause.
Malformation = Callable[[bytes, list[Field], random.Random], Malformed]

MALFORMATIONS: dict[str, Malformation] = {
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


def applicable(data: Data, fields: list[Field] | None = None) -> list[str]:
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


def malform(data: Data, rng: random.Random, how: str | None = None) -> Malformed:
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
_STRANGE = ("", "\x00", "\ufffd", SEGMENT_MAGIC.decode(), ACTIVE_MAGIC.decode(), "é", "日本",
            "\U0001f600\u200d", "\u202e", "a" * 513, "\n\t\r")


def _int_kind(value_holder: object, name: str) -> str:
    if name == "version" or isinstance(value_holder, (M.ReplayManifest,)):
        return "u32"
    if name in ("timestamp_secs", "created_secs", "ended_secs"):
        return "i64"
    return "u64"


def _nodes(obj: object, out: list[tuple[Any, str]]) -> list[tuple[Any, str]]:
    """Every (holder, attribute name) in a model value, depth first."""
    cls = type(obj)
    if attrs.has(cls):
        for a in attrs.fields(cls):
            out.append((obj, a.name))
            _nodes(getattr(obj, a.name), out)
    elif isinstance(obj, list):
        for item in obj:
            _nodes(item, out)
    return out


def _new_int(rng: random.Random, kind: str, old: int) -> int:
    low, high = _INT_RANGES[kind]
    cands = [v for v in INTERESTING_U64 if low <= v <= high] + [low, high]
    if kind == "i64":
        cands += [-1, M.I64_MIN, M.I64_MAX, 1_795_629_225]
    cands += [min(high, old + 1), max(low, old - 1)]
    return rng.choice(cands)


def _new_str(rng: random.Random, old: str) -> str:
    r = rng.random()
    if r < 0.3:
        return old + rng.choice(_STRANGE) * rng.randrange(1, 4)
    if r < 0.6:
        return old[:rng.randrange(len(old) + 1)]
    return rng.choice(_STRANGE)


def _new_list(rng: random.Random, old: list[Any], holder: object, name: str) -> list[Any]:
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


def _new_variant(rng: random.Random) -> M.ActionType:
    cls = rng.choice(M.VARIANTS)
    args: list[Any] = []
    for a in attrs.fields(cls):
        if a.name in ("frame_ids",):
            args.append([rng.choice(INTERESTING_U64)])
        elif a.name == "args_hash":
            args.append(rng.choice((M.ZERO_HASH, M.OVERSIZE_HASH)))
        elif a.type in ("str", str):
            args.append(rng.choice(_STRANGE))
        else:
            args.append(rng.choice(INTERESTING_U64))
    variant: M.ActionType = cls(*args)
    return variant


def _mutate_value(rng: random.Random, holder: object, name: str) -> Any:  # any field's type
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


def _mutate_model(value: M.Segment | M.ActiveSession, rng: random.Random) -> None:
    nodes = _nodes(value, [])
    for _ in range(8):
        holder, name = rng.choice(nodes)
        try:
            setattr(holder, name, _mutate_value(rng, holder, name))
            return
        except (TypeError, ValueError):
            continue


# --- byte-level mutation ----------------------------------------------------------------------

def byte_mutate(data: Data, rng: random.Random) -> bytes:
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


def mutate(data: Data, rng: random.Random | None = None) -> bytes:
    """One structure-aware mutation of `data` (any bytes in, bytes out, never raises).

    Valid segments and envelopes are decoded, one field of the model is changed and the
    container is rebuilt with consistent lengths; one time in four a length, tag, variant or
    header is corrupted on purpose instead (`malform`). Anything else gets `byte_mutate`.
    """
    rng = rng if rng is not None else random.Random()
    b = bytes(data)
    kind = detect(b)
    value: M.Segment | M.ActiveSession | None = None
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
        if isinstance(value, M.Segment):  # kind "segment"
            return build_segment(value.sessions)
        return build_active_session(value)
    except (ValueError, TypeError, struct.error, OverflowError):
        return byte_mutate(b, rng)
