#!/usr/bin/env bash
# Install the real memvid CLI (our reference peer) from the npm registry:
#
#   scripts/install-memvid.sh                     -> <repo>/.cache/memvid/2.0.160/package/memvid
#   REPLAYFMT_CACHE=/x scripts/install-memvid.sh  -> /x/memvid/2.0.160/package/memvid
#
# A wrapper of `python -m replayfmt.peer install` (standard library only, so it runs before
# replayfmt's dependencies are installed). Idempotent: when the binary is already there and
# answers --version, nothing is downloaded. On success the binary's absolute path is the only
# thing printed on stdout (progress goes to stderr), so `BIN=$(scripts/install-memvid.sh)`
# works. Needs npm; reaches only the npm registry.
set -euo pipefail

src="${BASH_SOURCE[0]}"
[[ "$src" == */* ]] || src="./$src"
repo_root="$(cd "${src%/*}/.." && pwd)"
cache_root="${REPLAYFMT_CACHE:-$repo_root/.cache}"
PYTHON="${PYTHON:-python3}"
[[ -x "$repo_root/.venv/bin/python" ]] && PYTHON="$repo_root/.venv/bin/python"

PYTHONPATH="$repo_root${PYTHONPATH:+:$PYTHONPATH}" \
    exec "$PYTHON" -m replayfmt.peer install --cache "$cache_root"
