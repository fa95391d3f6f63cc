#!/usr/bin/env bash
# The test command (README, `npm test`, .ci/run): installs what is missing, checks types and
# lint, brings up the real local stack, runs every test against it, and stops what it started
# even when tests fail. Exits with the tests' status.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash deploy/setup.sh
# The report test opens the demo's HTML report in a headless browser.
if ! command -v chromium >/dev/null; then
  echo '[test] chromium (Debian) for the report test' >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

echo '== typecheck and lint'
npx tsc --noEmit -p .
npx biome check .

cairn=("$repo/bin/cairn")
started_stack=0
if ! "${cairn[@]}" stack status >/dev/null 2>&1; then
  started_stack=1
  trap '"${cairn[@]}" stack down || true' EXIT
fi
echo '== stack up'
"${cairn[@]}" stack up
"${cairn[@]}" data fetch

echo '== tests'
mapfile -t files < <(find test -name '*.test.ts' | sort)
status=0
# A deadline generous enough that only a hang trips it (tests bound their own waits). Node 20
# applies --test-timeout to each test file's process as a whole, so it is sized for the longest file.
node --test --import tsx --test-concurrency=1 --test-timeout=1800000 "${files[@]}" || status=$?
[[ $started_stack == 1 ]] && echo '== stack down (started by this run)'
exit "$status"
