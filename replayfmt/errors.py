"""The one error for bad bytes: ReplayFormatError, carrying offset, path, expected and actual.

Messages are rendered from those fields, never pasted together elsewhere. The decoder builds
the path from the inside out (each enclosing record or array adds its part while the error
travels up), so a failure deep in a session reads `sessions[0].actions[17].input_preview`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ReplayFormatError", "ErrorKind", "FileShrank"]


class ErrorKind:
    """Stable names for what went wrong; `ReplayFormatError.kind` is one of these."""

    BAD_MAGIC = "bad_magic"
    UNSUPPORTED_VERSION = "unsupported_version"
    TRUNCATED = "truncated"  # a fixed-size field runs past the end of its block
    LENGTH_OVERFLOW = "length_overflow"  # a declared length or count exceeds the bytes left
    INVALID_UTF8 = "invalid_utf8"
    INVALID_TAG = "invalid_tag"  # Option tag not 0/1
    INVALID_BOOL = "invalid_bool"
    UNKNOWN_VARIANT = "unknown_variant"
    BAD_UUID_LENGTH = "bad_uuid_length"
    COUNT_MISMATCH = "count_mismatch"  # segment session_count disagrees with the data
    SIZE_MISMATCH = "size_mismatch"  # segment total_size disagrees with the data
    TRAILING_BYTES = "trailing_bytes"
    DUPLICATE_KEY = "duplicate_key"

    ALL = (
        BAD_MAGIC, UNSUPPORTED_VERSION, TRUNCATED, LENGTH_OVERFLOW, INVALID_UTF8, INVALID_TAG,
        INVALID_BOOL, UNKNOWN_VARIANT, BAD_UUID_LENGTH, COUNT_MISMATCH, SIZE_MISMATCH,
        TRAILING_BYTES, DUPLICATE_KEY,
    )


class FileShrank(OSError):
    """A mapped file got shorter while it was being read. Touching its lost pages would kill
    the process (SIGBUS), so the readers check the size before each block they touch
    (`framing.check_mapped`). An OSError: the file, not its bytes, is at fault."""


_MISSING = object()


class ReplayFormatError(ValueError):
    """Bytes that are not a valid replay segment, session or envelope.

    Attributes:
        kind: one of `ErrorKind`'s names.
        offset: absolute byte offset in the input where the offending field starts.
        path: field path, e.g. ``sessions[0].actions[17].input_preview`` ("" for the whole input).
        reason: what is wrong, in words.
        expected, actual: the values involved, where they apply (else None).
    """

    def __init__(self, kind: str, reason: str, *, offset: int, path: str = "",
                 expected: object = None, actual: object = None) -> None:
        super().__init__(kind, reason, offset)
        self.kind = kind
        self.reason = reason
        self.offset = offset
        self.expected = expected
        self.actual = actual
        # Path parts innermost first; enclosing decoders append while the error travels up.
        self._parts: list[str] = [path] if path else []

    def prefix(self, part: str) -> ReplayFormatError:
        """Add an enclosing path part (``"actions"``, ``"[17]"``); returns self for re-raising."""
        self._parts.append(part)
        return self

    @property
    def path(self) -> str:
        out = ""
        for part in reversed(self._parts):
            if part.startswith("[") or not out:
                out += part
            else:
                out += "." + part
        return out

    def __str__(self) -> str:
        where = self.path or "<input>"
        msg = f"{where} at offset {self.offset} (0x{self.offset:x}): {self.reason}"
        if self.expected is not None or self.actual is not None:
            msg += f" (expected {self.expected!r}, got {self.actual!r})"
        return msg

    def __repr__(self) -> str:
        return (f"ReplayFormatError(kind={self.kind!r}, offset={self.offset}, "
                f"path={self.path!r}, reason={self.reason!r})")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # picklable across process pools with its path intact
        return (_rebuild, (self.kind, self.reason, self.offset, self.path, self.expected,
                           self.actual))


def _rebuild(kind: str, reason: str, offset: int, path: str, expected: object,
             actual: object) -> ReplayFormatError:
    return ReplayFormatError(kind, reason, offset=offset, path=path, expected=expected,
                             actual=actual)


# --- the one set of constructors ----------------------------------------------------------------
# Every ReplayFormatError raised by the generated codec, the framing walker and trace is built
# here, so one failure reads the same whichever reader met it.

def truncated(offset: int, path: str, need: int, have: int, reason: str | None = None
              ) -> ReplayFormatError:
    """A fixed-size field (or a length prefix) of `need` bytes with only `have` left."""
    return ReplayFormatError(
        ErrorKind.TRUNCATED, reason or f"{need}-byte field runs past the end of its block",
        offset=offset, path=path, expected=need, actual=max(0, have))


def overflow(offset: int, path: str, n: int, left: int, what: str = "length",
             min_size: int = 1) -> ReplayFormatError:
    """A declared length or count `n` (at `offset`) larger than the `left` bytes after it can
    hold, at `min_size` bytes per element."""
    return ReplayFormatError(ErrorKind.LENGTH_OVERFLOW,
                             f"declared {what} {n} exceeds the {left} bytes left",
                             offset=offset, path=path, expected=f"<= {left // min_size}",
                             actual=n)


def block_overflow(offset: int, path: str, length: int, left: int) -> ReplayFormatError:
    """A block's u64 length prefix larger than the bytes after it."""
    return overflow(offset, path, length, left)


