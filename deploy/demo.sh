#!/usr/bin/env bash
# The main job (README, `npm run demo`): installs what is missing, then `cairn demo` brings up
# the local stack, fetches the data, runs the pipeline and prints what it produced. The stack is
# left running to explore; `./bin/cairn stack down` stops it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/deploy/setup.sh"
exec "$repo/bin/cairn" demo "$@"
