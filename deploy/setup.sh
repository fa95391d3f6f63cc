#!/usr/bin/env bash
# Installs what Cairn's code needs beside the servers: XGBoost's C library (Debian) for the
# ranker, and the Node dependencies when they are missing or stale. onnxruntime-node's install
# script would download CUDA files (no internet here); its CPU binaries ship in the package.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash deploy/local/install-ranker.sh
export ONNXRUNTIME_NODE_INSTALL=skip
if [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo '[setup] npm ci' >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
