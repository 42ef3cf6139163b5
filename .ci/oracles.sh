#!/usr/bin/env bash
# Builds the newest upstream tools as test oracles beside the Debian ones (promtool 2.42, amtool 0.25):
# promtool/prometheus 3.16, amtool/alertmanager 0.35 and sloth 0.16, from the Go module proxy, and 3.16's
# promqltest corpus.
# Binaries are cached between runs in $OPSCTL_ORACLES (default ~/.cache/opsctl-oracles/bin) under
# versioned names (promtool-3.16, ...), so a second run builds nothing. Prints the bin folder.
# pint and pyrra are not served by the module proxy here; their tests use their published outputs
# (../shared/data/pyrra) instead.
set -euo pipefail
BIN="${OPSCTL_ORACLES:-$HOME/.cache/opsctl-oracles/bin}"
mkdir -p "$BIN"
# name|module path of the main package|version
TOOLS=(
  "promtool-3.16|github.com/prometheus/prometheus/cmd/promtool|v0.316.0"
  "prometheus-3.16|github.com/prometheus/prometheus/cmd/prometheus|v0.316.0"
  "amtool-0.35|github.com/prometheus/alertmanager/cmd/amtool|v0.35.0"
  "alertmanager-0.35|github.com/prometheus/alertmanager/cmd/alertmanager|v0.35.0"
  "sloth-0.16|github.com/slok/sloth/cmd/sloth|v0.16.0"
)
if ! command -v go >/dev/null 2>&1; then
  echo "oracles: go not found; newer oracles not built" >&2
  echo "$BIN"
  exit 0
fi
# The alertmanager server embeds its web UI (ui/app/dist), which is built by npm and not part of the Go
# module: build it from a copy of the module's source with a placeholder UI (the API is all tests use).
build_with_placeholder_ui() {  # name module version package-dir
  local name="$1" module="$2" version="$3" pkgdir="$4" src work
  GOFLAGS=-mod=mod go mod download "$module@$version" >&2 || return 1
  src="$(go env GOMODCACHE)/$module@$version"
  work="$(mktemp -d)"
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  for ui in elm mantine; do
    mkdir -p "$work/ui/app/dist/$ui"
    echo "<html><body>UI not built (opsctl test oracle)</body></html>" > "$work/ui/app/dist/$ui/index.html"
  done
  (cd "$work" && GOFLAGS=-mod=mod go build -o "$BIN/$name" "./$pkgdir") >&2
  local rc=$?
  rm -rf "$work"
  return $rc
}

for entry in "${TOOLS[@]}"; do
  IFS='|' read -r name pkg version <<<"$entry"
  if [ -x "$BIN/$name" ]; then
    continue
  fi
  if [ "$name" = "alertmanager-0.35" ]; then
    echo "oracles: building $name (github.com/prometheus/alertmanager@$version, placeholder UI)" >&2
    build_with_placeholder_ui "$name" github.com/prometheus/alertmanager "$version" cmd/alertmanager \
      || echo "oracles: building $name failed" >&2
    continue
  fi
  tmp="$(mktemp -d)"
  echo "oracles: building $name ($pkg@$version)" >&2
  if GOBIN="$tmp" GOFLAGS=-mod=mod go install "$pkg@$version" >&2; then
    mv "$tmp/$(basename "$pkg")" "$BIN/$name"
  else
    echo "oracles: building $name failed" >&2
  fi
  rm -rf "$tmp"
done
# Prometheus 3.5's own float-histogram code behind a tiny JSON-lines program (tests/promql/histogram_oracle,
# pinned in its go.mod): the oracle of opsctl.promql.histogram (tests/promql/test_histogram_oracle.py).
HIST_SRC="$(cd "$(dirname "$0")/.." && pwd)/tests/promql/histogram_oracle"
if [ -f "$HIST_SRC/go.mod" ]; then
  # named by a hash of its source as the test names it, so a changed oracle is rebuilt
  HIST_NAME="histogram-oracle-3.5-$(cd "$HIST_SRC" && cat main.go go.mod go.sum | sha256sum | cut -c1-10)"
  if [ ! -x "$BIN/$HIST_NAME" ]; then
    echo "oracles: building $HIST_NAME (prometheus v3.5.0 model/histogram)" >&2
    (cd "$HIST_SRC" && GOFLAGS=-mod=readonly go build -o "$BIN/$HIST_NAME" .) >&2 \
      || echo "oracles: building $HIST_NAME failed" >&2
  fi
fi
# Prometheus 3.16's own promqltest corpus (promql/promqltest/testdata of the module built above): the
# corpus of the default --prometheus-version (tests/promql/test_promqltest_corpus_316.py), kept beside bin.
CORPUS316="$BIN/../promqltest-3.16"
if [ ! -f "$CORPUS316/functions.test" ]; then
  if GOFLAGS=-mod=mod go mod download github.com/prometheus/prometheus@v0.316.0 >&2; then
    src="$(go env GOMODCACHE)/github.com/prometheus/prometheus@v0.316.0/promql/promqltest/testdata"
    mkdir -p "$CORPUS316"
    cp "$src"/*.test "$CORPUS316/" && chmod u+w "$CORPUS316"/*.test
  else
    echo "oracles: downloading prometheus v0.316.0 (promqltest corpus) failed" >&2
  fi
fi
echo "$BIN"
