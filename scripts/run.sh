#!/usr/bin/env bash
# README command 1: installs what is missing, builds, and runs depot on its embedded default
# (a private PostgreSQL under ./data, http://127.0.0.1:8080 and https://127.0.0.1:8443).
# Extra arguments go to `depot serve`. Ctrl-C stops the server and its PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime CCACHE_NOHASHDIR=1
bash scripts/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec build/depot serve --data-dir "${DEPOT_DATA_DIR:-./data}" "$@"
