#!/usr/bin/env bash
# Installs everything replayfmt and its tests need, from scratch, into this checkout:
#   .venv/ (the package, editable, with its test extras) and .cache/ (the real memvid CLI).
# Idempotent; safe to re-run. Reaches only PyPI, the npm registry and Debian's packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    log "creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
log "installing replayfmt[test] into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

log "installing the memvid CLI (reference peer)"
bash scripts/install-memvid.sh >/dev/null

log "done"
