"""The one error for bad bytes: ReplayFormatError, carrying offset, path, expected and actual.

Messages are rendered from those fields, never pasted together elsewhere. The decoder builds
the path from the inside out (each enclosing record or array adds its part while the error
travels up), so a failure deep in a session reads `sessions[0].actions[17].input_preview`.
"""

from __future__ import annotations

__all__ = ["ReplayFormatError", "ErrorKind"]


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

    def __reduce__(self):  # picklable across process pools with its path intact
        return (_rebuild, (self.kind, self.reason, self.offset, self.path, self.expected,
                           self.actual))


def _rebuild(kind, reason, offset, path, expected, actual):
    return ReplayFormatError(kind, reason, offset=offset, path=path, expected=expected,
                             actual=actual)
