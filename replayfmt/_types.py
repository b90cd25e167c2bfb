"""Type aliases for annotations (imported under `TYPE_CHECKING` by the generated codec).

Nothing here is needed at run time.
"""

from __future__ import annotations

import mmap
from typing import Any, TypeAlias

__all__ = ["Buf", "Readable", "JsonDict"]

#: The bytes a generated parser reads, `parse_X(b: Buf, p, e)`: what slices to something
#: with `.decode()` (a memoryview does not: readers convert one first, `framing.readable`).
Buf: TypeAlias = bytes | bytearray | mmap.mmap
#: What the public readers accept (a memoryview is read as bytes).
Readable: TypeAlias = bytes | bytearray | memoryview | mmap.mmap
#: A JSON object in memvid's serde shape (values: JSON values; hashes as lists of ints).
JsonDict: TypeAlias = dict[str, Any]
