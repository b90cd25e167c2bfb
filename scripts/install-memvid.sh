#!/usr/bin/env bash
# Install the real memvid CLI (our reference peer) from the npm registry.
#
#   scripts/install-memvid.sh            -> <repo>/.cache/memvid/2.0.160/package/memvid
#   REPLAYFMT_CACHE=/x scripts/install-memvid.sh   -> /x/memvid/2.0.160/package/memvid
#
# Idempotent: when the binary is already there and answers --version, nothing
# is downloaded. On success the binary's absolute path is the only thing
# printed on stdout (progress goes to stderr), so `BIN=$(scripts/install-memvid.sh)`
# works. Needs npm and tar; reaches only the npm registry.
set -euo pipefail

NPM_PACKAGE="@memvid/cli-linux-x64"
NPM_VERSION="2.0.160"
# The binary inside that package reports an older version string.
EXPECTED_VERSION_OUTPUT="memvid 2.0.140"

src="${BASH_SOURCE[0]}"
[[ "$src" == */* ]] || src="./$src"
here="$(cd "${src%/*}" && pwd)"
repo_root="$(cd "$here/.." && pwd)"
cache_root="${REPLAYFMT_CACHE:-$repo_root/.cache}"
dest="$cache_root/memvid/$NPM_VERSION"
binary="$dest/package/memvid"

log() { printf 'install-memvid: %s\n' "$*" >&2; }
die() { printf 'install-memvid: error: %s\n' "$*" >&2; exit 1; }

# Run `memvid --version` the way replayfmt.peer does: its shared libraries sit
# next to it, HOME is a throwaway dir, telemetry off. Prints the version line.
probe_version() {
    local bin="$1" home out
    home="$(mktemp -d)"
    if out="$(LD_LIBRARY_PATH="$(dirname "$bin")" HOME="$home" MEMVID_TELEMETRY=0 \
              "$bin" --version </dev/null 2>&1)"; then
        rm -rf "$home"
        printf '%s\n' "$out"
        return 0
    fi
    rm -rf "$home"
    printf '%s\n' "$out"
    return 1
}

check_installed() {
    [[ -x "$binary" ]] || return 1
    local out
    out="$(probe_version "$binary")" || return 1
    [[ "$out" == *"$EXPECTED_VERSION_OUTPUT"* ]] || return 1
    return 0
}

if check_installed; then
    log "already installed ($EXPECTED_VERSION_OUTPUT)"
    printf '%s\n' "$binary"
    exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found on PATH (apt-get install npm)"
command -v tar >/dev/null 2>&1 || die "tar not found on PATH"

mkdir -p "$dest" || die "cannot create $dest"

# Serialise concurrent installs (e.g. parallel test runs) when flock exists.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$dest/.install.lock"
    flock 9
    if check_installed; then
        log "installed by a concurrent run"
        printf '%s\n' "$binary"
        exit 0
    fi
fi

work="$(mktemp -d "$dest/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "npm pack $NPM_PACKAGE@$NPM_VERSION (about 66 MB)"
if ! (cd "$work" && npm pack --loglevel=error "$NPM_PACKAGE@$NPM_VERSION" \
        >"$work/pack.out" 2>"$work/pack.err"); then
    cat "$work/pack.err" >&2 || true
    die "npm pack $NPM_PACKAGE@$NPM_VERSION failed (is the npm registry reachable?)"
fi
shopt -s nullglob
tgzs=("$work"/*.tgz)
shopt -u nullglob
[[ ${#tgzs[@]} -eq 1 ]] || die "npm pack produced ${#tgzs[@]} .tgz files in $work, expected 1"

mkdir "$work/unpacked"
tar -xzf "${tgzs[0]}" -C "$work/unpacked" || die "cannot unpack ${tgzs[0]}"
[[ -f "$work/unpacked/package/memvid" ]] || die "package/memvid missing from ${tgzs[0]}"
chmod +x "$work/unpacked/package/memvid"

if ! out="$(probe_version "$work/unpacked/package/memvid")"; then
    printf '%s\n' "$out" >&2
    die "the unpacked binary does not run (memvid --version failed)"
fi
[[ "$out" == *"$EXPECTED_VERSION_OUTPUT"* ]] \
    || die "unexpected version output '$out' (expected '$EXPECTED_VERSION_OUTPUT')"

# Replace any broken previous install, then move the new one into place.
rm -rf "$dest/package"
mv "$work/unpacked/package" "$dest/package"

check_installed || die "installed binary at $binary does not answer --version"
log "installed $out"
printf '%s\n' "$binary"
