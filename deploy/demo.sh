#!/usr/bin/env bash
# The main job (README, `npm run demo`): installs what is missing, then `cairn demo` brings up the
# local stack, ingests, retrains, serves an A/B test, replays the test period and writes the HTML
# report. It stops the servers it started (`npm run demo -- --keep-stack` keeps them) and leaves
# servers that were already running alone.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/deploy/setup.sh"
# The demo prints its own progress; the structured log (stderr) keeps to warnings and errors
# unless CAIRN_LOG_LEVEL asks for more.
export CAIRN_LOG_LEVEL="${CAIRN_LOG_LEVEL:-warn}"
exec "$repo/bin/cairn" demo "$@"
