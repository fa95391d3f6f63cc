#!/usr/bin/env bash
# Installs XGBoost's C library, which the ranking stage calls through koffi
# (services/ranking/xgboost.ts). Idempotent: nothing is done when the pinned Debian
# version is already installed. Only Debian's package archive is used.
set -euo pipefail

# Bookworm's build; the ranker reads the JSON model layout of the 1.7 series.
XGBOOST_DEB_VERSION="${XGBOOST_DEB_VERSION:-1.7.4-1}"

log() { printf '[install-ranker] %s\n' "$*" >&2; }

installed="$(dpkg-query -W -f='${Status} ${Version}' libxgboost0 2>/dev/null || true)"
if [[ "$installed" == "install ok installed $XGBOOST_DEB_VERSION" ]]; then
  exit 0
fi

log "libxgboost0=$XGBOOST_DEB_VERSION from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "libxgboost0=$XGBOOST_DEB_VERSION" >/dev/null
ldconfig -p | grep -q 'libxgboost\.so\.0' || {
  log 'libxgboost.so.0 is not on the loader path after the install'
  exit 1
}
