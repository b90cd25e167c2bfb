"""Generates the compiled fast path (`_native.pyx`, Cython) from the Construct schema tree.

`python -m replayfmt.codegen_native` rewrites `replayfmt/_native.pyx`; a test fails when the
checked-in file differs from what the schema generates now (as for `_generated.py`). Build-time
only: nothing imports this module at run time.

The emitted code reads the buffer through a `const unsigned char*` with typed offsets and
little-endian loads, decodes each string once, builds model objects at C level (allocated with
the type's tp_alloc, slots filled by offset: the values are valid by construction, as in the
generated Python) and writes memvid JSON text straight from the bytes. Per record and flavour
it emits one C function:

    m_X  model objects               (the generated Python's parse_X)
    d_X  JSON-shaped dicts           (json_X; only records a summary nests)
    k_X  checks only, returns the index of the record's enum variant (inside summaries)
    s_X  summary dict, record lists counted (summary_X)
    t_X  memvid JSON text, pretty as serde_json prints it (what json_X + orjson render)

and, for the `.mv2` TOC, one `c_X` per container Struct (a `_generated_toc.Rec`) behind one
`parse_toc_<layout>` per layout of `schema.TOC_LAYOUTS` (as `_generated_toc`'s; its encoders
stay Python).

Every check is the one the generated Python makes, in the same order, and every failure is
built by the same constructors of `errors` (truncated, overflow, invalid_utf8, invalid_tag, ...),
with the path completed by the enclosing records, so errors are identical: message, kind,
offset, path, expected, actual.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path
from typing import Any

from construct import Bytes, FormatField, Renamed, Struct

from . import schema
from .schema import Bool, Enum, Map, Option, String, Uuid, Vec

TARGET = Path(__file__).with_name("_native.pyx")

#: Records compiled (dependency order) and the flavours each gets.
FLAVOURS = {
    "StateSnapshot": ("m", "k", "t"),
    "Checkpoint": ("m", "k", "t"),
    "ReplayAction": ("m", "k", "t"),
    "ReplaySession": ("m", "k", "s", "t"),
    "ReplayConfig": ("m", "d", "k"),
    "ActiveSession": ("m", "k", "s"),
}
#: Python-callable entry points, with the generated Python's names and signatures.
ENTRY = {"m": "parse", "s": "summary"}
EXPORTS = {"ReplaySession": ("m", "s"), "ActiveSession": ("m", "s"),
           "ReplayAction": ("m",), "Checkpoint": ("m",)}  # the last two: record by record
#: Records with a compiled encoder (b_X; build_X exported for those in EXPORTS).
BUILDS = ("StateSnapshot", "Checkpoint", "ReplayAction", "ReplaySession", "ReplayConfig",
          "ActiveSession")

_RECORD_NAMES = {id(node): name for name, node in schema.RECORDS.items()}
_CTYPES = {"Q": ("uint64_t", "_u64"), "q": ("int64_t", "_i64"), "I": ("uint32_t", "_u32"),
           "L": ("uint32_t", "_u32"), "B": ("uint8_t", "_u8"), "H": ("uint16_t", "_u16")}


def _unwrap(node: Any) -> Any:
    while isinstance(node, Renamed):
        node = node.subcon
    return node


def _fields(node: Any) -> list[tuple[str, Any]]:
    return [(sub.name, sub.subcon) for sub in _unwrap(node).subcons]


def _record(node: Any) -> str | None:
    return _RECORD_NAMES.get(id(node)) or _RECORD_NAMES.get(id(_unwrap(node)))


def _variant_classes(enum: Any) -> list[str]:
    """Model class name of each variant: the serde name, except where it would clash with a
    record (`Checkpoint` -> `CheckpointAction`, as in `schema` and `model`)."""
    names = []
    for vname, sub in enum.variants:
        decl = [k for k, v in vars(schema).items() if v is sub and k[0].isupper()]
        names.append(decl[0] if decl else vname)
    return names


class _Fn:
    """One C function being emitted: its declarations (hoisted, as Cython wants) and body."""

    def __init__(self, header: str) -> None:
        self.header = header
        self.decls: dict[str, str] = {}
        self.body: list[str] = []
        self.n = 0

    def var(self, hint: str, ctype: str = "object") -> str:
        self.n += 1
        name = f"{hint}{self.n}"
        self.decls[name] = ctype
        return name

    def line(self, ind: int, text: str) -> None:
        self.body.append("    " * ind + text)

    def render(self) -> list[str]:
        out = ["", "", self.header]
        for name, ctype in self.decls.items():
            out.append(f"    cdef {ctype} {name}")
        out += self.body
        return out


class _Emitter:
    """Emits the statements of one record in one flavour (see the module docstring)."""

    def __init__(self, fn: _Fn, flavour: str) -> None:
        self.f = fn
        self.fl = flavour
        self.models: dict[str, list[str]] = {}
        #: vet: static field path -> C lvalue its value (or position, length, count) goes to
        self.capture: dict[str, str] = {}
        #: vet flavour of a summary: record lists checked element by element (chk_X)
        self.vet = False
        #: a summary's per-variant counts array (C name) and size, from the last vec()
        self.counts: str | None = None
        self.count_n = 0

    def cap(self, path: str, suffix: str = "") -> str | None:
        """The C lvalue the vet captures the field at `path` into, if any."""
        if not self.capture or len(path) < 2 or path[0] != "'" or path[-1] != "'":
            return None
        return self.capture.get(path[1:-1] + suffix)

    # -- helpers ----------------------------------------------------------------------------

    def need(self, ind: int, size: int, path: str) -> None:
        self.f.line(ind, f"if e - p < {size}:")
        self.f.line(ind + 1, f"_trunc(p, e, {size}, {path})")

    def fixed(self, node: Any, path: str, ind: int) -> str | None:
        """A fixed-size leaf: bounds check, load; returns the C variable (None for bytes in
        flavours that drop them)."""
        node = _unwrap(node)
        if isinstance(node, FormatField):
            fmt = node.fmtstr[1:]
            ctype, load = _CTYPES[fmt]
            size = struct.calcsize("<" + fmt)
            self.need(ind, size, path)
            v = self.f.var("v", ctype)
            self.f.line(ind, f"{v} = {load}(b + p)")
            self.f.line(ind, f"p += {size}")
            return v
        if isinstance(node, Bytes) and isinstance(node.length, int):
            n = node.length
            self.need(ind, n, path)
            h: str | None = None
            if self.fl in ("m", "d"):
                h = self.f.var("h")
                conv = "_hash32" if n == 32 else "_bytes"
                self.f.line(ind, f"{h} = {conv}(b + p, {n})")
                if self.fl == "d":
                    self.f.line(ind, f"{h} = list({h})")
            elif self.fl == "t":
                self.f.line(ind, f"_t_bytes(o, b + p, {n}, ind)")
            self.f.line(ind, f"p += {n}")
            return h
        return None

    def length(self, path: str, ind: int) -> str:
        self.need(ind, 8, path)
        n = self.f.var("n", "uint64_t")
        self.f.line(ind, f"{n} = _u64(b + p)")
        self.f.line(ind, "p += 8")
        return n

    # -- fields -----------------------------------------------------------------------------

    def field(self, node0: Any, path: str, ind: int, text_ind: str = "ind") -> str | None:
        """Emit one field; returns the expression of its Python value (None when the flavour
        keeps no value). In flavour t the value is written to `o` at indent `text_ind`."""
        f, fl = self.f, self.fl
        node = _unwrap(node0)
        record = _record(node0)
        cap = self.cap(path)
        if record is not None:
            if cap:
                f.line(ind, f"{cap}_p = p")
            r = self.call(record, path, ind, text_ind)
            if cap:
                f.line(ind, f"{cap}_e = p")
            return r
        if isinstance(node, FormatField):
            v = self.fixed(node, path, ind)
            if cap:
                f.line(ind, f"{cap} = {v}")
            if fl == "t":
                signed = _CTYPES[node.fmtstr[1:]][0].startswith("int")
                f.line(ind, f"{'_t_int' if signed else '_t_uint'}(o, {v})")
            return v
        if isinstance(node, Bytes):
            if fl == "t":
                n = node.length
                self.need(ind, n, path)
                f.line(ind, f"_t_bytes(o, b + p, {n}, {text_ind})")
                f.line(ind, f"p += {n}")
                return None
            if cap:
                f.line(ind, f"{cap} = p")
            return self.fixed(node, path, ind)
        if isinstance(node, String):
            n = self.length(path, ind)
            f.line(ind, f"if {n} > <uint64_t>(e - p):")
            f.line(ind + 1, f"_ovf(p, e, {n}, 1, 'string length', {path})")
            if cap:
                f.line(ind, f"{cap}_p = p")
                f.line(ind, f"{cap}_n = <Py_ssize_t>{n}")
            s = None
            if fl in ("m", "d", "s"):
                s = f.var("s")
                f.line(ind, f"{s} = _str(b, p, <Py_ssize_t>{n}, {path})")
            elif fl == "k":
                f.line(ind, f"_check_utf8(b, p, <Py_ssize_t>{n}, {path})")
            else:
                f.line(ind, f"_t_str(o, b, p, <Py_ssize_t>{n}, {path})")
            f.line(ind, f"p += <Py_ssize_t>{n}")
            return s
        if isinstance(node, Uuid):
            n = self.length(path, ind)
            f.line(ind, f"if {n} != 16:")
            f.line(ind + 1, f"raise _E.bad_uuid_length(p - 8, {path}, {n})")
            self.need(ind, 16, path)
            u = None
            if fl in ("m", "s"):
                u = f.var("u")
                f.line(ind, f"{u} = _uuid(b + p)")
            elif fl == "d":
                u = f.var("u")
                f.line(ind, f"{u} = str(_uuid(b + p))")
            elif fl == "t":
                f.line(ind, "_t_uuid(o, b + p)")
            f.line(ind, "p += 16")
            return u
        if isinstance(node, (Option, Bool)):
            self.need(ind, 1, path)
            t = f.var("t", "uint8_t")
            f.line(ind, f"{t} = b[p]")
            f.line(ind, "p += 1")
            tag = self.cap(path, "?")
            if tag:
                f.line(ind, f"{tag} = {t}")
            if isinstance(node, Bool):
                f.line(ind, f"if {t} > 1:")
                f.line(ind + 1, f"raise _E.invalid_bool(p - 1, {path}, {t})")
                if fl == "t":
                    f.line(ind, f"_w(o, b'true' if {t} else b'false')")
                    return None
                return None if fl == "k" else f"({t} == 1)"
            o = f.var("o") if fl in ("m", "d", "s") else None
            f.line(ind, f"if {t} == 0:")
            if o:
                f.line(ind + 1, f"{o} = None")
            elif fl == "t":
                f.line(ind + 1, "_w(o, b'null')")
            else:
                f.line(ind + 1, "pass")
            f.line(ind, f"elif {t} == 1:")
            before = len(f.body)
            inner = self.field(node.subcon, path, ind + 1, text_ind)
            if o:
                f.line(ind + 1, f"{o} = {inner}")
            elif len(f.body) == before:
                f.line(ind + 1, "pass")
            f.line(ind, "else:")
            f.line(ind + 1, f"raise _E.invalid_tag(p - 1, {path}, {t})")
            return o
        if isinstance(node, Vec):
            return self.vec(node, path, ind, text_ind)
        if isinstance(node, Map):
            return self.map(node, path, ind, text_ind)
        if isinstance(node, Enum):
            return self.enum(node, path, ind, text_ind)
        raise TypeError(f"codegen_native does not know {type(node).__name__}")

    def call(self, record: str, path: str, ind: int, text_ind: str) -> str | None:
        f, fl = self.f, self.fl
        sub = fl
        if fl == "s":
            sub = "s" if "s" in FLAVOURS[record] else "d"
        f.line(ind, "try:")
        r = None
        if fl == "k":
            f.line(ind + 1, f"k_{record}(b, &p, e)")
        elif fl == "t":
            f.line(ind + 1, f"t_{record}(b, &p, e, o, {text_ind})")
        else:
            r = f.var("r")
            f.line(ind + 1, f"{r} = {sub}_{record}(b, &p, e)")
        f.line(ind, "except ReplayFormatError as err:")
        f.line(ind + 1, f"raise err.prefix({path})")
        return r

    def vec(self, node: Any, path: str, ind: int, text_ind: str) -> str | None:
        f, fl = self.f, self.fl
        n = self.length(path, ind)
        elem = _unwrap(node.subcon)
        m = schema.min_size(node.subcon)
        limit = "(e - p)" if m == 1 else f"(e - p) // {m}"
        f.line(ind, f"if {n} > <uint64_t>({limit}):")
        f.line(ind + 1, f"_ovf(p, e, {n}, {m}, 'element count', {path})")
        cap = self.cap(path)
        if cap:
            f.line(ind, f"{cap} = <Py_ssize_t>{n}")
        record = _record(node.subcon)
        if record is None:
            if not (isinstance(elem, FormatField) and elem.fmtstr[1:] == "Q"):
                raise TypeError("codegen_native: Vec elements must be u64 or named records")
            out = None
            if fl in ("m", "d", "s"):
                out = f.var("l")
                f.line(ind, f"{out} = _u64_list(b + p, <Py_ssize_t>{n})")
            elif fl == "t":
                f.line(ind, f"_t_u64_list(o, b + p, <Py_ssize_t>{n}, {text_ind})")
            f.line(ind, f"p += <Py_ssize_t>{n} * 8")
            return out
        i = f.var("i", "Py_ssize_t")
        f.line(ind, f"{i} = 0")
        out = None
        if fl == "s":  # counted, each element checked; per-variant counts when it has an enum
            has_enum = any(isinstance(_unwrap(s), Enum) for _, s in _fields(elem))
            counts = None
            if has_enum:
                nvar = len(next(_unwrap(s) for _, s in _fields(elem)
                                if isinstance(_unwrap(s), Enum)).variants)
                counts = f.var("c", f"Py_ssize_t[{nvar}]")
                f.line(ind, f"memset({counts}, 0, sizeof({counts}))")
            f.line(ind, "try:")
            f.line(ind + 1, f"for {i} in range(<Py_ssize_t>{n}):")
            if self.vet:  # each element decoded into a V_X and checked by chk_X
                rec = f.var("rec", f"V_{record}")
                x = f.var("x", "int")
                f.line(ind + 2, f"{x} = v_{record}(b, &p, e, &{rec})")
                if counts:
                    f.line(ind + 2, f"{counts}[{x}] += 1")
                f.line(ind + 2, f"if chk_{record}(b, &{rec}, c, {i}, {x}):")
                f.line(ind + 3, "return None")
            elif counts:
                f.line(ind + 2, f"{counts}[k_{record}(b, &p, e)] += 1")
            else:
                f.line(ind + 2, f"k_{record}(b, &p, e)")
            f.line(ind, "except ReplayFormatError as err:")
            f.line(ind + 1, f"raise err.prefix(f'[{{{i}}}]').prefix({path})")
            self.counts = counts
            self.count_n = nvar if counts else 0
            return n
        if fl in ("m", "d"):
            out = f.var("l")
            r = f.var("r")
            f.line(ind, f"{out} = PyList_New(<Py_ssize_t>{n})")
        elif fl == "t":
            f.line(ind, f"if {n} == 0:")
            f.line(ind + 1, "_w(o, b'[]')")
            f.line(ind, "else:")
            f.line(ind + 1, "_w(o, b'[')")
        f.line(ind, "try:")
        f.line(ind + 1, f"for {i} in range(<Py_ssize_t>{n}):")
        if fl in ("m", "d"):
            f.line(ind + 2, f"{r} = {fl}_{record}(b, &p, e)")
            f.line(ind + 2, f"Py_INCREF({r})")
            f.line(ind + 2, f"PyList_SET_ITEM({out}, {i}, {r})")
        elif fl == "k":
            f.line(ind + 2, f"k_{record}(b, &p, e)")
        else:
            f.line(ind + 2, f"if {i}:")
            f.line(ind + 3, "_w(o, b',')")
            f.line(ind + 2, f"_nl(o, {text_ind} + 1)")
            f.line(ind + 2, f"t_{record}(b, &p, e, o, {text_ind} + 1)")
            f.line(ind + 2, "_flush(o)")
        f.line(ind, "except ReplayFormatError as err:")
        f.line(ind + 1, f"raise err.prefix(f'[{{{i}}}]').prefix({path})")
        if fl == "t":
            f.line(ind, f"if {n}:")
            f.line(ind + 1, f"_nl(o, {text_ind})")
            f.line(ind + 1, "_w(o, b']')")
        return out

    def map(self, node: Any, path: str, ind: int, text_ind: str) -> str | None:
        f, fl = self.f, self.fl
        n = self.length(path, ind)
        m = schema.min_size(node.key) + schema.min_size(node.value)
        f.line(ind, f"if {n} > <uint64_t>((e - p) // {m}):")
        f.line(ind + 1, f"_ovf(p, e, {n}, {m}, 'entry count', {path})")
        if not (isinstance(_unwrap(node.key), String) and isinstance(_unwrap(node.value), String)):
            raise TypeError("codegen_native: maps must be String -> String")
        d = f.var("d")
        i = f.var("i", "Py_ssize_t")
        kp = f.var("kp", "Py_ssize_t")
        kn = f.var("kn", "uint64_t")
        key, val = f.var("key"), f.var("val")
        f.line(ind, f"{d} = {{}}")
        if fl == "t":
            f.line(ind, f"_w(o, b'{{}}' if {n} == 0 else b'{{')")
        f.line(ind, f"for {i} in range(<Py_ssize_t>{n}):")
        b1 = ind + 1
        f.line(b1, f"{kp} = p")
        for which, var in (("key", key), ("value", val)):
            sub_path = f"{path} + '[%d].{which}' % {i}"
            f.line(b1, "if e - p < 8:")
            f.line(b1 + 1, f"_trunc(p, e, 8, {sub_path})")
            f.line(b1, f"{kn} = _u64(b + p)")
            f.line(b1, "p += 8")
            f.line(b1, f"if {kn} > <uint64_t>(e - p):")
            f.line(b1 + 1, f"_ovf(p, e, {kn}, 1, 'string length', {sub_path})")
            f.line(b1, f"{var} = _str(b, p, <Py_ssize_t>{kn}, {sub_path})")
            f.line(b1, f"p += <Py_ssize_t>{kn}")
        f.line(b1, f"if {key} in {d}:")
        f.line(b1 + 1, f"raise _E.duplicate_key({kp}, {path} + '[%d].key' % {i}, {key})")
        f.line(b1, f"{d}[{key}] = {val}")
        if fl == "t":
            f.line(b1, f"if {i}:")
            f.line(b1 + 1, "_w(o, b',')")
            f.line(b1, f"_nl(o, {text_ind} + 1)")
            f.line(b1, f"_t_pystr(o, {key})")
            f.line(b1, "_w(o, b': ')")
            f.line(b1, f"_t_pystr(o, {val})")
            f.line(ind, f"if {n}:")
            f.line(ind + 1, f"_nl(o, {text_ind})")
            f.line(ind + 1, "_w(o, b'}')")
        return d if fl in ("m", "d", "s") else None

    def enum(self, node: Any, path: str, ind: int, text_ind: str) -> str | None:
        f, fl = self.f, self.fl
        self.need(ind, 4, path)
        k = f.var("k", "uint32_t")
        f.line(ind, f"{k} = _u32(b + p)")
        f.line(ind, "p += 4")
        x = f.var("x") if fl in ("m", "d") else None
        classes = _variant_classes(node)
        static = path.strip("'")
        for index, (vname, sub) in enumerate(node.variants):
            f.line(ind, f"{'if' if index == 0 else 'elif'} {k} == {index}:")
            b1 = ind + 1
            vfields = _fields(sub)
            if fl == "t":
                f.line(b1, "_w(o, b'{')")
                f.line(b1, f"_nl(o, {text_ind} + 1)")
                f.line(b1, f"_w(o, b'\"{vname}\": {{')")
            vals = []
            for pos, (fname, fnode) in enumerate(vfields):
                if fl == "t":
                    if pos:
                        f.line(b1, "_w(o, b',')")
                    f.line(b1, f"_nl(o, {text_ind} + 2)")
                    f.line(b1, f"_w(o, b'\"{fname}\": ')")
                vals.append(self.field(fnode, repr(f"{static}.{vname}.{fname}"), b1,
                                       f"{text_ind} + 2"))
            if fl == "t":
                f.line(b1, f"_nl(o, {text_ind} + 1)")
                f.line(b1, "_w(o, b'}')")
                f.line(b1, f"_nl(o, {text_ind})")
                f.line(b1, "_w(o, b'}')")
            elif fl == "m":
                self.construct(x, classes[index], [n for n, _ in vfields], vals, b1)
            elif fl == "d":
                inner = ", ".join(f"{fn!r}: {v}" for (fn, _), v in zip(vfields, vals, strict=True))
                f.line(b1, f"{x} = {{{vname!r}: {{{inner}}}}}")
            if fl == "k":
                f.line(b1, f"variant = {index}")
        f.line(ind, "else:")
        f.line(ind + 1, f"raise _E.unknown_variant(p - 4, {path}, {k}, "
               f"{len(node.variants)})")
        return x

    def _taken(self) -> str | None:
        """The counts array the last vec() made (then forgotten)."""
        counts, self.counts = self.counts, None
        return counts

    def construct(self, target: str | None, cls: str, names: list[str],
                  vals: list[str | None], ind: int) -> None:
        self.models.setdefault(cls, names)
        self.f.line(ind, f"{target} = _new(<PyObject*>_C_{cls})")
        for name, v in zip(names, vals, strict=True):
            self.f.line(ind, f"_set({target}, _O_{cls}_{name}, {v})")

    # -- records ----------------------------------------------------------------------------

    def record(self, name: str, node: Any) -> None:
        f, fl = self.f, self.fl
        f.line(1, "cdef Py_ssize_t p = pp[0]")
        if fl == "k":
            f.decls["variant"] = "int"
            f.line(1, "variant = 0")
        if fl == "t":
            f.line(1, "_w(o, b'{')")
        fields = _fields(node)
        vals: list[str | None] = []
        self.counts = None
        counts: tuple[str, str, int] | None = None
        for pos, (fname, fnode) in enumerate(fields):
            if fl == "t":
                if pos:
                    f.line(1, "_w(o, b',')")
                f.line(1, "_nl(o, ind + 1)")
                f.line(1, f"_w(o, b'\"{fname}\": ')")
            vals.append(self.field(fnode, repr(fname), 1, "ind + 1"))
            taken = self._taken()
            if taken:
                counts = (fname, taken, self.count_n)
        if self.vet:
            f.line(1, f"if chk_{name}(c):")
            f.line(2, "return None")
        f.line(1, "pp[0] = p")
        if fl == "t":
            f.line(1, "_nl(o, ind)")
            f.line(1, "_w(o, b'}')")
            f.line(1, "return 0")
        elif fl == "k":
            f.line(1, "return variant")
        elif fl == "m":
            r = f.var("res")
            self.construct(r, name, [n for n, _ in fields], vals, 1)
            f.line(1, f"return {r}")
        else:
            parts = []
            for (fname, _), v in zip(fields, vals, strict=True):
                parts.append(f"{fname!r}: {v}")
                if counts and counts[0] == fname:
                    items = ", ".join(f"{counts[1]}[{j}]" for j in range(counts[2]))
                    parts.append(f"{fname + '_by_variant'!r}: [{items}]")
            f.line(1, "return {" + ", ".join(parts) + "}")


class _BuildEmitter:
    """Emits b_X(obj, o): the encoding of the model object `obj` appended to `o`.

    Returns 0, or 1 when the value is not one the compiled encoder takes as is (a wrong type,
    an int out of range, a hash of the wrong length, an unset slot...): the caller then runs
    the generated Python encoder, which raises its own error or encodes what it accepts, so
    both paths behave the same on every value."""

    def __init__(self, fn: _Fn) -> None:
        self.f = fn
        self.models: dict[str, list[str]] = {}

    def value(self, node0: Any, expr: str, ind: int) -> None:
        f = self.f
        node = _unwrap(node0)
        record = _record(node0)
        if record is not None:
            f.line(ind, f"if b_{record}({expr}, o):")
            f.line(ind + 1, "return 1")
            return
        if isinstance(node, FormatField):
            fmt = node.fmtstr[1:]
            put = {"Q": "_b_u64", "q": "_b_i64", "I": "_b_u32", "L": "_b_u32",
                   "B": "_b_u8"}[fmt]
            f.line(ind, f"if {put}(o, {expr}):")
            f.line(ind + 1, "return 1")
            return
        if isinstance(node, Bytes):
            f.line(ind, f"if _b_fixed(o, {expr}, {node.length}):")
            f.line(ind + 1, "return 1")
            return
        if isinstance(node, String):
            f.line(ind, f"if _b_str(o, {expr}):")
            f.line(ind + 1, "return 1")
            return
        if isinstance(node, Uuid):
            f.line(ind, f"if _b_uuid(o, {expr}):")
            f.line(ind + 1, "return 1")
            return
        if isinstance(node, Bool):
            t = f.var("bb")
            f.line(ind, f"{t} = {expr}")
            f.line(ind, f"if {t} is _UNSET:")
            f.line(ind + 1, "return 1")
            f.line(ind, f"_b_byte(o, 1 if {t} else 0)")
            return
        if isinstance(node, Option):
            t = f.var("ov")
            f.line(ind, f"{t} = {expr}")
            f.line(ind, f"if {t} is None:")
            f.line(ind + 1, "_b_byte(o, 0)")
            f.line(ind, "else:")
            f.line(ind + 1, "_b_byte(o, 1)")
            self.value(node.subcon, t, ind + 1)
            return
        if isinstance(node, Vec):
            lst = f.var("bl")
            f.line(ind, f"{lst} = {expr}")
            f.line(ind, f"if type({lst}) is not list:")
            f.line(ind + 1, "return 1")
            f.line(ind, f"_b_len(o, len(<list>{lst}))")
            it = f.var("it")
            f.line(ind, f"for {it} in <list>{lst}:")
            self.value(node.subcon, it, ind + 1)
            return
        if isinstance(node, Map):
            d, k, v = f.var("bd"), f.var("bk"), f.var("bv")
            f.line(ind, f"{d} = {expr}")
            f.line(ind, f"if type({d}) is not dict:")
            f.line(ind + 1, "return 1")
            f.line(ind, f"_b_len(o, len(<dict>{d}))")
            f.line(ind, f"for {k}, {v} in (<dict>{d}).items():")
            self.value(node.key, k, ind + 1)
            self.value(node.value, v, ind + 1)
            return
        if isinstance(node, Enum):
            x = f.var("bx")
            f.line(ind, f"{x} = {expr}")
            for index, (cls, (_vname, sub)) in enumerate(zip(_variant_classes(node),
                                                            node.variants, strict=True)):
                f.line(ind, f"{'if' if index == 0 else 'elif'} type({x}) is _C_{cls}:")
                names = [n for n, _ in _fields(sub)]
                self.models.setdefault(cls, names)
                f.line(ind + 1, f"_b_u32_raw(o, {index})")
                for n, sn in _fields(sub):
                    self.value(sn, f"_get({x}, _O_{cls}_{n})", ind + 1)
            f.line(ind, "else:")
            f.line(ind + 1, "return 1")
            return
        raise TypeError(f"codegen_native does not know {type(node).__name__}")

    def record(self, name: str, node: Any) -> None:
        f = self.f
        names = [n for n, _ in _fields(node)]
        self.models.setdefault(name, names)
        f.line(1, f"if type(obj) is not _C_{name}:")
        f.line(2, "return 1")
        for n, sub in _fields(node):
            self.value(sub, f"_get(obj, _O_{name}_{n})", 1)
        f.line(1, "return 0")


HEADER = '''\
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=False
"""GENERATED by replayfmt.codegen_native from replayfmt.schema: do not edit by hand.

