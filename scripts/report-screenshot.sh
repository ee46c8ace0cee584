#!/usr/bin/env bash
# Renders an `ansinh report` page in headless Chromium and saves a screenshot, for people who
# review the report's look. Usage: scripts/report-screenshot.sh report.html [report.png]
set -euo pipefail
page="$(realpath "${1:-report.html}")"
png="${2:-${page%.html}.png}"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1400,3200 \
  --screenshot="$png" "file://$page"
echo "wrote $png"
