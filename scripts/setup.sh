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
log "installing replayfmt[test,fuzz] into .venv (fuzz: atheris, coverage; wheels), building the compiled fast path (Cython, C compiler)"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,fuzz]'
if .venv/bin/python -c "import replayfmt._native" 2>/dev/null; then
    log "compiled fast path built (replayfmt._native)"
else
    log "WARNING: compiled fast path not built (no C compiler or Python headers?): pure-Python codec only"
fi

log "installing the memvid CLI (reference peer)"
bash scripts/install-memvid.sh >/dev/null

log "installing the Kaitai Struct compiler (schemas/replay.ksy tests)"
bash scripts/install-kaitai.sh >/dev/null

if ! command -v chromium >/dev/null 2>&1; then
    log "installing Debian's chromium (hex map page tests)"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
fi

log "done"
