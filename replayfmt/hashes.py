"""Content hashes of replay actions: which ones the bytes let us check, and the check.

memvid records an action's input and output through `ReplayAction::with_input` /
`with_output` (src/replay/types.rs), which set the hash and the preview together from the same
bytes `data`:
- hash = BLAKE3(data); from memvid 2.0.135 on, an empty `data` gives the all-zero hash and a
  `data` over 10 MiB the all-0xFF sentinel (the preview then says "[ERROR: ... size N exceeds
  maximum M]"); earlier releases hash every `data`, the empty one included;
- preview = the first 512 *bytes* of `data`, decoded lossily (invalid or cut UTF-8 becomes
  U+FFFD), from 2.0.135 on without control characters other than \\n and \\t, at most 512
  characters.
An action built without one of them (`ReplayAction::new`) keeps the all-zero hash and an
empty preview.

What the bytes prove, per action type and field (`check_action`):
- Find and Ask `input_hash`: memvid records the query twice, whole in the action type
  (`Find.query`, `Ask.query`) and as the input (`with_input(query.as_bytes())`; the core's
  `record_find_action` / `record_ask_action`, which the CLI and memvid-sdk use). So the hash
  is checkable whatever the preview: it is BLAKE3(query) (or zero for an empty query, or the
  sentinel for a query over 10 MiB). A different hash is a mismatch (RF306).
- Find and Ask `input_preview`: what memvid makes of that query, with or without the control
  characters (the two releases' rules); anything else is a mismatch (RF307).
- every other field (Put input, Ask output — the answer as the caller handed it —, the fields
  memvid leaves empty): the preview alone. It proves the whole input only when stripping could
  not have happened, which the bytes never show: a document of 100 bytes with CR LF line ends
  has a preview without the CRs and a hash of the CRs included. So a hash equal to
  BLAKE3(preview) is *verified*; a different one is *unchecked* (preview cut at 512 bytes,
  lossy decoding, or control characters possibly removed), never a finding. One thing the
  preview does prove: a hash that says "no bytes" (zero, or BLAKE3 of nothing) goes with an
  empty preview; a non-empty one beside it is a mismatch (RF306).
- the all-0xFF sentinel: unchecked (RF301 reports it).

`mismatches(action)` yields only the findings and costs one BLAKE3 of the query per Find or Ask
(no hashing for other actions): what `validate` calls per action.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import blake3

__all__ = ["HashCheck", "check_action", "mismatches", "preview_of", "PREVIEW_BYTES",
           "SENTINEL_LIMIT", "ZERO_HASH", "OVERSIZE_HASH", "EMPTY_HASH"]

PREVIEW_BYTES = 512  # memvid's MAX_PREVIEW_LENGTH: bytes read, and characters kept
SENTINEL_LIMIT = 10 * 1024 * 1024  # memvid's MAX_INPUT_SIZE / MAX_OUTPUT_SIZE (2.0.135 on)
ZERO_HASH = bytes(32)
OVERSIZE_HASH = b"\xff" * 32
EMPTY_HASH = blake3.blake3(b"").digest()

#: Rust's `char::is_control` (category Cc) except \n and \t: what memvid removes.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_QUERY_VARIANTS = frozenset(("Find", "Ask"))


class HashCheck(NamedTuple):
    """One field of one action: `field` (input_hash, output_hash, input_preview), `status`
    (verified, mismatch, unchecked), `basis` (query, preview, empty, sentinel), `code` (the
    validate rule for a mismatch, else None) and `message`."""

    field: str
    status: str
    basis: str
    code: str | None
    message: str


def preview_of(data: bytes, strip_controls: bool = True) -> str:
    """The preview memvid makes of `data` (`sanitize_preview`; `strip_controls=False`: the
    rule of releases before 2.0.135)."""
    text = bytes(data[:PREVIEW_BYTES]).decode("utf-8", "replace")
    if strip_controls:
        text = _CONTROL.sub("", text)
    return text[:PREVIEW_BYTES]


def _query_hashes(query: bytes) -> tuple[bytes, ...]:
    """Every hash memvid may have stored for a query of these bytes (any release)."""
    if not query:
        return (ZERO_HASH, EMPTY_HASH)
    if len(query) > SENTINEL_LIMIT:
        return (OVERSIZE_HASH, blake3.blake3(query).digest())
    return (blake3.blake3(query).digest(),)


def _query_checks(action: Any, variant: str, verified: bool) -> Iterator[HashCheck]:
    query = action.action_type.query
    raw = query.encode("utf-8", "surrogatepass")
    path = f"action_type.{variant}.query"
    if action.input_hash in _query_hashes(raw):
        if verified:
            yield HashCheck("input_hash", "verified", "query", None, f"BLAKE3 of {path}")
    else:
        yield HashCheck("input_hash", "mismatch", "query", "RF306",
                        f"input_hash {action.input_hash.hex()} but memvid hashes the whole "
                        f"query ({path}, {len(raw)} bytes) to "
                        f"{_query_hashes(raw)[0].hex()}")
    preview = action.input_preview
    if preview == query and len(raw) <= PREVIEW_BYTES and not _CONTROL.search(query):
        ok = True  # the common case, without building either preview
    else:
        ok = preview in (preview_of(raw), preview_of(raw, strip_controls=False))
    if ok:
        if verified:
            yield HashCheck("input_preview", "verified", "query", None, f"preview of {path}")
    else:
        yield HashCheck("input_preview", "mismatch", "query", "RF307",
                        f"input_preview is not what memvid makes of {path} "
                        f"({len(preview)} characters; the query gives "
                        f"{len(preview_of(raw))})")


def _preview_check(field: str, digest: bytes, preview: str, verified: bool
                   ) -> HashCheck | None:
    if digest == OVERSIZE_HASH:
        return (HashCheck(field, "unchecked", "sentinel", None,
                          "the over-10-MiB sentinel: no hash of the bytes") if verified else None)
    if digest in (ZERO_HASH, EMPTY_HASH):
        if preview:
            return HashCheck(field, "mismatch", "empty", "RF306",
                             f"{field} {digest.hex()} says there were no bytes, but the "
                             f"preview holds {len(preview)} character(s)")
        return HashCheck(field, "verified", "empty", None, "no bytes") if verified else None
    if not verified:
        return None
    raw = preview.encode("utf-8", "surrogatepass")
    if blake3.blake3(raw).digest() == digest:
        return HashCheck(field, "verified", "preview", None, "BLAKE3 of the whole preview")
    if "\ufffd" in preview:
        why = "the preview holds U+FFFD: bytes that were not UTF-8 are lost"
    elif len(raw) >= PREVIEW_BYTES:
        why = f"the preview is {len(raw)} bytes: the input may go on after the first 512"
    else:
        why = "memvid removes control characters from previews: the input may have held some"
    return HashCheck(field, "unchecked", "preview", None, why)


def _checks(action: Any, verified: bool) -> Iterator[HashCheck]:
    variant = getattr(action.action_type, "VARIANT", None)
    if variant in _QUERY_VARIANTS:
        yield from _query_checks(action, variant, verified)
    else:
        got = _preview_check("input_hash", action.input_hash, action.input_preview, verified)
        if got is not None:
            yield got
    got = _preview_check("output_hash", action.output_hash, action.output_preview, verified)
    if got is not None:
        yield got


def check_action(action: Any) -> list[HashCheck]:
    """Every hash and preview of `action` (a `model.ReplayAction`) that memvid derives from
    the same bytes, each verified, a mismatch or unchecked (with why)."""
    return list(_checks(action, True))


_NO_BYTES = frozenset((ZERO_HASH, EMPTY_HASH))
_local = threading.local()


def _digest(raw: bytes) -> bytes:
    """BLAKE3 of `raw` through one hasher per thread, reset between uses: half the cost of
    a new hasher per call, which is most of the check's cost for a short query."""
    try:
        h = _local.hasher
    except AttributeError:
        h = _local.hasher = blake3.blake3()
    h.reset()
    h.update(raw)
    digest: bytes = h.digest()
    return digest


def mismatches(action: Any) -> tuple[HashCheck, ...]:
    """Only the mismatches of `check_action`, cheaply: one BLAKE3 of a Find or Ask query and
    a few comparisons (nothing hashed for other actions); the full check runs only for an
    action that fails this screen."""
    kind = action.action_type
    if getattr(kind, "VARIANT", None) in _QUERY_VARIANTS:
        query = kind.query
        raw = query.encode("utf-8", "surrogatepass")
        odd = (_digest(raw) != action.input_hash or action.input_preview != query
               or len(raw) > PREVIEW_BYTES or _CONTROL.search(query) is not None)
    else:
        odd = bool(action.input_preview) and action.input_hash in _NO_BYTES
    if not odd and not (action.output_preview and action.output_hash in _NO_BYTES):
        return ()
    return tuple(_checks(action, False))
