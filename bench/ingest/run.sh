#!/usr/bin/env bash
# Benchmark: one participants extract of ~10^7 rows loaded by `ansinh ingest` into a fresh
# warehouse, and the equivalent job by DuckDB and by Polars, in one run. By hand, not in CI.
#
#   bench/ingest/run.sh [SCALE]
#
# SCALE 19 makes office 568's January 2024 extract about 10^7 rows.
# Needs: Python with duckdb, polars (and polars-hash for SHA-256 in Polars), GNU time.
set -euo pipefail
cd "$(dirname "$0")/../.."

scale=${1:-19}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ansinh-target}"
work="${BENCH_DIR:-$HOME/.cache/ansinh-bench}/ingest-${scale}"
bin="$CARGO_TARGET_DIR/release/ansinh"
export ANSINH_PSEUDONYM_KEY="benchmark-key-not-a-secret-0123456789"

cargo build --release --quiet
mkdir -p "$work"
csv="$work/landing/2024-01/568_2024-01_participants.csv"
if [ ! -f "$csv" ]; then
  "$bin" --log warn generate --out "$work/landing" --from 2024-01 --to 2024-01 --scale "$scale" \
    --office 568 --kind participants
fi
rows=$(($(wc -l < "$csv") - 1))
bytes=$(stat -c %s "$csv")

rm -rf "$work/warehouse" "$work/others"
mkdir -p "$work/others"
/usr/bin/time -f "%e %M" -o "$work/ansinh.time" "$bin" --log warn --landing "$work/landing" \
  --warehouse "$work/warehouse" --reference "$work/landing/reference" ingest --all >/dev/null
for engine in duckdb polars; do
  /usr/bin/time -f "%e %M" -o "$work/$engine.time" python3 bench/ingest/others.py "$engine" \
    "$csv" "$work/landing/reference/geography.csv" "$work/others/$engine.parquet" > "$work/$engine.json"
done

python3 - "$work" "$rows" "$bytes" <<'PY'
import json, sys
work, rows, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def timing(name):
    s, kb = open(f"{work}/{name}.time").read().split()
    return float(s), int(kb)
print(f"participants extract: {rows:,} rows, {size / 1e6:,.0f} MB")
results = {name: timing(name) for name in ["ansinh", "duckdb", "polars"]}
for name, (s, kb) in results.items():
    extra = "" if name == "ansinh" else "  " + open(f"{work}/{name}.json").read().strip()
    print(f"  {name:7}: {s:7.1f} s  {size / 1e6 / s:7.1f} MB/s  {rows / s:12,.0f} rows/s  peak RSS {kb / 1024:7.0f} MiB{extra}")
a = results["ansinh"][0]
print(f"  speed ratio duckdb/ansinh = {results['duckdb'][0] / a:.2f}, polars/ansinh = {results['polars'][0] / a:.2f} (>= 1.0: ansinh as fast)")
print(f"  ansinh peak RSS {results['ansinh'][1] / 1024:.0f} MiB (goal <= 1024)")
PY
