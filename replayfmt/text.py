"""Text for terminals: what a file (or a file name) holds must never drive the terminal.

`escape(text)` replaces every character that could move the cursor, clear the screen, set a
window title, reorder text or hide it with a visible escape: C0 controls, DEL and C1 controls as
`\\x1b`, `\\x7f`, `\\x9b`; bidirectional controls, zero-width characters and the line and
paragraph separators as `\\u202e`, `\\u200b`, `\\u2028`; bytes of a file name that are not UTF-8
(Python's surrogateescape U+DC80..U+DCFF) as the byte, `\\xff`. With `newlines=True` a line feed
is kept (for text that is several lines). Backslashes are left alone: the result is for reading,
not a reversible encoding. Every command's text output goes through it.
"""

from __future__ import annotations

import re

__all__ = ["escape"]

_UNSAFE_CHARS = ("[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e"
                 "\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]")
#: compiled on first use: commands that print no text do not pay for it
_unsafe: re.Pattern[str] | None = None


def _visible(match: re.Match[str]) -> str:
    o = ord(match.group())
    if 0xDC80 <= o <= 0xDCFF:  # a byte of a name that is not UTF-8
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def _visible_keep_newline(match: re.Match[str]) -> str:
    return "\n" if match.group() == "\n" else _visible(match)


def escape(text: str, newlines: bool = False) -> str:
    """`text` with control, bidi and invisible characters as visible escapes (see above)."""
    global _unsafe
    if _unsafe is None:
        _unsafe = re.compile(_UNSAFE_CHARS)
    return _unsafe.sub(_visible_keep_newline if newlines else _visible, text)
