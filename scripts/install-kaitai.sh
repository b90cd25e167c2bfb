#!/usr/bin/env bash
# Install the Kaitai Struct compiler (JS build, npm `kaitai-struct-compiler`) and the YAML
# reader it needs (`js-yaml`) into <repo>/.cache/kaitai. Idempotent: npm is only run when a
# pinned version is missing. Compile with: node scripts/ksc.js python schemas/replay.ksy OUTDIR
set -euo pipefail

KSC_VERSION="${KAITAI_VERSION:-0.11.0}"
YAML_VERSION="4.1.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/kaitai"

command -v node >/dev/null || { echo "install-kaitai: node not found on PATH (apt-get install nodejs npm)" >&2; exit 2; }
command -v npm >/dev/null || { echo "install-kaitai: npm not found on PATH (apt-get install npm)" >&2; exit 2; }

have() {  # have PACKAGE VERSION: is that exact version installed in DEST?
    local pj="$DEST/node_modules/$1/package.json"
    [ -f "$pj" ] && [ "$(node -p "require('$pj').version")" = "$2" ]
}

if ! have kaitai-struct-compiler "$KSC_VERSION" || ! have js-yaml "$YAML_VERSION"; then
    mkdir -p "$DEST"
    [ -f "$DEST/package.json" ] || echo '{"private": true}' > "$DEST/package.json"
    npm install --prefix "$DEST" --no-audit --no-fund --loglevel=error \
        "kaitai-struct-compiler@$KSC_VERSION" "js-yaml@$YAML_VERSION" >&2
fi
echo "$DEST/node_modules/kaitai-struct-compiler"
