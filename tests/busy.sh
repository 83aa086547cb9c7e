#!/usr/bin/env bash
# `npm run test:busy`: the whole suite while stress-ng keeps both cores busy, to show that no test depends on
# a quiet machine (no wall-clock windows, waits on events). Repeatable: same load, same command.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v stress-ng >/dev/null || { echo "stress-ng is missing: apt-get install stress-ng"; exit 2; }
workers="${BUSY_WORKERS:-$(nproc)}"
stress-ng --cpu "$workers" --cpu-load "${BUSY_LOAD:-100}" --quiet &
load=$!
trap 'kill "$load" 2>/dev/null || true' EXIT
npm test
