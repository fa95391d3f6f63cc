#!/usr/bin/env bash
# Installs a local Elasticsearch node (ES_HOME layout) from Maven Central artifacts into
# $CAIRN_CACHE/elasticsearch (default <repo>/.cache/elasticsearch). Idempotent: a marker file
# records the version and a hash of the inputs in this folder; when it matches, nothing is done.
# Needs only mvn, javac and jar (a JDK >= 17) on the machine. See README.md.
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

MVN=(mvn -B -q -Dstyle.color=never)
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1

log "resolving server jars (org.elasticsearch:elasticsearch:$ES_VERSION) -> lib/"
"${MVN[@]}" -f "$HERE/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
  -DincludeScope=runtime -DoutputDirectory="$STAGE/lib" >&2

MOD="$STAGE/modules/transport-netty4"
log "resolving module transport-netty4 -> modules/transport-netty4/"
"${MVN[@]}" -f "$HERE/pom-transport-netty4.xml" "$DEP_PLUGIN:copy-dependencies" \
  -DincludeScope=runtime -DoutputDirectory="$MOD" >&2
# a jar present both in lib/ and in a module is jar hell: keep the lib/ copy
for j in "$MOD"/*.jar; do
  if [[ -e "$STAGE/lib/$(basename "$j")" ]]; then rm -f "$j"; fi
done
# the plugin descriptor ships inside the module jar; extract it next to the jars
(cd "$MOD" && jar xf "transport-netty4-$ES_VERSION.jar" META-INF/es-plugins/transport-netty4/plugin-descriptor.properties \
  && mv META-INF/es-plugins/transport-netty4/plugin-descriptor.properties . && rm -rf META-INF)
grep -q '^classname=org.elasticsearch.transport.netty4.Netty4Plugin' "$MOD/plugin-descriptor.properties" \
  || die "unexpected plugin-descriptor.properties for transport-netty4"

log "compiling launcher"
mkdir -p "$STAGE/launcher/classes"
javac -nowarn --release 17 -cp "$STAGE/lib/*" -d "$STAGE/launcher/classes" "$HERE/launcher/src/cairn/es/LocalNode.java"
jar cf "$STAGE/launcher/cairn-es-launcher.jar" -C "$STAGE/launcher/classes" .
rm -rf "$STAGE/launcher/classes"

mkdir -p "$STAGE/config" "$STAGE/plugins"
cp "$HERE/config/log4j2.properties" "$HERE/config/jvm.options" "$STAGE/config/"
echo "$STAMP" > "$STAGE/.cairn-installed"

rm -rf "$ES_HOME"
mv "$STAGE" "$ES_HOME"
trap - EXIT
log "installed: $STAMP -> $ES_HOME"
