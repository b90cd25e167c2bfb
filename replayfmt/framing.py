"""The container walker: what kind of bytes these are, and where their records sit.

One module knows the containers around the records (FORMAT.md), so no other module reads a
header offset or compares a magic of its own:

- `sniff(data)`: segment (`MV2RPLY!`), sidecar envelope (`MV2ACTIV`) or `.mv2` (`MV2\\0`);
- the segment: its 24-byte header (`segment_header`), then session_count length-prefixed session
  blocks (`segment_blocks`), then the total_size / session_count / trailing-bytes rules;
- the envelope: magic, u64 length, one ActiveSession (`envelope_block`);
- the `.mv2`: header record, footer record and the TOC between them (`read_layout`).

Records inside the blocks are decoded elsewhere (the generated codec, `trace`). Every walker has
two policies: `Policy()` raises the first problem (strict, as `parse_*`); `Policy(lenient=True)`
records problems that do not stop the walk (version, total_size, session_count, bytes after a
record) in `policy.problems` and goes on, raising only where the walk cannot continue (a length
prefix that runs past the end). Magics and sizes come from the schema (through the generated
module, so reading never imports Construct).
"""

from __future__ import annotations

import errno
import os
import struct
from collections import namedtuple
from collections.abc import Callable, Iterator
from typing import Any

from . import _generated as G
from . import errors as E
from .errors import FileShrank  # re-exported: readers meet it here

__all__ = [
    "SEGMENT", "SIDECAR", "MV2", "KINDS", "sniff", "Policy",
    "SEGMENT_HEADER_SIZE", "ENVELOPE_HEADER_SIZE", "MV2_HEADER_SIZE", "MV2_FOOTER_SIZE",
    "SegmentHeader", "segment_header", "segment_blocks", "block_length", "exact", "in_block",
    "envelope_block", "Mv2Layout", "read_layout", "readable", "FileShrank", "check_mapped",
]


#: The maps `open_mapped` and `open_input` have open: id(map) -> (fd, name, size mapped).
_MAPPED: dict[int, tuple[int, str, int]] = {}


def check_mapped(buf: object) -> None:
    """Raise FileShrank (naming the file, its size when mapped and now) if `buf` is a map
    made by `open_mapped` or `open_input` whose file is now shorter than when it was mapped;
    anything else passes. One fstat: readers call it before each block they touch."""
    got = _MAPPED.get(id(buf))
    if got is None:
        return
    fd, name, size = got
    now = os.fstat(fd).st_size
    if now < size:
        raise FileShrank(errno.EIO, f"the file shrank from {size} to {now} bytes while it was "
                         "being read", name)


#: The kinds of bytes `sniff` tells apart.
SEGMENT, SIDECAR, MV2 = "segment", "active_session", "mv2"
KINDS = (SEGMENT, SIDECAR, MV2)
_MAGICS = ((G.SEGMENT_MAGIC, SEGMENT), (G.ACTIVE_MAGIC, SIDECAR))

SEGMENT_HEADER_SIZE = G.SIZE["SegmentHeader"]  # 24: magic, version, session_count, total_size
ENVELOPE_HEADER_SIZE = len(G.ACTIVE_MAGIC) + 8  # 16: magic, u64 length
MV2_HEADER_SIZE = 4096  # the .mv2 header region (its first bytes are the Mv2Header record)
MV2_FOOTER_SIZE = G.SIZE["Mv2Footer"]  # 56
#: Where the segment header's fields sit (offsets from the segment's start).
VERSION_AT, SESSION_COUNT_AT, TOTAL_SIZE_AT = 8, 12, 16
_U64 = struct.Struct("<Q")
_HEAD = struct.Struct("<IIQ")  # version, session_count, total_size after the magic

#: What the walkers read: bytes, bytearray, an mmap (anything with slicing and unpack_from).
Buffer = Any


def readable(data: Buffer) -> Buffer:
    """`data` as the readers take it: bytes, bytearray and mmap as they are, a memoryview
    (which has no `find`, and slices to memoryviews) as bytes, as `parse_*` read it."""
    if isinstance(data, memoryview):
        return data.tobytes()
    return data