Regenerate with `python -m replayfmt.codegen_native`; tests/test_native.py fails on drift.
The compiled fast path (see codegen_native): parse_X (as _generated_model's), summary_X and
build_X (as _generated's) with the generated Python's signatures and errors, and
session_memvid_json (memvid JSON text from the bytes).
"""
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_DECREF
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset, memcmp

import sys as _sys

from . import errors as _E
from .errors import ReplayFormatError
from . import _generated

if _sys.byteorder != "little":  # the loads below are native-endian
    raise ImportError("replayfmt._native needs a little-endian machine")

cdef extern from "Python.h":
    PyObject* PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)
    void PyErr_Clear()

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
        int flags
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member


# --- loads -----------------------------------------------------------------------------------

cdef inline uint64_t _u64(const unsigned char* q) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, q, 8)
    return v

cdef inline int64_t _i64(const unsigned char* q) noexcept nogil:
    cdef int64_t v
    memcpy(&v, q, 8)
    return v

cdef inline uint32_t _u32(const unsigned char* q) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, q, 4)
    return v

cdef inline uint16_t _u16(const unsigned char* q) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, q, 2)
    return v

cdef inline uint8_t _u8(const unsigned char* q) noexcept nogil:
    return q[0]


# --- errors (built by errors.py's constructors, as the generated Python's are) -----------------

cdef int _trunc(Py_ssize_t p, Py_ssize_t e, Py_ssize_t size, object path) except -1:
    raise _E.truncated(p, path, size, e - p)

cdef int _ovf(Py_ssize_t p, Py_ssize_t e, uint64_t n, Py_ssize_t m, str what,
              object path) except -1:
    raise _E.overflow(p - 8, path, n, e - p, what, m)

cdef int _utf8_error(const unsigned char* b, Py_ssize_t p, Py_ssize_t n, object path) except -1:
    try:
        (<bytes>PyBytes_FromStringAndSize(<const char*>b + p, n)).decode()
    except UnicodeDecodeError as exc:
        raise _E.invalid_utf8(p + exc.start, path, exc.reason) from exc
    raise AssertionError("UTF-8 check disagrees with the decoder")


# --- values ----------------------------------------------------------------------------------

cdef bytes _ZERO32 = bytes(32)

cdef inline object _hash32(const unsigned char* q, Py_ssize_t n):
    cdef Py_ssize_t j
    for j in range(n):
        if q[j]:
            return PyBytes_FromStringAndSize(<const char*>q, n)
    return _ZERO32  # all-zero hashes (no input, no output) share one object

cdef inline object _bytes(const unsigned char* q, Py_ssize_t n):
    return PyBytes_FromStringAndSize(<const char*>q, n)

cdef inline object _str(const unsigned char* b, Py_ssize_t p, Py_ssize_t n, object path):
    cdef PyObject* r = PyUnicode_DecodeUTF8(<const char*>b + p, n, NULL)
    if r == NULL:
        PyErr_Clear()
        _utf8_error(b, p, n, path)
    s = <object>r
    Py_DECREF(s)
    return s

cdef object _UUID = None

cdef object _uuid(const unsigned char* q):
    global _UUID
    if _UUID is None:
        from uuid import UUID
        _UUID = UUID
    return _UUID(bytes=PyBytes_FromStringAndSize(<const char*>q, 16))

cdef inline object _u64_list(const unsigned char* q, Py_ssize_t n):
    cdef Py_ssize_t j
    cdef object v
    out = PyList_New(n)
    for j in range(n):
        v = _u64(q + 8 * j)
        Py_INCREF(v)
        PyList_SET_ITEM(out, j, v)
    return out


cdef uint64_t _ONES8 = 0x0101010101010101  # one in each byte of a word
cdef uint64_t _HIGH8 = _ONES8 * 0x80  # the high bit of each byte


cdef int _utf8_ok(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """1 when s[:n] is strict UTF-8 (what bytes.decode() accepts), else 0. ASCII is skipped
    eight bytes at a time."""
    cdef Py_ssize_t j = 0
    cdef unsigned char c, c1
    cdef uint64_t w
    while j < n:
        if j + 8 <= n:
            memcpy(&w, s + j, 8)
            if (w & _HIGH8) == 0:
                j += 8
                continue
        c = s[j]
        if c < 0x80:
            j += 1
            continue
        if c < 0xC2:
            return 0
        if c < 0xE0:
            if j + 1 >= n or (s[j + 1] & 0xC0) != 0x80:
                return 0
            j += 2
            continue
        if c < 0xF0:
            if j + 2 >= n:
                return 0
            c1 = s[j + 1]
            if (c1 & 0xC0) != 0x80 or (s[j + 2] & 0xC0) != 0x80:
                return 0
            if c == 0xE0 and c1 < 0xA0:
                return 0
            if c == 0xED and c1 >= 0xA0:
                return 0
            j += 3
            continue
        if c < 0xF5:
            if j + 3 >= n:
                return 0
            c1 = s[j + 1]
            if ((c1 & 0xC0) != 0x80 or (s[j + 2] & 0xC0) != 0x80
                    or (s[j + 3] & 0xC0) != 0x80):
                return 0
            if c == 0xF0 and c1 < 0x90:
                return 0
            if c == 0xF4 and c1 >= 0x90:
                return 0
            j += 4
            continue
        return 0
    return 1

cdef inline int _check_utf8(const unsigned char* b, Py_ssize_t p, Py_ssize_t n,
                            object path) except -1:
    if not _utf8_ok(b + p, n):
        _utf8_error(b, p, n, path)
    return 0


# --- model objects, built at C level ---------------------------------------------------------

cdef extern from *:
    """
    static PyObject* rf_alloc(PyObject* t) {
        return ((PyTypeObject*)t)->tp_alloc((PyTypeObject*)t, 0);
    }
    """
    PyObject* rf_alloc(PyObject* t)

cdef inline object _new(PyObject* t):
    cdef PyObject* r = rf_alloc(t)
    if r == NULL:
        raise MemoryError()
    obj = <object>r
    Py_DECREF(obj)
    return obj

cdef inline void _set(object obj, Py_ssize_t offset, object value) noexcept:
    Py_INCREF(value)
    (<PyObject**>((<char*><PyObject*>obj) + offset))[0] = <PyObject*>value

cdef Py_ssize_t _slot(type cls, str name) except -1:
    """The offset of slot `name` in instances of `cls` (an attrs slotted class)."""
    descr = cls.__dict__[name]
    if type(descr).__name__ != "member_descriptor":
        raise TypeError(f"{cls.__name__}.{name} is not a slot")
    cdef PyMemberDef* m = (<PyMemberDescrObject*><PyObject*>descr).d_member
    if m.type != 16 or m.flags & 1:  # T_OBJECT_EX, writable
        raise TypeError(f"{cls.__name__}.{name} is not a plain object slot")
    return m.offset


# --- JSON text (serde_json's pretty layout, as orjson OPT_INDENT_2 renders it) -----------------

cdef enum:
    CHUNK = 1 << 20

cdef class _Out:
    """A growing text buffer; full chunks become bytes pieces in `parts`."""
    cdef char* buf
    cdef Py_ssize_t n, cap
    cdef list parts

    def __cinit__(self):
        self.cap = CHUNK + 65536
        self.buf = <char*>malloc(self.cap)
        if self.buf == NULL:
            raise MemoryError()
        self.n = 0
        self.parts = []

    def __dealloc__(self):
        free(self.buf)


cdef int _grow(_Out o, Py_ssize_t k) except -1:
    cdef Py_ssize_t cap = o.cap
    while cap < o.n + k:
        cap *= 2
    cdef char* nb = <char*>realloc(o.buf, cap)
    if nb == NULL:
        raise MemoryError()
    o.buf = nb
    o.cap = cap
    return 0

cdef inline int _reserve(_Out o, Py_ssize_t k) except -1:
    if o.n + k > o.cap:
        _grow(o, k)
    return 0

cdef inline int _w(_Out o, bytes s) except -1:
    cdef Py_ssize_t k = len(s)
    _reserve(o, k)
    memcpy(o.buf + o.n, <const char*>s, k)
    o.n += k
    return 0

cdef inline int _nl(_Out o, int ind) except -1:
    _reserve(o, 1 + 2 * ind)
    o.buf[o.n] = 10
    memset(o.buf + o.n + 1, 32, 2 * ind)
    o.n += 1 + 2 * ind
    return 0

cdef int _flush(_Out o) except -1:
    if o.n >= CHUNK:
        o.parts.append(PyBytes_FromStringAndSize(o.buf, o.n))
        o.n = 0
    return 0

cdef int _t_uint(_Out o, uint64_t v) except -1:
    cdef char tmp[24]
    cdef int k = 24
    if v == 0:
        k -= 1
        tmp[k] = 48
    while v:
        k -= 1
        tmp[k] = <char>(48 + v % 10)
        v //= 10
    _reserve(o, 24 - k)
    memcpy(o.buf + o.n, tmp + k, 24 - k)
    o.n += 24 - k
    return 0

cdef inline int _t_int(_Out o, int64_t v) except -1:
    if v < 0:
        _reserve(o, 1)
        o.buf[o.n] = 45
        o.n += 1
        return _t_uint(o, <uint64_t>0 - <uint64_t>v)
    return _t_uint(o, <uint64_t>v)

cdef int _t_u64_list(_Out o, const unsigned char* q, Py_ssize_t n, int ind) except -1:
    cdef Py_ssize_t j
    if n == 0:
        return _w(o, b"[]")
    _w(o, b"[")
    for j in range(n):
        if j:
            _w(o, b",")
        _nl(o, ind + 1)
        _t_uint(o, _u64(q + 8 * j))
    _nl(o, ind)
    return _w(o, b"]")

cdef int _t_bytes(_Out o, const unsigned char* q, Py_ssize_t n, int ind) except -1:
    """[u8; N] as a list of numbers, one per line."""
    cdef Py_ssize_t j
    cdef unsigned char c
    cdef char* w
    _reserve(o, n * (2 * ind + 8) + 2 * ind + 8)
    w = o.buf + o.n
    w[0] = 91
    w += 1
    for j in range(n):
        if j:
            w[0] = 44
            w += 1
        w[0] = 10
        memset(w + 1, 32, 2 * ind + 2)
        w += 2 * ind + 3
        c = q[j]
        if c >= 100:
            w[0] = <char>(48 + c // 100)
            w[1] = <char>(48 + (c // 10) % 10)
            w[2] = <char>(48 + c % 10)
            w += 3
        elif c >= 10:
            w[0] = <char>(48 + c // 10)
            w[1] = <char>(48 + c % 10)
            w += 2
        else:
            w[0] = <char>(48 + c)
            w += 1
    w[0] = 10
    memset(w + 1, 32, 2 * ind)
    w += 2 * ind + 1
    w[0] = 93
    w += 1
    o.n = w - o.buf
    return 0

cdef const char* _HEX = b"0123456789abcdef"

cdef int _t_uuid(_Out o, const unsigned char* q) except -1:
    cdef int j
    cdef char* w
    _reserve(o, 38)
    w = o.buf + o.n
    w[0] = 34
    w += 1
    for j in range(16):
        if j == 4 or j == 6 or j == 8 or j == 10:
            w[0] = 45
            w += 1
        w[0] = _HEX[q[j] >> 4]
        w[1] = _HEX[q[j] & 15]
        w += 2
    w[0] = 34
    o.n = w + 1 - o.buf
    return 0

cdef int _t_escaped(_Out o, const unsigned char* s, Py_ssize_t n) except -1:
    """A JSON string of n bytes of valid UTF-8: only ", \\\\ and controls are escaped."""
    cdef Py_ssize_t j
    cdef unsigned char c
    cdef char* w
    _reserve(o, 6 * n + 2)
    w = o.buf + o.n
    w[0] = 34
    w += 1
    for j in range(n):
        c = s[j]
        if c >= 0x20 and c != 34 and c != 92:
            w[0] = <char>c
            w += 1
        elif c == 34 or c == 92:
            w[0] = 92
            w[1] = <char>c
            w += 2
        elif c == 10:
            w[0] = 92
            w[1] = 110
            w += 2
        elif c == 9:
            w[0] = 92
            w[1] = 116
            w += 2
        elif c == 13:
            w[0] = 92
            w[1] = 114
            w += 2
        elif c == 8:
            w[0] = 92
            w[1] = 98
            w += 2
        elif c == 12:
            w[0] = 92
            w[1] = 102
            w += 2
        else:
            memcpy(w, b"\\\\u00", 4)
            w[4] = _HEX[c >> 4]
            w[5] = _HEX[c & 15]
            w += 6
    w[0] = 34
    o.n = w + 1 - o.buf
    return 0

cdef int _t_str(_Out o, const unsigned char* b, Py_ssize_t p, Py_ssize_t n,
                object path) except -1:
    _check_utf8(b, p, n, path)
    return _t_escaped(o, b + p, n)

cdef int _t_pystr(_Out o, str s) except -1:
    cdef bytes raw = s.encode()
    return _t_escaped(o, <const unsigned char*><const char*>raw, len(raw))


# --- encoding (flavour b): the value as is, or 1 = let the generated Python encoder decide ------

cdef extern from "Python.h":
    unsigned long long PyLong_AsUnsignedLongLong(PyObject* v)
    long long PyLong_AsLongLong(PyObject* v)
    PyObject* PyErr_Occurred()
    int PyByteArray_Resize(object ba, Py_ssize_t size) except -1
    char* PyByteArray_AS_STRING(object ba)
    bint PyUnicode_IS_COMPACT_ASCII(object s)
    void* PyUnicode_DATA(object s)
    Py_ssize_t PyUnicode_GET_LENGTH(object s)

cdef object _UNSET = object()  # an unset slot: never a valid value

cdef inline object _get(object obj, Py_ssize_t offset):
    cdef PyObject* v = (<PyObject**>((<char*><PyObject*>obj) + offset))[0]
    if v == NULL:
        return _UNSET
    return <object>v

cdef inline int _b_raw(_Out o, const void* q, Py_ssize_t n) except -1:
    _reserve(o, n)
    memcpy(o.buf + o.n, q, n)
    o.n += n
    return 0

cdef inline int _b_byte(_Out o, uint8_t v) except -1:
    return _b_raw(o, &v, 1)

cdef inline int _b_len(_Out o, uint64_t v) except -1:
    return _b_raw(o, &v, 8)

cdef inline int _b_u32_raw(_Out o, uint32_t v) except -1:
    return _b_raw(o, &v, 4)

cdef inline int _b_u64(_Out o, object v) except -1:
    cdef unsigned long long x
    if type(v) is not int:
        return 1
    x = PyLong_AsUnsignedLongLong(<PyObject*>v)
    if x == <unsigned long long>-1 and PyErr_Occurred() != NULL:
        PyErr_Clear()
        return 1
    return _b_raw(o, &x, 8)

cdef inline int _b_i64(_Out o, object v) except -1:
    cdef long long x
    if type(v) is not int:
        return 1
    x = PyLong_AsLongLong(<PyObject*>v)
    if x == -1 and PyErr_Occurred() != NULL:
        PyErr_Clear()
        return 1
    return _b_raw(o, &x, 8)

cdef inline int _b_u32(_Out o, object v) except -1:
    cdef unsigned long long x
    cdef uint32_t y
    if type(v) is not int:
        return 1
    x = PyLong_AsUnsignedLongLong(<PyObject*>v)
    if x == <unsigned long long>-1 and PyErr_Occurred() != NULL:
        PyErr_Clear()
        return 1
    if x > 0xFFFFFFFF:
        return 1
    y = <uint32_t>x
    return _b_raw(o, &y, 4)

cdef inline int _b_u8(_Out o, object v) except -1:
    cdef unsigned long long x
    if type(v) is not int:
        return 1
    x = PyLong_AsUnsignedLongLong(<PyObject*>v)
    if x == <unsigned long long>-1 and PyErr_Occurred() != NULL:
        PyErr_Clear()
        return 1
    if x > 0xFF:
        return 1
    return _b_byte(o, <uint8_t>x)

cdef inline int _b_fixed(_Out o, object v, Py_ssize_t n) except -1:
    if type(v) is not bytes or len(<bytes>v) != n:
        return 1
    return _b_raw(o, <const char*><bytes>v, n)

cdef int _b_str(_Out o, object v) except -1:
    cdef Py_ssize_t n
    if type(v) is not str:
        return 1
    if PyUnicode_IS_COMPACT_ASCII(v):
        n = PyUnicode_GET_LENGTH(v)
        _b_len(o, n)
        return _b_raw(o, PyUnicode_DATA(v), n)
    try:
        raw = (<str>v).encode()
    except UnicodeEncodeError:
        return 1
    _b_len(o, len(<bytes>raw))
    return _b_raw(o, <const char*><bytes>raw, len(<bytes>raw))

cdef int _b_uuid(_Out o, object v) except -1:
    try:
        raw = v.bytes
    except AttributeError:
        return 1
    if type(raw) is not bytes or len(<bytes>raw) != 16:
        return 1
    _b_len(o, 16)
    return _b_raw(o, <const char*><bytes>raw, 16)


# --- buffers ---------------------------------------------------------------------------------

cdef class _View:
    """The bytes of a bytes, bytearray, memoryview or mmap, pinned while decoding."""
    cdef Py_buffer view
    cdef bint held

    def __cinit__(self, obj):
        PyObject_GetBuffer(obj, &self.view, PyBUF_SIMPLE)
        self.held = True

    def __dealloc__(self):
        if self.held:
            PyBuffer_Release(&self.view)

    cdef inline const unsigned char* ptr(self):
        return <const unsigned char*>self.view.buf


cdef int _bounds(_View v, Py_ssize_t p, Py_ssize_t e) except -1:
    if p < 0 or e < p or e > v.view.len:
        raise ValueError(f"bad range [{p}, {e}) for a buffer of {v.view.len} bytes")
    return 0
'''


def _model_init(models: dict[str, list[str]]) -> list[str]:
    out = ["", "", "# --- model classes (imported on first use: listing never imports attrs) "
           + "-" * 20, ""]
    for cls, names in sorted(models.items()):
        out.append(f"cdef object _C_{cls} = None")
        for n in names:
            out.append(f"cdef Py_ssize_t _O_{cls}_{n}")
    out += ["cdef bint _model_ready = False", "", "",
            "cdef int _model() except -1:",
            "    global _model_ready"]
    for cls, names in sorted(models.items()):
        out.append(f"    global _C_{cls}, " + ", ".join(f"_O_{cls}_{n}" for n in names))
    out.append("    from . import model as M")
    for cls, names in sorted(models.items()):
        out.append(f"    _C_{cls} = M.{cls}")
        for n in names:
            out.append(f"    _O_{cls}_{n} = _slot(M.{cls}, {n!r})")
    out += ["    _model_ready = True", "    return 0"]
    return out


_SIGS = {
    "m": "cdef object m_{0}(const unsigned char* b, Py_ssize_t* pp, Py_ssize_t e):",
    "d": "cdef object d_{0}(const unsigned char* b, Py_ssize_t* pp, Py_ssize_t e):",
    "s": "cdef object s_{0}(const unsigned char* b, Py_ssize_t* pp, Py_ssize_t e):",
    "k": "cdef int k_{0}(const unsigned char* b, Py_ssize_t* pp, Py_ssize_t e) except -1:",
    "t": ("cdef int t_{0}(const unsigned char* b, Py_ssize_t* pp, Py_ssize_t e, _Out o, "
          "int ind) except -1:"),
}

_ENTRY_DOC = {"m": "Parse one {0} from b[p:e]; returns (value, next offset).",
              "s": "Summarise one {0} in b[p:e] (record lists counted, not built); returns "
                   "(dict, next offset)."}

_TAIL = '''

def utf8_ok(data):
    """True when `data` is strict UTF-8 by the compiled check (tested against bytes.decode)."""
    cdef _View v = _View(data)
    return _utf8_ok(v.ptr(), v.view.len) == 1


def session_memvid_json(buf, Py_ssize_t start, Py_ssize_t stop, str path="", int depth=0):
    """stream.session_memvid_json, compiled: the session in buf[start:stop] as memvid prints it
    (`session view --format json`), as bytes pieces to write in order; errors are those of
    json_ReplaySession, and nothing is returned for a damaged session."""
    cdef _View v = _View(buf)
    _bounds(v, start, stop)
    cdef _Out o = _Out()
    cdef Py_ssize_t p = start
    try:
        t_ReplaySession(v.ptr(), &p, stop, o, depth)
    except ReplayFormatError as err:
        raise (err.prefix(path) if path else err) from None
    from .framing import exact

    exact(p, stop, path, "session")
    if o.n:
        o.parts.append(PyBytes_FromStringAndSize(o.buf, o.n))
    return o.parts
'''


# --- the .mv2 TOC (decoders only; as _generated_toc's parse_toc_<layout>) --------------------

_TOC_SUPPORT = '''

# --- the .mv2 TOC ----------------------------------------------------------------------------

from cpython.dict cimport PyDict_SetItem

cdef object _TocRec = None
cdef object _TocNaN = None
cdef object _TocNew = dict.__new__


cdef int _toc_ready() except -1:
    global _TocRec, _TocNaN
    from ._generated_toc import NaN, Rec
    _TocRec, _TocNaN = Rec, NaN
    return 0


cdef inline object _toc_rec():
    """An empty Rec, filled field by field (no dict built and copied)."""
    return _TocNew(_TocRec)


cdef int _toc_utf8_error(const unsigned char* b, Py_ssize_t p, Py_ssize_t n,
                         object path) except -1:
    try:
        (<bytes>PyBytes_FromStringAndSize(<const char*>b + p, n)).decode()
    except UnicodeDecodeError as exc:
        raise _E.invalid_utf8(p + exc.start, path, exc.reason, index=exc.start) from None
    raise AssertionError("UTF-8 check disagrees with the decoder")


cdef inline object _toc_str(const unsigned char* b, Py_ssize_t p, Py_ssize_t n, object path):
    cdef PyObject* r = PyUnicode_DecodeUTF8(<const char*>b + p, n, NULL)
    if r == NULL:
        PyErr_Clear()
        _toc_utf8_error(b, p, n, path)
    s = <object>r
    Py_DECREF(s)
    return s


cdef object _toc_f32(const unsigned char* q):
    cdef float f
    memcpy(&f, q, 4)
    cdef double d = f
    if d != d:
        x = _TocNaN(d)
        x.raw = PyBytes_FromStringAndSize(<const char*>q, 4)
        return x
    return d


cdef object _toc_f64(const unsigned char* q):
    cdef double d
    memcpy(&d, q, 8)
    if d != d:
        x = _TocNaN(d)
        x.raw = PyBytes_FromStringAndSize(<const char*>q, 8)
        return x
    return d
'''


def _toc_struct_names() -> dict[int, str]:
    names = {id(obj): name for name, obj in vars(schema).items()
             if isinstance(obj, Struct) and not name.startswith("_")}
    for lname, node in schema.TOC_LAYOUTS.items():
        names[id(node)] = f"toc_{lname}"
    return names


class _TocEmitter:
    """Emits one C function per container Struct, `c_NAME(b, pp, e)` -> Rec, with the checks
    of `_generated_toc`'s parse_NAME in the same order (each field checked on its own, which is
    what its fused reads report), so values and errors are the same."""

    def __init__(self) -> None:
        self.names = _toc_struct_names()
        self.done: set[str] = set()
        self.todo: list[tuple[str, object]] = []
        self.enums: dict[tuple[str, ...], str] = {}
        self.body: list[str] = []

    def name(self, node0: Any, hint: str) -> str:
        node = node0 if id(node0) in self.names else _unwrap(node0)
        name = self.names.get(id(node))
        if name is None:
            name = self.names[id(node)] = hint
        if name not in self.done:
            self.done.add(name)
            self.todo.append((name, node))
        return name

    def emit(self, name: str, node: Any) -> None:
        self.name(node, name)
        while self.todo:
            n, s = self.todo.pop(0)
            self.record(n, s, s is node)

    def record(self, name: str, node: Any, top: bool) -> None:
        ret = "tuple" if top else "object"
        fn = _Fn(f"cdef {ret} c_{name}(const unsigned char* b, Py_ssize_t* pp, Py_ssize_t e):")
        fn.line(1, "cdef Py_ssize_t p = pp[0]")
        parts, starts = [], []
        for fname, sub in _fields(node):
            if top:
                s = fn.var("at", "Py_ssize_t")
                fn.line(1, f"{s} = p")
                starts.append(s)
            v = self.value(fn, sub, repr(fname), 1, f"{name}_{fname}")
            parts.append(f"{fname!r}: {v}")
        fn.line(1, "pp[0] = p")
        r = fn.var("rec")
        fn.line(1, f"{r} = _toc_rec()")
        for part in parts:
            key, val = part.split(": ", 1)
            fn.line(1, f"PyDict_SetItem({r}, {key}, {val})")
        if top:
            fn.line(1, f"return {r}, ({', '.join(starts)},)")
        else:
            fn.line(1, f"return {r}")
        self.body += fn.render()

    def need(self, fn: _Fn, ind: int, size: int, path: str) -> None:
        fn.line(ind, f"if e - p < {size}:")
        fn.line(ind + 1, f"_trunc(p, e, {size}, {path})")

    def length(self, fn: _Fn, path: str, ind: int) -> str:
        self.need(fn, ind, 8, path)
        n = fn.var("n", "uint64_t")
        fn.line(ind, f"{n} = _u64(b + p)")
        fn.line(ind, "p += 8")
        return n

    def value(self, fn: _Fn, node0: Any, path: str, ind: int, hint: str) -> str:
        node = _unwrap(node0)
        if isinstance(node, FormatField):
            fmt = node.fmtstr[1:]
            size = struct.calcsize("<" + fmt)
            self.need(fn, ind, size, path)
            if fmt in ("f", "d"):
                v = fn.var("f")
                fn.line(ind, f"{v} = _toc_{'f32' if fmt == 'f' else 'f64'}(b + p)")
            else:
                ctype, load = _CTYPES[fmt]
                v = fn.var("v", ctype)
                fn.line(ind, f"{v} = {load}(b + p)")
            fn.line(ind, f"p += {size}")
            return v
        if isinstance(node, Bytes) and isinstance(node.length, int):
            size_b: int = node.length
            self.need(fn, ind, size_b, path)
            v = fn.var("h")
            fn.line(ind, f"{v} = {'_hash32' if size_b == 32 else '_bytes'}(b + p, {size_b})")
            fn.line(ind, f"p += {size_b}")
            return v
        if isinstance(node, Struct):
            sub = self.name(node0, hint)
            r = fn.var("r")
            fn.line(ind, "try:")
            fn.line(ind + 1, f"{r} = c_{sub}(b, &p, e)")
            fn.line(ind, "except ReplayFormatError as err:")
            fn.line(ind + 1, f"raise err.prefix({path}) from None")
            return r
        if isinstance(node, String):
            n = self.length(fn, path, ind)
            fn.line(ind, f"if {n} > <uint64_t>(e - p):")
            fn.line(ind + 1, f"_ovf(p, e, {n}, 1, 'string length', {path})")
            s = fn.var("s")
            fn.line(ind, f"{s} = _toc_str(b, p, <Py_ssize_t>{n}, {path})")
            fn.line(ind, f"p += <Py_ssize_t>{n}")
            return s
        if isinstance(node, (Option, Bool)):
            self.need(fn, ind, 1, path)
            t = fn.var("t", "uint8_t")
            fn.line(ind, f"{t} = b[p]")
            fn.line(ind, "p += 1")
            if isinstance(node, Bool):
                fn.line(ind, f"if {t} > 1:")
                fn.line(ind + 1, f"raise _E.invalid_bool(p - 1, {path}, {t})")
                return f"({t} == 1)"
            o = fn.var("o")
            fn.line(ind, f"if {t} == 0:")
            fn.line(ind + 1, f"{o} = None")
            fn.line(ind, f"elif {t} == 1:")
            inner = self.value(fn, node.subcon, path, ind + 1, hint)
            fn.line(ind + 1, f"{o} = {inner}")
            fn.line(ind, "else:")
            fn.line(ind + 1, f"raise _E.invalid_tag(p - 1, {path}, {t})")
            return o
        if isinstance(node, Vec):
            n = self.length(fn, path, ind)
            m = schema.min_size(node.subcon)
            fn.line(ind, f"if {n} > <uint64_t>((e - p) // {m}):")
            fn.line(ind + 1, f"_ovf(p, e, {n}, {m}, 'element count', {path})")
            lst, i = fn.var("l"), fn.var("i", "Py_ssize_t")
            fn.line(ind, f"{lst} = []")
            fn.line(ind, f"for {i} in range(<Py_ssize_t>{n}):")
            x = self.value(fn, node.subcon, f"{path} + '[%d]' % {i}", ind + 1, f"{hint}_item")
            fn.line(ind + 1, f"{lst}.append({x})")
            return lst
        if isinstance(node, Map):
            n = self.length(fn, path, ind)
            m = schema.min_size(node.key) + schema.min_size(node.value)
            fn.line(ind, f"if {n} > <uint64_t>((e - p) // {m}):")
            fn.line(ind + 1, f"_ovf(p, e, {n}, {m}, 'entry count', {path})")
            d, i, kp = fn.var("d"), fn.var("i", "Py_ssize_t"), fn.var("kp", "Py_ssize_t")
            fn.line(ind, f"{d} = {{}}")
            fn.line(ind, f"for {i} in range(<Py_ssize_t>{n}):")
            fn.line(ind + 1, f"{kp} = p")
            kpath = f"{path} + '[%d].key' % {i}"
            k = self.value(fn, node.key, kpath, ind + 1, f"{hint}_key")
            x = self.value(fn, node.value, f"{path} + '[%d].value' % {i}", ind + 1,
                           f"{hint}_value")
            fn.line(ind + 1, f"if {k} in {d}:")
            fn.line(ind + 2, f"raise _E.duplicate_key({kp}, {kpath}, {k})")
            fn.line(ind + 1, f"{d}[{k}] = {x}")
            return d
        if isinstance(node, Enum):
            names = tuple(vn for vn, _ in node.variants)
            if names not in self.enums:
                self.enums[names] = f"_TENUM{len(self.enums)}"
            self.need(fn, ind, 4, path)
            k = fn.var("k", "uint32_t")
            fn.line(ind, f"{k} = _u32(b + p)")
            fn.line(ind, "p += 4")
            fn.line(ind, f"if {k} >= {len(names)}:")
            fn.line(ind + 1, f"raise _E.unknown_variant(p - 4, {path}, {k}, {len(names)})")
            return f"{self.enums[names]}[{k}]"
        if isinstance(node, Uuid):
            n = self.length(fn, path, ind)
            fn.line(ind, f"if {n} != 16:")
            fn.line(ind + 1, f"raise _E.bad_uuid_length(p - 8, {path}, {n})")
            self.need(fn, ind, 16, path)
            u = fn.var("u")
            fn.line(ind, f"{u} = _uuid(b + p)")
            fn.line(ind, "p += 16")
            return u
        raise TypeError(f"codegen_native does not know {type(node).__name__} in the TOC")


def _toc_source() -> str:
    """The TOC decoders: support code, one C function per Struct, one entry per layout."""
    em = _TocEmitter()
    for lname, node in schema.TOC_LAYOUTS.items():
        em.emit(f"toc_{lname}", node)
    out = [_TOC_SUPPORT]
    for names, cname in em.enums.items():
        out.append(f"cdef tuple {cname} = {names!r}")
    out += em.body
    for lname in schema.TOC_LAYOUTS:
        out += ["", "", f"def parse_toc_{lname}(buf, Py_ssize_t p, Py_ssize_t e):",
                f'    """Parse one toc_{lname} from b[p:e]; returns (value, next offset, '
                'start offset of\n    each top-level field), as _generated_toc\'s."""',
                "    if _TocRec is None:",
                "        _toc_ready()",
                "    cdef _View v = _View(buf)",
                "    _bounds(v, p, e)",
                f"    value, starts = c_toc_{lname}(v.ptr(), &p, e)",
                "    return value, p, starts"]
    return "\n".join(out) + "\n"


# --- vet: a clean session block screened in C (validate's per-session rules) ---------------

#: Per record the vet decodes: static field path -> member of its C struct (V_X for a list
#: element, VCtx for the session) that receives the value (a String: its offset and byte length
#: as NAME_p, NAME_n; a fixed Bytes field: its offset; a Vec: its count; a record: its byte
#: range NAME_p..NAME_e; "PATH?": an Option's tag). Only the fields validate's rules read.
VET_CAPTURE: dict[str, dict[str, str]] = {
    "Checkpoint": {"id": "id", "at_sequence": "at_sequence", "timestamp_secs": "ts",
                   "state_hash": "state_hash", "snapshot": "snap"},
    "ReplayAction": {"sequence": "seq", "timestamp_secs": "ts", "input_hash": "in_hash",
                     "output_hash": "out_hash", "input_preview": "in_prev",
                     "output_preview": "out_prev", "affected_frames": "n_frames",
                     "action_type.PutMany.frame_ids": "pm_ids",
                     "action_type.PutMany.count": "pm_count",
                     "action_type.Find.query": "query", "action_type.Ask.query": "query",
                     "action_type.Find.result_count": "find_count",
                     "action_type.Checkpoint.checkpoint_id": "cp_id"},
    "ReplaySession": {"created_secs": "created", "ended_secs": "ended",
                      "ended_secs?": "has_ended", "checkpoints": "ncheck", "actions": "nact",
                      "version": "version"},
}
#: The list elements the vet checks one by one (a V_X struct and a chk_X each).
VET_ELEMENTS = ("Checkpoint", "ReplayAction")


def _node_at(record: str, path: str) -> Any:
    """The schema node at a static field path of `record` ("action_type.Find.query")."""
    node: Any = schema.RECORDS[record]
    for part in path.split("."):
        inner = _unwrap(node)
        if isinstance(inner, Enum):
            node = dict(inner.variants)[part]
        else:
            node = dict(_fields(inner))[part]
    return node


def _vet_members(record: str) -> list[tuple[str, str]]:
    """(C type, member) of the struct the vet of `record` fills."""
    members: dict[str, str] = {}
    for path, name in VET_CAPTURE[record].items():
        if path.endswith("?"):
            members[name] = "uint8_t"
            continue
        node0 = _node_at(record, path)
        node = _unwrap(node0)
        if isinstance(node, Option):
            node0 = node.subcon
            node = _unwrap(node0)
        if _record(node0) is not None:
            members[f"{name}_p"] = members[f"{name}_e"] = "Py_ssize_t"
        elif isinstance(node, FormatField):
            members[name] = _CTYPES[node.fmtstr[1:]][0]
        elif isinstance(node, String):
            members[f"{name}_p"] = members[f"{name}_n"] = "Py_ssize_t"
        elif isinstance(node, (Bytes, Vec)):
            members[name] = "Py_ssize_t"
        else:
            raise TypeError(f"vet cannot capture {type(node).__name__} at {record}.{path}")
    return [(ctype, name) for name, ctype in members.items()]


def _snapshot_standard() -> list[str]:
    """_snap_std(b, p, o): the StateSnapshot at b[p:] (already checked) re-encoded in
    bincode's standard configuration (schema.StateSnapshotStandard), field by field."""
    out = ["", "", "cdef int _snap_std(const unsigned char* b, Py_ssize_t p, _Out o) except -1:",
           '    """StateSnapshotStandard of the (checked) StateSnapshot at b[p:], into o."""',
           "    cdef uint64_t n, j"]
    pairs = zip(_fields(schema.StateSnapshot), _fields(schema.StateSnapshotStandard),
                strict=True)
    for (fname, fixed0), (sname, std0) in pairs:
        if fname != sname:
            raise TypeError(f"StateSnapshotStandard field {sname} is not {fname}")
        fixed, std = _unwrap(fixed0), _unwrap(std0)
        if isinstance(std, schema.VarUint) and isinstance(fixed, FormatField):
            out += [f"    _varint(o, _u64(b + p))  # {fname}", "    p += 8"]
        elif isinstance(std, schema.VarVec) and isinstance(fixed, Vec):
            out += [f"    n = _u64(b + p)  # {fname}", "    p += 8", "    _varint(o, n)",
                    "    for j in range(n):", "        _varint(o, _u64(b + p))",
                    "        p += 8"]
        elif (isinstance(std, Option) and isinstance(fixed, Option)
              and isinstance(_unwrap(std.subcon), Bytes)):
            k = _unwrap(std.subcon).length
            out += [f"    if b[p]:  # {fname}", f"        _b_raw(o, b + p, {1 + k})",
                    f"        p += {1 + k}", "    else:", "        _b_raw(o, b + p, 1)",
                    "        p += 1"]
        else:
            raise TypeError(f"no standard re-encoding of {fname}")
    out.append("    return 0")
    return out


#: BLAKE3's IV (SHA-256's) and message word permutation (the BLAKE3 specification, 2.2 and 2.4).
B3_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB,
         0x5BE0CD19)
B3_PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)


#: The columns then the diagonals of BLAKE3's state: the four words each G mixes.
B3_G = ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
        (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14))


def _blake3_constants() -> list[str]:
    """_b3_iv(w): the eight IV words into w; _b3_compress: the compression function with
    its seven rounds unrolled over sixteen local state words (the message schedule worked out
    here from the permutation, so no words move at run time)."""
    out = ["", "cdef inline void _b3_iv(uint32_t* w) noexcept nogil:"]
    out += [f"    w[{i}] = 0x{word:08X}" for i, word in enumerate(B3_IV)]
    out += ["", "", "cdef inline uint32_t _rotr(uint32_t x, int k) noexcept nogil:",
            "    return (x >> k) | (x << (32 - k))", "", "",
            "cdef void _b3_compress(uint32_t* cv, const unsigned char* block, "
            "uint32_t block_len,",
            "                       uint32_t flags) noexcept nogil:",
            '    """BLAKE3\'s compression function (counter 0): cv <- the first 8 words of its '
            'output."""',
            "    cdef uint32_t m[16]",
            "    memcpy(m, block, 64)  # little-endian words (the module needs a little-endian "
            "machine)"]
    init = [f"cv[{i}]" for i in range(8)] + [f"0x{w:08X}" for w in B3_IV[:4]]
    init += ["0", "0", "block_len", "flags"]
    out += [f"    cdef uint32_t s{i} = {v}" for i, v in enumerate(init)]
    schedule = list(range(16))
    for r in range(7):
        out.append(f"    # round {r}")
        for k, (a, b, c, d) in enumerate(B3_G):
            mx, my = schedule[2 * k], schedule[2 * k + 1]
            out += [f"    s{a} = s{a} + s{b} + m[{mx}]", f"    s{d} = _rotr(s{d} ^ s{a}, 16)",
                    f"    s{c} = s{c} + s{d}", f"    s{b} = _rotr(s{b} ^ s{c}, 12)",
                    f"    s{a} = s{a} + s{b} + m[{my}]", f"    s{d} = _rotr(s{d} ^ s{a}, 8)",
                    f"    s{c} = s{c} + s{d}", f"    s{b} = _rotr(s{b} ^ s{c}, 7)"]
        schedule = [schedule[j] for j in B3_PERMUTATION]
    out += [f"    cv[{i}] = s{i} ^ s{i + 8}" for i in range(8)]
    out.append("")
    return out


def _vet_source() -> list[str]:
    """Structs, rules (chk_X) and helpers of the vet; v_X and vs_ReplaySession come from the
    emitter."""
    import blake3

    variants = [v for v, _ in _unwrap(_node_at("ReplayAction", "action_type")).variants]
    out = ["", "", "# --- vet: validate's per-session rules on a clean block " + "-" * 36, ""]
    for record in (*VET_ELEMENTS, "ReplaySession"):
        sname = "VCtx" if record == "ReplaySession" else f"V_{record}"
        out.append(f"cdef struct {sname}:")
        for ctype, name in _vet_members(record):
            out.append(f"    {ctype} {name}")
        if record == "ReplaySession":
            out += ["    uint64_t max_at  # largest checkpoint at_sequence",
                    "    uint64_t last_at  # the last checkpoint's at_sequence (RF402)",
                    "    bint has_at", "    PyObject* hasher  # blake3 hasher, reset per use",
                    "    PyObject* snap  # _Out: a snapshot's standard encoding"]
        out.append("")
    out.append("cdef enum:")
    for name in ("Find", "Ask", "PutMany", "Checkpoint"):
        out.append(f"    VAR_{name.upper()} = {variants.index(name)}")
    out += ["", f"cdef bytes _EMPTY32 = {blake3.blake3(b'').digest()!r}",
            "cdef bytes _ONES32 = b'\\xff' * 32", "cdef object _Blake3 = None"]
    out += _blake3_constants()
    out.append(_VET_SUPPORT)
    out += _snapshot_standard()
    return out


_VET_SUPPORT = '''
cdef inline bint _no_bytes(const unsigned char* h) noexcept:
    """hashes._NO_BYTES: the all-zero hash or BLAKE3 of nothing."""
    return (memcmp(h, <const char*>_ZERO32, 32) == 0
            or memcmp(h, <const char*>_EMPTY32, 32) == 0)


cdef bint _controls(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """validate._CONTROL in UTF-8 text: U+0000..U+0008, U+000B..U+001F, U+007F..U+009F.

    Eight bytes at a time while none of them can matter: a word is skipped when no byte has
    its high bit set, is below 0x20 or is 0x7F (the word tests are exact for bytes below
    0x80: a borrow only starts at a byte that is itself below the bound); any other word is
    looked at byte by byte."""
    cdef Py_ssize_t j = 0, stop
    cdef unsigned char ch
    cdef uint64_t w, v
    while j < n:
        stop = n
        if j + 8 <= n:
            memcpy(&w, s + j, 8)
            v = w ^ (_ONES8 * 0x7F)
            if ((w | ((w - _ONES8 * 0x20) & ~w) | ((v - _ONES8) & ~v)) & _HIGH8) == 0:
                j += 8
                continue
            stop = j + 8
        while j < stop:
            ch = s[j]
            if ch < 0x20:
                if ch != 9 and ch != 10:
                    return 1
            elif ch == 0x7f:
                return 1
            elif ch == 0xc2 and j + 1 < n and s[j + 1] < 0xa0:  # U+0080..U+009F
                return 1
            j += 1
    return 0


cdef bint _over_512_chars(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """More than validate.PREVIEW_MAX_CHARS characters in the UTF-8 text s[:n]."""
    cdef Py_ssize_t j, k = 0
    if n <= 512:
        return 0
    for j in range(n):
        if (s[j] & 0xc0) != 0x80:
            k += 1
    return k > 512


cdef void _b3_one_chunk(const unsigned char* data, Py_ssize_t n,
                        unsigned char* out) noexcept nogil:
    """BLAKE3 of data[:n] for n <= 1024 (one chunk, so the chunk is the root) into out[:32]."""
    cdef uint32_t cv[8]
    cdef unsigned char block[64]
    cdef Py_ssize_t off = 0, take
    cdef uint32_t flags
    _b3_iv(cv)
    while True:
        take = n - off
        if take > 64:
            take = 64
        memset(block, 0, 64)
        memcpy(block, data + off, take)
        flags = 1 if off == 0 else 0  # CHUNK_START
        if off + take >= n:
            flags |= 2 | 8  # CHUNK_END | ROOT
        _b3_compress(cv, block, <uint32_t>take, flags)
        off += take
        if off >= n:
            break
    memcpy(out, cv, 32)


cdef int _blake3_is(VCtx* c, const char* s, Py_ssize_t n, const unsigned char* want) except -1:
    """BLAKE3(s[:n]) == want[:32]: in C up to one chunk (1,024 bytes: queries, snapshots),
    through the session's reused blake3 hasher beyond."""
    cdef unsigned char d32[32]
    if n <= 1024:
        _b3_one_chunk(<const unsigned char*>s, n, d32)
        return memcmp(d32, want, 32) == 0
    h = <object>c.hasher
    h.reset()
    h.update(PyBytes_FromStringAndSize(s, n))
    cdef bytes d = h.digest()
    return memcmp(<const char*>d, want, 32) == 0


cdef int _varint(_Out o, uint64_t x) except -1:
    """bincode standard varint: < 251 in one byte, else 251/252/253 + u16/u32/u64 LE."""
    cdef unsigned char t[9]
    cdef uint16_t x16
    cdef uint32_t x32
    if x < 251:
        t[0] = <unsigned char>x
        return _b_raw(o, t, 1)
    if x < 65536:
        t[0] = 251
        x16 = <uint16_t>x
        memcpy(t + 1, &x16, 2)
        return _b_raw(o, t, 3)
    if x < 4294967296:
        t[0] = 252
        x32 = <uint32_t>x
        memcpy(t + 1, &x32, 4)
        return _b_raw(o, t, 5)
    t[0] = 253
    memcpy(t + 1, &x, 8)
    return _b_raw(o, t, 9)


cdef inline bint _outside(int64_t ts, VCtx* c) noexcept:
    """RF102: outside [created_secs, ended_secs] (open when the session has not ended)."""
    return ts < c.created or (c.has_ended == 1 and ts > c.ended)


cdef int chk_Checkpoint(const unsigned char* b, V_Checkpoint* r, VCtx* c, Py_ssize_t i,
                        int variant) except -1:
    """1 when a rule of validate._check_session may fire for checkpoint i (RF201, RF102,
    RF204); records the largest at_sequence for RF202 and the last for RF402."""
    cdef _Out o = <_Out>c.snap
    if r.id != <uint64_t>i or _outside(r.ts, c):
        return 1
    c.last_at = r.at_sequence
    if not c.has_at or r.at_sequence > c.max_at:
        c.max_at = r.at_sequence
        c.has_at = 1
    o.n = 0
    _snap_std(b, r.snap_p, o)
    if not _blake3_is(c, o.buf, o.n, b + r.state_hash):
        return 1
    return 0


cdef int chk_ReplayAction(const unsigned char* b, V_ReplayAction* r, VCtx* c, Py_ssize_t i,
                          int variant) except -1:
    """1 when a rule of validate._check_session may fire for action i (RF101, RF102, RF203,
    RF301..RF305) or hashes.mismatches would look further (RF306, RF307)."""
    if r.seq != <uint64_t>i or _outside(r.ts, c):
        return 1
    if (memcmp(b + r.in_hash, <const char*>_ONES32, 32) == 0
            or memcmp(b + r.out_hash, <const char*>_ONES32, 32) == 0):
        return 1
    if (_over_512_chars(b + r.in_prev_p, r.in_prev_n) or _controls(b + r.in_prev_p, r.in_prev_n)
            or _over_512_chars(b + r.out_prev_p, r.out_prev_n)
            or _controls(b + r.out_prev_p, r.out_prev_n)):
        return 1
    if variant == VAR_FIND or variant == VAR_ASK:
        if (r.query_n > 512 or r.in_prev_n != r.query_n
                or memcmp(b + r.in_prev_p, b + r.query_p, r.query_n) != 0
                or _controls(b + r.query_p, r.query_n)):
            return 1
        if not _blake3_is(c, <const char*>b + r.query_p, r.query_n, b + r.in_hash):
            return 1
    elif r.in_prev_n and _no_bytes(b + r.in_hash):
        return 1
    if r.out_prev_n and _no_bytes(b + r.out_hash):
        return 1
    if variant == VAR_FIND:
        return r.find_count != <uint64_t>r.n_frames
    if variant == VAR_PUTMANY:
        return r.pm_count != <uint64_t>r.pm_ids
    if variant == VAR_CHECKPOINT:
        return r.cp_id >= <uint64_t>c.ncheck
    return 0


cdef int chk_ReplaySession(VCtx* c) except -1:
    """1 when a session-level rule may fire: RF103, RF104, RF202."""
    if c.has_ended == 1 and c.ended < c.created:
        return 1
    if c.version != 1:
        return 1
    return c.has_at and c.max_at >= <uint64_t>c.nact
'''

_VET_ENTRY = '''

def controls(data):
    """True when the UTF-8 text `data` holds a character validate's RF303 flags, by the vet's
    compiled check (for tests: compared with validate's regular expression)."""
    cdef _View v = _View(data)
    return _controls(v.ptr(), v.view.len) == 1

def blake3_one_chunk(data):
    """BLAKE3 of `data` (at most 1,024 bytes) by the vet's C implementation (for tests)."""
    cdef _View v = _View(data)
    cdef unsigned char d32[32]
    if v.view.len > 1024:
        raise ValueError("more than one chunk")
    _b3_one_chunk(v.ptr(), v.view.len, d32)
    return PyBytes_FromStringAndSize(<const char*>d32, 32)

cdef object _vet(buf, Py_ssize_t* pp, Py_ssize_t e, VCtx* c):
    """vs_ReplaySession over b[pp[0]:e] with a fresh context `c`."""
    global _Blake3
    cdef _View v = _View(buf)
    _bounds(v, pp[0], e)
    memset(c, 0, sizeof(VCtx))
    if _Blake3 is None:
        from blake3 import blake3
        _Blake3 = blake3
    hasher = _Blake3()
    snap = _Out()
    c.hasher = <PyObject*>hasher
    c.snap = <PyObject*>snap
    return vs_ReplaySession(v.ptr(), pp, e, c)

def vet_ReplaySession(buf, Py_ssize_t p, Py_ssize_t e):
    """summary_ReplaySession's (dict, next offset) of b[p:e] when none of validate's
    per-session rules can fire (RF101..RF104, RF201..RF204, RF301..RF307; RF105 is the
    caller's), else None (the block then goes through validate's exact path); errors are
    summary_ReplaySession's."""
    cdef VCtx c
    value = _vet(buf, &p, e, &c)
    if value is None:
        return None
    return value, p

def vet_ActiveSession(buf, Py_ssize_t p, Py_ssize_t e):
    """vet_ReplaySession of the session that starts an ActiveSession at b[p:e] (the bytes
    after it are the caller's), with the at_sequence of its last checkpoint (None without
    one), which RF402 needs: (dict, end of the session, last at_sequence) or None."""
    cdef VCtx c
    value = _vet(buf, &p, e, &c)
    if value is None:
        return None
    return value, p, (c.last_at if c.has_at else None)
'''


def generate() -> str:
    """The source of `_native.pyx` for the current schema."""
    body: list[str] = []
    models: dict[str, list[str]] = {}
    protos: list[str] = []
    for name, flavours in FLAVOURS.items():
        node = schema.RECORDS[name]
        for fl in flavours:
            sig = _SIGS[fl].format(name)
            protos.append(sig[:-1])
            fn = _Fn(sig)
            em = _Emitter(fn, fl)
            em.record(name, node)
            for cls, names in em.models.items():
                models.setdefault(cls, names)
            body += fn.render()
    for name in VET_ELEMENTS:  # checks as k_X, and the fields the rules read into a V_X
        fn = _Fn(f"cdef int v_{name}(const unsigned char* b, Py_ssize_t* pp, Py_ssize_t e, "
                 f"V_{name}* r) except -1:")
        em = _Emitter(fn, "k")
        em.capture = {path: f"r.{c}" for path, c in VET_CAPTURE[name].items()}
        em.record(name, schema.RECORDS[name])
        body += fn.render()
    fn = _Fn("cdef object vs_ReplaySession(const unsigned char* b, Py_ssize_t* pp, "
             "Py_ssize_t e, VCtx* c):")
    em = _Emitter(fn, "s")  # the summary, its lists checked by chk_X, and chk_ReplaySession
    em.vet = True
    em.capture = {path: f"c.{m}" for path, m in VET_CAPTURE["ReplaySession"].items()}
    em.record("ReplaySession", schema.RECORDS["ReplaySession"])
    body += fn.render()
    for name in BUILDS:
        fn = _Fn(f"cdef int b_{name}(object obj, _Out o) except -1:")
        bem = _BuildEmitter(fn)
        bem.record(name, schema.RECORDS[name])
        for cls, names in bem.models.items():
            models.setdefault(cls, names)
        body += fn.render()
    entries = []
    for name in BUILDS:
        if name not in EXPORTS:
            continue
        entries += ["", "", f"def build_{name}(obj, out):",
                    f'    """Append the encoding of the {name} `obj` to the bytearray `out` '
                    '(the generated\n    Python encoder runs instead for values it alone '
                    'decides on)."""',
                    "    if not _model_ready:",
                    "        _model()",
                    "    cdef _Out o = _Out()",
                    f"    if type(out) is not bytearray or b_{name}(obj, o):",
                    f"        return _generated.build_{name}(obj, out)",
                    "    cdef Py_ssize_t at = len(<bytearray>out)",
                    "    PyByteArray_Resize(out, at + o.n)",
                    "    memcpy(PyByteArray_AS_STRING(out) + at, o.buf, o.n)"]
    for name, flavours in EXPORTS.items():
        for fl in flavours:
            entries += ["", "", f"def {ENTRY[fl]}_{name}(buf, Py_ssize_t p, Py_ssize_t e):",
                        f'    """{_ENTRY_DOC[fl].format(name)}"""']
            if fl == "m":
                entries.append("    if not _model_ready:")
                entries.append("        _model()")
            entries += ["    cdef _View v = _View(buf)", "    _bounds(v, p, e)"]
            call = f"{fl}_{name}(v.ptr(), &p, e)"
            if fl == "k":
                entries += [f"    {call}", "    return p"]
            else:
                entries += [f"    value = {call}", "    return value, p"]
    src = HEADER + "\n".join(_model_init(models)) + "\n".join(_vet_source())
    src += "\n\n\n# --- records " + "-" * 80
    src += "\n" + "\n".join(body) + "\n" + "\n".join(entries) + "\n" + _VET_ENTRY + _TAIL
    src += _toc_source()
    digest = hashlib.sha256(src.encode()).hexdigest()[:16]
    return src + f"\n\n#: What this module was generated as (`accel` ignores a stale build).\n" \
        f"SOURCE_DIGEST = {digest!r}\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m replayfmt.codegen_native",
        description="Regenerate replayfmt/_native.pyx (the compiled fast path's Cython source) "
                    "from replayfmt/schema.py in a source checkout, or check that it is "
                    "current. A build step: nothing imports this module at run time.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when _native.pyx is out of date")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    source = generate()
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != source:
            print(f"{TARGET} is out of date: run python -m replayfmt.codegen_native",
                  file=sys.stderr)
            return 1
        return 0
    if not (TARGET.parent.parent / "pyproject.toml").is_file():
        print(f"{TARGET.parent} is not a source checkout (an installed package): not rewriting "
              "_native.pyx", file=sys.stderr)
        return 2
    TARGET.write_text(source)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
