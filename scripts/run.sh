#!/usr/bin/env bash
# Sets up, builds (release) and runs mmusim on the built-in default scenario.
# Extra arguments go to `mmusim run` (e.g. a scenario file, --json out.json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build/release/mmusim run "$@"
