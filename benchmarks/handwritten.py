"""A careful hand-written struct codec for ReplaySession: the reference the generated codec is
measured against (issue 5: "full parse and build at <= 1.0x a hand-written struct codec").

Written the way a careful engineer writes one by hand: precompiled `struct.Struct`s,
`unpack_from` at offsets, adjacent fixed fields fused into one unpack, cached Vec<u64> structs,
objects built directly through their slots (no validators, as in the generated codec), every
declared length checked before it is used. Truncated fixed fields surface as `struct.error`,
so its errors carry no offset or path: it is a speed reference, not a replacement.
"""

from __future__ import annotations

import struct
from typing import Any
from uuid import UUID

from replayfmt import model as M

__all__ = ["parse_session", "build_session", "DecodeError"]

_Q = struct.Struct("<Q")
_QqI = struct.Struct("<QqI")
_HHQ = struct.Struct("<32s32sQ")
_QQ = struct.Struct("<QQ")
_QQqH = struct.Struct("<QQq32s")
_QQH = struct.Struct("<QQ32s")
_q = struct.Struct("<q")
_I = struct.Struct("<I")
_H = struct.Struct("<32s")
_VEC = [struct.Struct(f"<{n}Q") for n in range(64)]
_new = object.__new__


def _setters(cls: Any) -> list[Any]:
    return [cls.__dict__[a.name].__set__ for a in cls.__attrs_attrs__]


_RA = _setters(M.ReplayAction)
_FIND = _setters(M.Find)
_PUT = _setters(M.Put)
_ASK = _setters(M.Ask)
_CP = _setters(M.CheckpointAction)
_TOOL = _setters(M.ToolCall)
_PM = _setters(M.PutMany)
_CK = _setters(M.Checkpoint)
_SNAP = _setters(M.StateSnapshot)
_SESS = _setters(M.ReplaySession)


class DecodeError(ValueError):
    pass


def _str(b: Any, p: int, e: int) -> tuple[str, int]:
    (n,) = _Q.unpack_from(b, p)
    p += 8
    if n > e - p:
        raise DecodeError("string length")
    return b[p:p + n].decode(), p + n


def _u64s(b: Any, p: int, e: int) -> tuple[list[int], int]:
    (n,) = _Q.unpack_from(b, p)
    p += 8
    if n > (e - p) // 8:
        raise DecodeError("count")
    s = _VEC[n] if n < 64 else struct.Struct(f"<{n}Q")
    return list(s.unpack_from(b, p)), p + 8 * n


def _make(cls: Any, setters: list[Any], *values: Any) -> Any:
    o = _new(cls)
    for f, v in zip(setters, values, strict=False):
        f(o, v)
    return o


def _action(b: Any, p: int, e: int) -> tuple[Any, int]:
    at: Any
    seq, ts, tag = _QqI.unpack_from(b, p)
    p += 20
    if tag == 2:
        q, p = _str(b, p, e)
        mode, p = _str(b, p, e)
        (rc,) = _Q.unpack_from(b, p)
        p += 8
        at = _new(M.Find)
        _FIND[0](at, q)
        _FIND[1](at, mode)
        _FIND[2](at, rc)
    elif tag == 0:
        (fid,) = _Q.unpack_from(b, p)
        p += 8
        at = _new(M.Put)
        _PUT[0](at, fid)
    elif tag == 3:
        q, p = _str(b, p, e)
        prov, p = _str(b, p, e)
        model, p = _str(b, p, e)
        at = _make(M.Ask, _ASK, q, prov, model)
    elif tag == 4:
        (cid,) = _Q.unpack_from(b, p)
        p += 8
        at = _make(M.CheckpointAction, _CP, cid)
    elif tag == 1:
        ids, p = _u64s(b, p, e)
        (count,) = _Q.unpack_from(b, p)
        p += 8
        at = _make(M.PutMany, _PM, ids, count)
    elif tag in (5, 6):
        (fid,) = _Q.unpack_from(b, p)
        p += 8
        at = M.Update(fid) if tag == 5 else M.Delete(fid)
    elif tag == 7:
        name, p = _str(b, p, e)
        (h,) = _H.unpack_from(b, p)
        p += 32
        at = _make(M.ToolCall, _TOOL, name, h)
    else:
        raise DecodeError("variant")
    ih, oh, n = _HHQ.unpack_from(b, p)
    p += 72
    if n > e - p:
        raise DecodeError("string length")
    ip = b[p:p + n].decode()
    p += n
    op, p = _str(b, p, e)
    frames, p = _u64s(b, p, e)
    (dur,) = _Q.unpack_from(b, p)
    p += 8
    s = _RA
    o = _new(M.ReplayAction)
    s[0](o, seq)
    s[1](o, ts)
    s[2](o, at)
    s[3](o, ih)
    s[4](o, oh)
    s[5](o, ip)
    s[6](o, op)
    s[7](o, frames)
    s[8](o, dur)
    return o, p


def _opt_hash(b: Any, p: int) -> tuple[Any, int]:
    tag = b[p]
    if tag == 0:
        return None, p + 1
    if tag != 1:
        raise DecodeError("tag")
    return _H.unpack_from(b, p + 1)[0], p + 33


