"""Which codec runs: the compiled fast path (`_native`, built from `_native.pyx` when the
package is installed with a C compiler) or the generated Python, the reference.

`G` has every name of `_generated` (summaries, JSON, encoders), `GM` every name of
`_generated_model` (the model-building parse_X, imported on first use) and `GT` every name of
`_generated_toc` (the `.mv2` container codec, imported on first use); where `_native`
compiles a function (same name, same signature, same values and errors) they hold the compiled
one. Readers use `G`/`GM` and never choose themselves. `REPLAYFMT_PURE=1` in the environment
forces the pure-Python codec; so does a compiled module built from an older `_native.pyx` than
the one beside it (a stale in-place build), so the two paths never disagree silently. A
compiled module that is present but fails to import for any other reason is an error, never
a silent fall-back.
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["G", "GM", "GT", "native", "NATIVE_NAMES", "NATIVE_MODEL_NAMES",
           "NATIVE_TOC_NAMES", "native_built", "vet_session", "vet_active"]

#: The functions the compiled path provides in place of `_generated`'s.
NATIVE_NAMES = ("summary_ReplaySession", "summary_ActiveSession", "build_ReplaySession",
                "build_ActiveSession")
#: The functions the compiled path provides in place of `_generated_model`'s.
NATIVE_MODEL_NAMES = ("parse_ReplaySession", "parse_ActiveSession", "parse_ReplayAction",
                      "parse_Checkpoint")
#: The functions the compiled path provides in place of `_generated_toc`'s (the TOC decoders).
NATIVE_TOC_NAMES = ("parse_toc_current", "parse_toc_pre_ticket_signature", "parse_toc_pre_sketch",
                    "parse_toc_legacy_v2", "parse_toc_legacy_v1")


def native_built() -> bool:
    """True when a compiled `_native` extension file sits in the package."""
    import importlib.machinery

    here = Path(__file__).parent
    return any(next(here.glob(f"_native{suffix}"), None) is not None
               for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _load_native() -> types.ModuleType | None:
    if os.environ.get("REPLAYFMT_PURE", "") not in ("", "0"):
        return None
    try:
        _native = importlib.import_module(f"{__package__}._native")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}._native":
            raise  # the extension is there but needs a module that is not
        return None  # not built: the pure path
    # any other ImportError (a name the compiled module needs is gone) propagates: a present
    # but broken extension is a bug, never a reason to run the pure path unnoticed
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
    """A generated module's names, looked up on first use (the module imported then too)."""

    def __init__(self, name: str, doc: str, module: str) -> None:
        super().__init__(name, doc)
        self._module = module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(importlib.import_module(self._module, __package__), name)
        setattr(self, name, value)
        return value


#: The compiled module in use, or None (pure Python).
native = _load_native()
G = _Codec("replayfmt.accel.G", "The codec in use: `_generated`, with compiled functions.",
           "._generated")
GM = _Codec("replayfmt.accel.GM",
            "The model parsers in use: `_generated_model`, with compiled functions.",
            "._generated_model")
GT = _Codec("replayfmt.accel.GT",
            "The .mv2 container codec in use: `_generated_toc`, with compiled TOC decoders.",
            "._generated_toc")
#: The compiled vet of a session block for `validate` (None on the pure path):
#: summary_ReplaySession's (dict, end) when none of its per-session rules can fire, else None.
vet_session: Callable[[Any, int, int], tuple[dict[str, Any], int] | None] | None = (
    None if native is None else native.vet_ReplaySession)
#: The same for the session that starts an ActiveSession (a sidecar's), with the at_sequence
#: of its last checkpoint: (dict, end of the session, last at_sequence or None), else None.
vet_active: Callable[[Any, int, int], tuple[dict[str, Any], int, int | None] | None] | None = (
    None if native is None else native.vet_ActiveSession)
if native is not None:
    for _name in NATIVE_TOC_NAMES:
        setattr(GT, _name, getattr(native, _name))
    for _name in NATIVE_NAMES:
        setattr(G, _name, getattr(native, _name))
    for _name in NATIVE_MODEL_NAMES:
        setattr(GM, _name, getattr(native, _name))
