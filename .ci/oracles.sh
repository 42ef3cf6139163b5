#!/usr/bin/env bash
# Builds the newest upstream tools as test oracles beside the Debian ones (promtool 2.42, amtool 0.25):
# promtool/prometheus 3.16, amtool/alertmanager 0.35 and sloth 0.16, from the Go module proxy.
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
for entry in "${TOOLS[@]}"; do
  IFS='|' read -r name pkg version <<<"$entry"
  if [ -x "$BIN/$name" ]; then
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
echo "$BIN"
