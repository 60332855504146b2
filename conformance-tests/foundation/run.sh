#!/usr/bin/env bash
# Foundation conformance: HTTP core robustness, quota under concurrency across two servers,
# crash recovery, a missing database, a full disk, clean shutdown.
set -uo pipefail
cd "$(dirname "$0")"
export BOTO_DISABLE_CRT=true
unset AWS_CA_BUNDLE
exec /usr/bin/python3 -u test_foundation.py
