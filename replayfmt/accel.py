"""Which codec runs: the compiled fast path (`_native`, built from `_native.pyx` when the
package is installed with a C compiler) or the generated Python (`_generated`), the reference.

`G` has every name of `_generated`; where `_native` compiles a function (same name, same
signature, same values and errors) `G` holds the compiled one. Readers use `G` and never choose
themselves. `REPLAYFMT_PURE=1` in the environment forces the pure-Python codec; so does a
compiled module built from an older `_native.pyx` than the one beside it (a stale in-place
build), so the two paths never disagree silently.
"""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any

from . import _generated

__all__ = ["G", "native", "NATIVE_NAMES"]

#: The functions the compiled path provides in place of the generated Python's.
NATIVE_NAMES = ("parse_ReplaySession", "parse_ActiveSession", "summary_ReplaySession",
                "summary_ActiveSession", "skip_ReplaySession", "skip_ActiveSession",
                "build_ReplaySession", "build_ActiveSession", "parse_ReplayAction",
                "parse_Checkpoint")


def _load_native() -> types.ModuleType | None:
    if os.environ.get("REPLAYFMT_PURE", "") not in ("", "0"):
        return None
    try:
        from . import _native
    except ImportError:
        return None
    source = Path(__file__).with_name("_native.pyx")
    try:
        with open(source, "rb") as fh:  # the digest is the file's last line
            fh.seek(max(0, fh.seek(0, 2) - 200))
            tail = fh.read().decode("ascii", "replace")
    except OSError:  # an installed wheel ships the compiled module without its source
        return _native
    if f"SOURCE_DIGEST = {_native.SOURCE_DIGEST!r}" not in tail:
        return None
    return _native


class _Codec(types.ModuleType):
    """`_generated`'s names, looked up on first use (its parse_X load the model lazily)."""

    def __getattr__(self, name: str) -> Any:
        value = getattr(_generated, name)
        setattr(self, name, value)
        return value


#: The compiled module in use, or None (pure Python).
native = _load_native()
G = _Codec("replayfmt.accel.G", "The codec in use: `_generated`, with compiled functions.")
if native is not None:
    for _name in NATIVE_NAMES:
        setattr(G, _name, getattr(native, _name))