def _checkpoint(b: Any, p: int, e: int) -> tuple[Any, int]:
    cid, at, ts, sh = _QQqH.unpack_from(b, p)
    p += 56
    (fc,) = _Q.unpack_from(b, p)
    ids, p = _u64s(b, p + 8, e)
    lex, p = _opt_hash(b, p)
    vec, p = _opt_hash(b, p)
    wal, gen = _QQ.unpack_from(b, p)
    p += 16
    snap = _make(M.StateSnapshot, _SNAP, fc, ids, lex, vec, wal, gen)
    return _make(M.Checkpoint, _CK, cid, at, ts, sh, snap), p


def parse_session(b: Any, p: int, e: int) -> tuple[Any, int]:
    """Parse one ReplaySession from b[p:e] (bytes); returns (session, next offset)."""
    (n,) = _Q.unpack_from(b, p)
    if n != 16:
        raise DecodeError("uuid")
    sid = UUID(bytes=b[p + 8:p + 24])
    p += 24
    tag = b[p]
    p += 1
    if tag == 1:
        name, p = _str(b, p, e)
    elif tag == 0:
        name = None
    else:
        raise DecodeError("tag")
    (created,) = _q.unpack_from(b, p)
    p += 8
    tag = b[p]
    p += 1
    if tag == 1:
        (ended,) = _q.unpack_from(b, p)
        p += 8
    elif tag == 0:
        ended = None
    else:
        raise DecodeError("tag")
    (n,) = _Q.unpack_from(b, p)
    p += 8
    if n > (e - p) // 90:
        raise DecodeError("count")
    cps = []
    for _ in range(n):
        c, p = _checkpoint(b, p, e)
        cps.append(c)
    (n,) = _Q.unpack_from(b, p)
    p += 8
    if n > (e - p) // 121:
        raise DecodeError("count")
    actions: list[Any] = []
    append = actions.append
    action = _action
    for _ in range(n):
        a, p = action(b, p, e)
        append(a)
    (n,) = _Q.unpack_from(b, p)
    p += 8
    meta = {}
    for _ in range(n):
        k, p = _str(b, p, e)
        v, p = _str(b, p, e)
        if k in meta:
            raise DecodeError("duplicate key")
        meta[k] = v
    (version,) = _I.unpack_from(b, p)
    p += 4
    if p > e:
        raise DecodeError("overrun")
    return _make(M.ReplaySession, _SESS, sid, name, created, ended, cps, actions, meta,
                 version), p


def _put_str(out: bytearray, s: str) -> None:
    raw = s.encode()
    out += _Q.pack(len(raw))
    out += raw


def _put_u64s(out: bytearray, lst: list[int]) -> None:
    n = len(lst)
    out += _Q.pack(n)
    out += (_VEC[n] if n < 64 else struct.Struct(f"<{n}Q")).pack(*lst)


def build_session(s: Any, out: bytearray) -> None:
    """Append the encoding of the ReplaySession `s` to `out`."""
    out += _Q.pack(16)
    out += s.session_id.bytes
    if s.name is None:
        out.append(0)
    else:
        out.append(1)
        _put_str(out, s.name)
    out += _q.pack(s.created_secs)
    if s.ended_secs is None:
        out.append(0)
    else:
        out.append(1)
        out += _q.pack(s.ended_secs)
    out += _Q.pack(len(s.checkpoints))
    for c in s.checkpoints:
        out += _QQqH.pack(c.id, c.at_sequence, c.timestamp_secs, c.state_hash)
        sn = c.snapshot
        out += _Q.pack(sn.frame_count)
        _put_u64s(out, sn.frame_ids)
        for h in (sn.lex_index_hash, sn.vec_index_hash):
            if h is None:
                out.append(0)
            else:
                out.append(1)
                out += h
        out += _QQ.pack(sn.wal_sequence, sn.generation)
    out += _Q.pack(len(s.actions))
    for a in s.actions:
        at = a.action_type
        tag = at.INDEX
        out += _QqI.pack(a.sequence, a.timestamp_secs, tag)
        if tag == 2:
            _put_str(out, at.query)
            _put_str(out, at.mode)
            out += _Q.pack(at.result_count)
        elif tag in (0, 4, 5, 6):
            out += _Q.pack(at.frame_id if tag != 4 else at.checkpoint_id)
        elif tag == 3:
            _put_str(out, at.query)
            _put_str(out, at.provider)
            _put_str(out, at.model)
        elif tag == 1:
            _put_u64s(out, at.frame_ids)
            out += _Q.pack(at.count)
        else:
            _put_str(out, at.name)
            out += at.args_hash
        ip = a.input_preview.encode()
        out += _HHQ.pack(a.input_hash, a.output_hash, len(ip))
        out += ip
        _put_str(out, a.output_preview)
        _put_u64s(out, a.affected_frames)
        out += _Q.pack(a.duration_ms)
    out += _Q.pack(len(s.metadata))
    for k, v in s.metadata.items():
        _put_str(out, k)
        _put_str(out, v)
    out += _I.pack(s.version)
