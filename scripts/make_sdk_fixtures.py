"""Write a small real `.mv2` with the memvid-sdk installed in the running interpreter.

    /tmp/sdk-2.0.160/bin/python scripts/make_sdk_fixtures.py [OUT_ROOT]

Writes OUT_ROOT/<sdk version>/mem.mv2.gz (OUT_ROOT defaults to fixtures/sdk) and sdk.json: what the
SDK itself reports about the file (version, stats, session_list, frames it returns). The recipe
exercises create, put (with uri, title, metadata, tags), put_many, find, and two recorded
sessions with checkpoints. The SDK is the producer; nothing in the output is edited afterwards.
The SDK reserves a 4 MiB write-ahead log, so the file is stored gzip-compressed (about 15 KB;
gzip without a timestamp, so the .gz is a function of the .mv2 bytes alone).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

import memvid_sdk


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def main(argv: list[str]) -> int:
    version = importlib.metadata.version("memvid-sdk")
    default = Path(__file__).resolve().parents[1] / "fixtures" / "sdk"
    root = Path(argv[1]) if len(argv) > 1 else default
    out = root / version
    out.mkdir(parents=True, exist_ok=True)
    path = out / "mem.mv2"
    for stale in (path, out / "mem.mv2.gz", out / "mem.mv2.session", out / "sdk.json"):
        stale.unlink(missing_ok=True)

    mem = memvid_sdk.create(str(path), enable_vec=False, enable_lex=True)
    report: dict = {"sdk_version": version, "steps": []}

    first = mem.session_start("sdk-recipe")
    report["steps"].append({"session_start": first})
    put_ids = [
        mem.put("Alpha notes", "notes", {"source": "recipe", "n": 1},
                text="alpha: the first document, about replay segments.",
                uri="mv2://recipe/alpha", tags=["alpha"]),
        mem.put("Beta notes", "notes", {"source": "recipe"},
                text="beta: a second document with other words.", uri="mv2://recipe/beta"),
    ]
    report["steps"].append({"put": put_ids})
    report["steps"].append({"session_checkpoint": mem.session_checkpoint()})
    many = mem.put_many([
        {"title": "Gamma", "label": "batch", "text": "gamma: batch document one.",
         "uri": "mv2://recipe/gamma", "metadata": {"k": "v"}},
        {"title": "Delta", "label": "batch", "text": "delta: batch document two."},
    ])
    report["steps"].append({"put_many": many})
    hits = mem.find("document", k=3)
    report["steps"].append({"find": {"query": "document",
                                     "hits": len(hits.get("hits", []))}})
    report["steps"].append({"session_checkpoint": mem.session_checkpoint()})
    report["steps"].append({"session_end": _jsonable(mem.session_end())})

    second = mem.session_start(None)
    report["steps"].append({"session_start": second})
    mem.put("Epsilon", "notes", {}, text="epsilon: put inside the unnamed session.")
    hits = mem.find("epsilon", k=1)
    report["steps"].append({"find": {"query": "epsilon", "hits": len(hits.get("hits", []))}})
    report["steps"].append({"session_end": _jsonable(mem.session_end())})

    report["session_list"] = _jsonable(mem.session_list())
    report["stats"] = _jsonable(mem.stats())
    mem.close()
    report["size"] = path.stat().st_size
    raw = path.read_bytes()
    report["sha256"] = hashlib.sha256(raw).hexdigest()
    (out / "mem.mv2.gz").write_bytes(gzip.compress(raw, 9, mtime=0))
    path.unlink()
    (out / "sdk.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"{path}.gz: {report['size']} bytes, {len(report['session_list'])} sessions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
