#!/usr/bin/env bash
# Benchmark: peak memory of `ansinh ingest` against the size of the file and the configured
# budget (`ingest.memory_limit_mb`). By hand, not in CI.
#
#   bench/ingest/memory.sh [SCALES] [LIMITS]
#
# SCALES (default "2 19 57") are generator scales of office 568's January 2024 participants
# extract: about 10^6, 10^7 and 3*10^7 rows. The largest is kept gzip-compressed to save disk.
# LIMITS (default "256 512 1024") are memory budgets in MiB. Each file is loaded into a fresh
# warehouse under each budget; the table shows peak RSS, which should stay under the budget and
# not grow with the file.
set -euo pipefail
cd "$(dirname "$0")/../.."

scales=${1:-2 19 57}
limits=${2:-256 512 1024}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ansinh-target}"
root="${BENCH_DIR:-$HOME/.cache/ansinh-bench}"
bin="$CARGO_TARGET_DIR/release/ansinh"
export ANSINH_PSEUDONYM_KEY="benchmark-key-not-a-secret-0123456789"

cargo build --release --quiet
printf '%-10s %12s %10s %10s %9s %14s\n' scale rows "limit MiB" seconds "rows/s" "peak RSS MiB"
for scale in $scales; do
  work="$root/ingest-$scale"
  csv="$work/landing/2024-01/568_2024-01_participants.csv"
  if [ ! -f "$csv" ] && [ ! -f "$csv.gz" ]; then
    "$bin" --log warn generate --out "$work/landing" --from 2024-01 --to 2024-01 \
      --scale "$scale" --office 568 --kind participants
    if [ "$scale" -gt 20 ]; then
      gzip -1 "$csv"
    fi
  fi
  if [ -f "$csv" ]; then
    rows=$(($(wc -l < "$csv") - 1))
  else
    rows=$(($(gzip -dc "$csv.gz" | wc -l) - 1))
  fi
  for limit in $limits; do
    rm -rf "$work/warehouse-memory"
    ANSINH_INGEST__MEMORY_LIMIT_MB="$limit" /usr/bin/time -f "%e %M" -o "$work/memory.time" \
      "$bin" --log warn --landing "$work/landing" --warehouse "$work/warehouse-memory" \
      --reference "$work/landing/reference" ingest --all >/dev/null
    read -r seconds kb < "$work/memory.time"
    python3 -c "
s, kb, rows = $seconds, $kb, $rows
print(f'{\"$scale\":<10} {rows:>12,} {$limit:>10} {s:>10.1f} {rows / s:>9,.0f} {kb / 1024:>14,.0f}')"
  done
  rm -rf "$work/warehouse-memory"
done