def sniff(data: Buffer, rule: str = "exact") -> str | None:
    """SEGMENT, SIDECAR or MV2 from the leading bytes, else None.

    rule "exact": the whole magic. "family": the first four bytes (`MV2R`, `MV2A`, `MV2\\0`),
    so that a damaged magic is still read as its container (validation). "prefix": the exact
    magic, or input shorter than a magic that starts it (salvage of a cut file).
    """
    head = bytes(data[:8])
    for magic, kind in _MAGICS:
        if head == magic:
            return kind
    if head[:4] == G.MV2_MAGIC:
        return MV2
    if rule == "family":
        for magic, kind in _MAGICS:
            if head[:4] == magic[:4]:
                return kind
    elif rule == "prefix" and len(head) < 8:
        for magic, kind in _MAGICS:
            if magic.startswith(head):
                return kind
    return None


class Policy:
    """Strict (raise the first problem) or lenient (record it in `problems` and go on)."""

    __slots__ = ("lenient", "problems")

    def __init__(self, lenient: bool = False) -> None:
        self.lenient = lenient
        self.problems: list[E.ReplayFormatError] = []

    def problem(self, err: E.ReplayFormatError) -> None:
        if not self.lenient:
            raise err
        self.problems.append(err)


_STRICT = Policy()


# --- length-prefixed blocks --------------------------------------------------------------------

def block_length(b: Buffer, p: int, e: int, path: str) -> int:
    """The u64 length prefix at p, checked against the bytes after it (raises otherwise)."""
    if e - p < 8:
        raise E.truncated(p, path, 8, e - p, "8-byte length prefix runs past the end")
    length: int = _U64.unpack_from(b, p)[0]
    if length > e - p - 8:
        raise E.block_overflow(p, path, length, e - p - 8)
    return length


def exact(end: int, stop: int, path: str, what: str, policy: Policy = _STRICT) -> None:
    """Bytes between the end of a record and the end of its block are a problem."""
    if end != stop:
        policy.problem(E.trailing(end, path, stop - end, what))


def in_block(parse: Callable[..., tuple[Any, int]], b: Buffer, p: int, e: int, path: str,
             what: str) -> Any:
    """Decode one record filling b[p:e] with a generated parser (path added to its errors)."""
    try:
        value, end = parse(b, p, e)
    except E.ReplayFormatError as err:
        raise (err.prefix(path) if path else err) from None
    exact(end, e, path, what)
    return value


# --- segment -----------------------------------------------------------------------------------

class SegmentHeader(namedtuple("SegmentHeader", "version session_count total_size")):
    """The segment header's values (the magic is checked, not kept)."""

    __slots__ = ()


def segment_header(b: Buffer, base: int = 0, end: int | None = None, policy: Policy = _STRICT
                   ) -> SegmentHeader:
    """Check the magic (always fatal) and read the header of the segment at b[base:end]; a
    version other than 1 is a policy problem."""
    e = len(b) if end is None else end
    G.json_SegmentHeader(b, base, e)  # magic and truncation, with the schema's errors
    header = SegmentHeader(*_HEAD.unpack_from(b, base + VERSION_AT))
    if header.version != G.SEGMENT_VERSION:
        policy.problem(E.unsupported_version(base + VERSION_AT, header.version,
                                             G.SEGMENT_VERSION))
    return header


def segment_blocks(b: Buffer, base: int = 0, end: int | None = None, policy: Policy = _STRICT,
                   header: SegmentHeader | None = None) -> Iterator[tuple[int, int, int]]:
    """Walk the segment in b[base:end], yielding (index, start, stop) of each session's bytes.

    The header is checked first; each block's length prefix when it is reached; then
    session_count, total_size and trailing bytes after the last block (so a consumer that
    decodes each block before asking for the next sees problems in the order `parse_segment`
    raises them). Offsets are absolute positions in `b`. A length prefix that is missing or
    runs past the end stops the walk under either policy (it raises).
    """
    e = len(b) if end is None else end
    watched = id(b) in _MAPPED
    if watched:
        check_mapped(b)
    if header is None:
        header = segment_header(b, base, e, policy)
    count, total_size = header.session_count, header.total_size
    p = base + SEGMENT_HEADER_SIZE
    for i in range(count):
        if watched:
            check_mapped(b)  # the caller may have been long about the block before
        if p == e:
            raise E.count_mismatch(base + SESSION_COUNT_AT, count, i,
                                   f"session_count is {count} but the data holds {i}")
        length = block_length(b, p, e, f"sessions[{i}]")
        yield i, p + 8, p + 8 + length
        p += 8 + length
    if p != e and total_size == e - base:
        policy.problem(E.count_mismatch(base + SESSION_COUNT_AT, count, f"> {count}",
                                        "bytes that total_size covers follow the last "
                                        "declared session"))
    if total_size != p - base:
        policy.problem(E.size_mismatch(base + TOTAL_SIZE_AT, total_size, p - base))
    if not (p != e and total_size == e - base):
        exact(p, e, "", "last session", policy)


