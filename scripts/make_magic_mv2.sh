#!/bin/sh
# Writes fixtures/damaged/cli/magic_in_docs.mv2 with the real memvid CLI (2.0.160): documents
# holding the magic strings, a session whose name holds one, and a raw stored copy of a real
# segment (p10 segment-0) that the replay machinery never wrote. Timestamps and ids differ on
# every run; the tests only rely on the structure.
#   MEMVID_DIR=/path/to/memvid/package sh scripts/make_magic_mv2.sh
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
M=${MEMVID_DIR:-$ROOT/.cache/memvid/2.0.160/package}
SEG=${SEG:-$ROOT/fixtures/real/p10_two_cycles/segment-0.bin}
W=$(mktemp -d)
export LD_LIBRARY_PATH="$M" HOME="$W/home" TMPDIR="$W/tmp" MEMVID_TELEMETRY=0
mkdir -p "$W/home" "$W/tmp"
cd "$W"
cp "$SEG" seg.bin
"$M/memvid" create f.mv2
printf 'notes mention MV2RPLY! and MV2ACTIV magic strings inside a document' | "$M/memvid" put f.mv2
"$M/memvid" put f.mv2 --input seg.bin
"$M/memvid" session start f.mv2 -n "has MV2RPLY! in name"
printf 'another MV2RPLY! doc' | "$M/memvid" put f.mv2
"$M/memvid" find f.mv2 --query "MV2RPLY"
"$M/memvid" session end f.mv2
"$M/memvid" put f.mv2 --input seg.bin --raw --allow-duplicate
mkdir -p "$ROOT/fixtures/damaged/cli"
cp f.mv2 "$ROOT/fixtures/damaged/cli/magic_in_docs.mv2"
rm -rf "$W"
