#!/usr/bin/env python3
"""atheris harness: the compiled fast path against the generated Python on any bytes.

Every compiled decoder (parse_ and summary_ of ReplaySession and ActiveSession, and the
memvid JSON text) runs on the input from the offsets a session or envelope body starts at,
and so does its pure-Python twin; any difference in value or error (kind, offset, path,
expected, actual) is a crash. Decoded values are re-encoded by both encoders. Coverage comes
from the instrumented Python side. Seed corpus: fuzz/corpus/segment and fuzz/corpus/active.
"""
import os

os.environ.setdefault("REPLAYFMT_PURE", "0")  # this harness needs the compiled path too

import _common  # noqa: E402

from replayfmt import _generated as G
from replayfmt import _generated_model as GM
from replayfmt import accel, stream
from replayfmt.errors import ReplayFormatError

N = accel.native
if N is None:
    raise SystemExit("the compiled fast path is not built (or REPLAYFMT_PURE=1)")

#: (pure twin's module, name) of every compiled decoder.
NAMES = [(pure, f"{fl}_{rec}") for rec in ("ReplaySession", "ActiveSession")
         for pure, fl in ((GM, "parse"), (G, "summary"))]


def outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except ReplayFormatError as err:
        return ("error", err.kind, err.offset, err.path, err.expected, err.actual, err.reason)


def pure_json(b, p, e):
    saved, stream.native = stream.native, None
    try:
        return b"".join(stream.session_memvid_json(b, p, e))
    finally:
        stream.native = saved


def target(data: bytes) -> None:
    for p in (0, 16, 24, 32):
        if p > len(data):
            break
        for pure, name in NAMES:
            a = outcome(getattr(pure, name), data, p, len(data))
            c = outcome(getattr(N, name), data, p, len(data))
            if a != c:
                raise AssertionError(f"{name} at {p}: pure {a!r:.300} != compiled {c!r:.300}")
            if a[0] == "ok" and name.startswith("parse_"):
                build = "build_" + name[len("parse_"):]
                x, y = bytearray(), bytearray()
                getattr(G, build)(a[1][0], x)
                getattr(N, build)(a[1][0], y)
                if x != y:
                    raise AssertionError(f"{build}: encodings differ")
        a = outcome(pure_json, data, p, len(data))
        c = outcome(lambda p=p: b"".join(N.session_memvid_json(data, p, len(data))))
        if a != c:
            raise AssertionError(f"memvid JSON at {p}: pure {a!r:.300} != compiled {c!r:.300}")


if __name__ == "__main__":
    _common.run(target)
