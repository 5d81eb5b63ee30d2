#!/usr/bin/env bash
# Sets up, builds (debug, assertions on) and runs the whole test suite with ctest.
# Usage: scripts/test.sh [debug|asan|release]
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-debug}
scripts/setup.sh
scripts/build.sh "$flavour"
cd "build/$flavour"
ctest --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"
