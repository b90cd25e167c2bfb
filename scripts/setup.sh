#!/usr/bin/env bash
# Installs replayfmt and every reference peer its tests use, into this checkout:
#   1. .venv/ with replayfmt (editable) and its test and fuzz extras: needs only Python and pip;
#   2. the peers, each on its own: the memvid CLI (npm), the Kaitai Struct compiler (npm),
#      Chromium (Debian apt) and memvid-sdk (pip).
# A peer that cannot be installed is reported in one line and the others go on; nothing already
# installed is undone. Exit status: 1 when replayfmt itself could not be installed; when a peer
# is missing, 0 on a workstation (the tests name the switch that runs the rest) and 1 in CI
# (CI=true), which requires every peer. Idempotent; safe to re-run. Reaches only PyPI, the npm
# registry and Debian's packages. APT_LOCK_WAIT (seconds, default 600) bounds the wait for a
# dpkg/apt lock held by another package manager.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

PYTHON="${PYTHON:-python3}"
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# --- 1. replayfmt itself -------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
    log "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv || { log "error: '$PYTHON -m venv .venv' failed"; exit 1; }
fi
log "installing replayfmt[test,fuzz,timeline,fleet] into .venv (timeline: pyarrow, duckdb;" \
    "fleet: dask, distributed)"
"${PIP[@]}" -e '.[test,fuzz,timeline,fleet]' || { log "error: pip could not install replayfmt"; exit 1; }
# the compiled fast path (setup.py builds it where Cython and a C compiler are present)
if native_err=$(.venv/bin/python -c "import replayfmt._native" 2>&1); then
    log "compiled fast path built (replayfmt._native, Cython + the C compiler)"
elif [ "${CI:-}" = true ]; then
    log "error: the compiled fast path does not import (C compiler? Python headers?):" \
        "$(tail -n 1 <<<"$native_err")"
    exit 1
else
    log "WARNING: compiled fast path not built or not importable ($(tail -n 1 <<<"$native_err")):" \
        "pure-Python codec only"
fi

# --- 2. the peers --------------------------------------------------------------------------
missing=()    # "peer: why; how to install" lines
skip=()       # names for REPLAYFMT_SKIP_PEERS

peer_missing() {  # peer_missing NAME WHY
    missing+=("$1: $2")
    skip+=("$1")
    log "peer $1 NOT installed: $2"
}

# Run an apt-get command, waiting (bounded) while another process holds the dpkg/apt lock.
apt_run() {
    local sudo=() deadline out rc
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    deadline=$(( $(date +%s) + ${APT_LOCK_WAIT:-600} ))
    while :; do
        out="$("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get \
                 -o DPkg::Lock::Timeout=30 "$@" 2>&1)"
        rc=$?
        [ $rc = 0 ] && return 0
        if grep -qE 'Could not get lock|Unable to acquire|is held by process' <<<"$out" \
                && [ "$(date +%s)" -lt "$deadline" ]; then
            log "waiting for the dpkg/apt lock held by another process (apt-get $1)"
            sleep 10
            continue
        fi
        printf '%s\n' "$out" | tail -5 >&2
        return $rc
    done
}

log "installing the memvid CLI (npm @memvid/cli-linux-x64)"
if err="$(bash scripts/install-memvid.sh 2>&1 >/dev/null)"; then :; else
    peer_missing memvid "$(tail -1 <<<"$err" | sed 's/^replayfmt.peer: error: //')"
fi

log "installing the Kaitai Struct compiler (npm kaitai-struct-compiler)"
if err="$(bash scripts/install-kaitai.sh 2>&1 >/dev/null)"; then :; else
    peer_missing kaitai "$(tail -1 <<<"$err" | sed 's/^install-kaitai: //')"
fi

if command -v chromium >/dev/null 2>&1; then
    :
elif [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
    peer_missing chromium "not root and no sudo: apt-get install chromium as root"
elif ! command -v apt-get >/dev/null 2>&1; then
    peer_missing chromium "no apt-get: install Chromium with this system's package manager"
else
    log "installing Debian's chromium (hex map page tests; about 115 packages)"
    if ! { apt_run update -qq && apt_run install -y -qq chromium; }; then
        peer_missing chromium "apt-get install chromium failed (its last lines are above)"
    elif ! command -v chromium >/dev/null 2>&1; then
        peer_missing chromium "apt-get installed chromium but it is not on PATH"
    fi
fi

log "installing memvid-sdk (pip, replayfmt[sdk])"
if "${PIP[@]}" -e '.[sdk]' && .venv/bin/python -c 'import memvid_sdk' 2>/dev/null; then :; else
    peer_missing memvid_sdk "pip install -e '.[sdk]' failed (memvid-sdk has wheels for Linux, macOS and Windows on x86_64/arm64)"
fi

# --- 3. the verdict -----------------------------------------------------------------------
if [ ${#missing[@]} = 0 ]; then
    log "done: replayfmt and every peer (memvid, kaitai, chromium, memvid_sdk) installed"
    exit 0
fi
log "done: replayfmt installed; ${#missing[@]} peer(s) missing:"
for line in "${missing[@]}"; do log "  missing peer $line"; done
list="$(IFS=,; echo "${skip[*]}")"
log "fix the above and re-run scripts/setup.sh, or run the other tests with:"
log "  REPLAYFMT_SKIP_PEERS=$list .venv/bin/python -m pytest"
if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
    log "error: CI requires every peer"
    exit 1
fi
exit 0