def bad_magic(offset: int, path: str, expected: bytes, actual: bytes) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.BAD_MAGIC, "wrong magic", offset=offset, path=path,
                             expected=expected, actual=actual)


def unsupported_version(offset: int, actual: int, expected: int) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.UNSUPPORTED_VERSION, "unsupported segment version",
                             offset=offset, path="version", expected=expected, actual=actual)


def count_mismatch(offset: int, actual: int, expected: object, reason: str
                   ) -> ReplayFormatError:
    """The segment's session_count disagrees with the blocks that follow."""
    return ReplayFormatError(ErrorKind.COUNT_MISMATCH, reason, offset=offset,
                             path="session_count", expected=expected, actual=actual)


def size_mismatch(offset: int, actual: int, expected: int) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.SIZE_MISMATCH,
                             "total_size disagrees with the sessions' bytes", offset=offset,
                             path="total_size", expected=expected, actual=actual)


def trailing(offset: int, path: str, n: int, what: str) -> ReplayFormatError:
    """`n` bytes after the `what` (a record, the last session, the envelope)."""
    return ReplayFormatError(ErrorKind.TRAILING_BYTES, f"{n} bytes after the {what}",
                             offset=offset, path=path, expected=0, actual=n)


def invalid_utf8(offset: int, path: str, reason: str, *, index: int | None = None
                 ) -> ReplayFormatError:
    """Bytes that are not UTF-8; `index` (where known) is the bad byte's position in the
    string, as the container's readers word it."""
    text = f"invalid UTF-8 ({reason})" if index is None else f"invalid UTF-8 at byte {index}"
    return ReplayFormatError(ErrorKind.INVALID_UTF8, text, offset=offset, path=path)


def invalid_tag(offset: int, path: str, tag: int) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.INVALID_TAG, "Option tag is not 0 or 1", offset=offset,
                             path=path, expected="0 or 1", actual=tag)


def invalid_bool(offset: int, path: str, byte: int) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.INVALID_BOOL, "bool byte is not 0 or 1", offset=offset,
                             path=path, expected="0 or 1", actual=byte)


def unknown_variant(offset: int, path: str, index: int, count: int) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.UNKNOWN_VARIANT, "unknown variant index", offset=offset,
                             path=path, expected=f"0..{count - 1}", actual=index)


def bad_uuid_length(offset: int, path: str, n: int) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.BAD_UUID_LENGTH, "Uuid length is not 16", offset=offset,
                             path=path, expected=16, actual=n)


def duplicate_key(offset: int, path: str, key: object) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.DUPLICATE_KEY, "repeated map key", offset=offset,
                             path=path, actual=key)


def not_mv2(actual: bytes, magic: bytes, truncated: bool) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.TRUNCATED if truncated else ErrorKind.BAD_MAGIC,
                             "not a .mv2 file (no MV2\\0 header)", offset=0,
                             path="header.magic", expected=magic, actual=actual)


def no_footer(offset: int, magic: bytes, actual: bytes) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.BAD_MAGIC, "no MV2FOOT! footer at the end of the file",
                             offset=offset, path="footer.magic", expected=magic, actual=actual)


def toc_overflow(offset: int, toc_len: int, left: int) -> ReplayFormatError:
    return ReplayFormatError(ErrorKind.LENGTH_OVERFLOW, "TOC length exceeds the file",
                             offset=offset, path="footer.toc_len", expected=f"<= {left}",
                             actual=toc_len)


def truncated_in(p: int, e: int, fields: tuple[tuple[int, int, str], ...]) -> ReplayFormatError:
    """The first of `fields` ((offset from p, size, path), ...) read together that runs past
    e: what a field-by-field reader reports for a fused read that does not fit."""
    for rel, size, path in fields:
        if p + rel + size > e:
            return truncated(p + rel, path, size, e - (p + rel))
    raise AssertionError("the fields fit")
