#!/usr/bin/env bash
# Installs a local Elasticsearch node (ES_HOME layout) from Maven Central artifacts into
# $CAIRN_CACHE/elasticsearch (default <repo>/.cache/elasticsearch). Idempotent: a marker file
# records the version and a hash of the inputs in this folder; when it matches, nothing is done.
# Needs only mvn, javac and jar (a JDK >= 17) on the machine. See README.md.
# Layout: lib/ (server module path), modules/{transport-netty4,cairn-rest-root}/, launcher/, config/, plugins/.
set -euo pipefail

ES_VERSION=8.19.21
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../../.." && pwd)"
CAIRN_CACHE="${CAIRN_CACHE:-$REPO_ROOT/.cache}"
ES_HOME="$CAIRN_CACHE/elasticsearch"
MARKER="$ES_HOME/.cairn-installed"

log() { echo "[es-install] $*" >&2; }
die() { echo "[es-install] ERROR: $*" >&2; exit 1; }

for tool in mvn javac jar; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found on PATH (need Maven and a JDK >= 17)"
done

# Everything that shapes the install goes into the stamp, so editing a pom/launcher/config re-installs.
inputs_hash() {
  (cd "$HERE" && cat pom.xml pom-transport-netty4.xml launcher/src/cairn/es/LocalNode.java \
     rest-root/src/cairn/es/rest/CairnRootPlugin.java rest-root/plugin-descriptor.properties \
     config/log4j2.properties config/jvm.options install.sh) | sha256sum | cut -c1-16
}
STAMP="elasticsearch $ES_VERSION inputs $(inputs_hash)"

if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$STAMP" ]]; then
  log "already installed: $STAMP ($ES_HOME)"
  exit 0
fi

mkdir -p "$CAIRN_CACHE"
STAGE="$(mktemp -d "$CAIRN_CACHE/.elasticsearch-install.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
# quiet batch-mode Maven; its output (stray ANSI resets stripped) goes to stderr
mvn_copy() { # <pom> <outdir>
  local out
  out="$(mvn -B -q -Dstyle.color=never -f "$1" "$DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$2" 2>&1)" || { echo "$out" >&2; die "mvn failed for $1"; }
  out="$(echo "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^[[:space:]]*$' || true)"
  [[ -z "$out" ]] || echo "$out" >&2
}

log "resolving server jars (org.elasticsearch:elasticsearch:$ES_VERSION) -> lib/"
mvn_copy "$HERE/pom.xml" "$STAGE/lib"

MOD="$STAGE/modules/transport-netty4"
log "resolving module transport-netty4 -> modules/transport-netty4/"
mvn_copy "$HERE/pom-transport-netty4.xml" "$MOD"
# a jar present both in lib/ and in a module is jar hell: keep the lib/ copy
for j in "$MOD"/*.jar; do
  if [[ -e "$STAGE/lib/$(basename "$j")" ]]; then rm -f "$j"; fi
done
# the plugin descriptor ships inside the module jar; extract it next to the jars
(cd "$MOD" && jar xf "transport-netty4-$ES_VERSION.jar" META-INF/es-plugins/transport-netty4/plugin-descriptor.properties \
  && mv META-INF/es-plugins/transport-netty4/plugin-descriptor.properties . && rm -rf META-INF)
grep -q '^classname=org.elasticsearch.transport.netty4.Netty4Plugin' "$MOD/plugin-descriptor.properties" \
  || die "unexpected plugin-descriptor.properties for transport-netty4"

log "compiling launcher and the cairn-rest-root module"
build_jar() { # <out.jar> <source files...>
  local out=$1; shift
  local classes; classes="$(mktemp -d "$STAGE/.classes.XXXXXX")"
  javac -nowarn --release 17 -cp "$STAGE/lib/*" -d "$classes" "$@"
  mkdir -p "$(dirname "$out")"
  jar cf "$out" -C "$classes" .
  rm -rf "$classes"
}
build_jar "$STAGE/launcher/cairn-es-launcher.jar" "$HERE/launcher/src/cairn/es/LocalNode.java"
# GET / lives in ES's rest-root module, which is not on Maven Central: a small stand-in module serves it
build_jar "$STAGE/modules/cairn-rest-root/cairn-rest-root-$ES_VERSION.jar" "$HERE/rest-root/src/cairn/es/rest/CairnRootPlugin.java"
cp "$HERE/rest-root/plugin-descriptor.properties" "$STAGE/modules/cairn-rest-root/"

# ES's native access loads lib/platform/<os>-<arch>/libzstd.so (shipped only in the tarball). Point it at
# the system libzstd when there is one; without it ES still runs, with native methods disabled (a WARN).
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PLATFORM=linux-x64 ;;
  Linux-aarch64) PLATFORM=linux-aarch64 ;;
  *) PLATFORM="" ;;
esac
if [[ -n "$PLATFORM" ]]; then
  ZSTD="$( (ldconfig -p 2>/dev/null || true) | awk '/libzstd\.so\.1 /{print $NF; exit}')"
  [[ -z "$ZSTD" ]] && for c in /usr/lib/*-linux-gnu/libzstd.so.1 /lib/*-linux-gnu/libzstd.so.1 /usr/lib64/libzstd.so.1; do
    [[ -e "$c" ]] && { ZSTD="$c"; break; }
  done
  if [[ -n "$ZSTD" ]]; then
    mkdir -p "$STAGE/lib/platform/$PLATFORM"
    ln -s "$ZSTD" "$STAGE/lib/platform/$PLATFORM/libzstd.so"
    log "native zstd: $ZSTD"
  else
    log "no system libzstd.so.1 found: Elasticsearch will run with native methods disabled"
  fi
fi

mkdir -p "$STAGE/config" "$STAGE/plugins"
cp "$HERE/config/log4j2.properties" "$HERE/config/jvm.options" "$STAGE/config/"
echo "$STAMP" > "$STAGE/.cairn-installed"

rm -rf "$ES_HOME"
mv "$STAGE" "$ES_HOME"
trap - EXIT
log "installed: $STAMP -> $ES_HOME"