def segment_fields(b: Buffer, base: int = 0) -> SegmentHeader | None:
    """The header values of a would-be segment at b[base:], unchecked (None when too short):
    for scanners that reject candidates cheaply before walking them."""
    if len(b) - base < SEGMENT_HEADER_SIZE:
        return None
    return SegmentHeader(*_HEAD.unpack_from(b, base + VERSION_AT))


def declared_length(b: Buffer, p: int) -> int:
    """The u64 length prefix at p, unchecked (salvage reads on past lengths that lie)."""
    length: int = _U64.unpack_from(b, p)[0]
    return length


def first_block_length(b: Buffer, base: int = 0) -> int:
    """The first session's declared length in the segment at b[base:] (unchecked)."""
    return declared_length(b, base + SEGMENT_HEADER_SIZE)


# --- envelope ----------------------------------------------------------------------------------

def envelope_block(b: Buffer, base: int = 0, end: int | None = None) -> tuple[int, int]:
    """Check the `MV2ACTIV` magic and length prefix of the envelope at b[base:end]; returns
    (start, stop) of the ActiveSession's bytes. Bytes after stop are the caller's to judge
    (`exact(stop, end, "", "envelope")`)."""
    e = len(b) if end is None else end
    magic = G.ACTIVE_MAGIC
    if bytes(b[base:base + len(magic)]) != magic:
        if e - base < len(magic):
            raise E.truncated(base, "magic", len(magic), e - base, "shorter than the magic")
        raise E.bad_magic(base, "magic", magic, bytes(b[base:base + len(magic)]))
    length = block_length(b, base + len(magic), e, "length")
    start = base + ENVELOPE_HEADER_SIZE
    return start, start + length


def envelope_length(b: Buffer, base: int = 0) -> int | None:
    """The envelope's declared length (unchecked; None when the header is cut)."""
    if len(b) - base < ENVELOPE_HEADER_SIZE:
        return None
    return declared_length(b, base + len(G.ACTIVE_MAGIC))


# --- .mv2 --------------------------------------------------------------------------------------

class Mv2Layout(namedtuple("Mv2Layout", "size footer_offset footer_pos toc_len generation")):
    """Where the parts of a `.mv2` file are: size, footer_offset (the header's field: where
    the TOC starts), footer_pos (where the 56-byte footer starts), toc_len, generation.
    (A named tuple, not attrs: locating segments does not import the model layer.)"""

    __slots__ = ()

    @property
    def toc_range(self) -> tuple[int, int]:
        return self.footer_offset, self.footer_pos


def _prefixed(parse: Callable[..., tuple[Any, int]], data: Buffer, start: int, end: int,
              part: str) -> tuple[Any, int]:
    try:
        return parse(data, start, end)
    except E.ReplayFormatError as err:
        raise err.prefix(part) from None


def read_layout(data: Buffer) -> Mv2Layout:
    """Header and footer records of a `.mv2`, and the TOC range between them.

    Raises ReplayFormatError (a ValueError) with the offset and path of the part that is
    missing or wrong, so every entry point gives a value or that one error.
    """
    size = len(data)
    if size < 4 or sniff(data) != MV2:
        raise E.not_mv2(bytes(data[:4]), G.MV2_MAGIC, truncated=size < 4)
    header, _ = _prefixed(G.json_Mv2Header, data, 0, min(size, G.SIZE["Mv2Header"]), "header")
    footer_pos = size - MV2_FOOTER_SIZE
    if footer_pos < G.SIZE["Mv2Header"] or bytes(data[footer_pos:footer_pos + 8]) != \
            G.MV2_FOOTER_MAGIC:
        raise E.no_footer(max(footer_pos, 0), G.MV2_FOOTER_MAGIC,
                          bytes(data[max(footer_pos, 0):footer_pos + 8]))
    footer, _ = _prefixed(G.json_Mv2Footer, data, footer_pos, size, "footer")
    footer_offset = header["footer_offset"]
    toc_len = footer["toc_len"]
    if not 0 <= footer_offset <= footer_pos or footer_pos - footer_offset != toc_len:
        # Trust the footer's toc_len when the header disagrees (e.g. a torn header write).
        footer_offset = footer_pos - toc_len
        if footer_offset < 0:
            raise E.toc_overflow(footer_pos + 8, toc_len, footer_pos)
    return Mv2Layout(size, footer_offset, footer_pos, toc_len, footer["generation"])
