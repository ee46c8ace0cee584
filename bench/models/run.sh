#!/usr/bin/env bash
# Benchmark: every model built over 30 generated months at scale 1.0, by ansinh and by DuckDB
# running the same SQL files over the same warehouse files, in one run. Run by hand, not in CI.
#
#   bench/models/run.sh [MONTHS] [SCALE]
#
# Needs: a release build (made here), Python with duckdb and deltalake, GNU time.
set -euo pipefail
cd "$(dirname "$0")/../.."

source bench/models/settings.sh "$@"

mkdir -p "$work"
last=$(python3 -c "m=$months-1; print(f'{2022 + m // 12:04d}-{m % 12 + 1:02d}')")
if [ ! -f "$work/landing/manifest.json" ]; then
  "$bin" --log warn generate --out "$work/landing" --from 2022-01 --to "$last" --scale "$scale"
fi
common=(--landing "$work/landing" --warehouse "$work/warehouse" --reference "$work/landing/reference")
"$bin" --log warn "${common[@]}" ingest --all >/dev/null

rows=$(python3 -c "
import json; m = json.load(open('$work/landing/manifest.json'))
print(sum(d['rows'] for d in m['deliveries']))")
order=$("$bin" --log warn "${common[@]}" plan | sed -nE 's/^ *[0-9]+\. ([a-z_0-9]+) \((view|parquet)[^)]*\).*/\1:\2/p')

rm -rf "$work/warehouse/marts" "$work/warehouse/staging" "$work/duckdb"
/usr/bin/time -f "%e %M" -o "$work/ansinh.time" "$bin" --log info "${common[@]}" build --full-refresh > "$work/build.txt" 2> "$work/build.log"
/usr/bin/time -f "%e %M" -o "$work/duckdb.time" \
  python3 bench/models/duckdb_build.py "$work/warehouse" sql "$work/duckdb" $order > "$work/duckdb.json"

python3 bench/models/compare.py "$work/warehouse" "$work/duckdb" "$work/duckdb.json"

read -r a_s a_kb < "$work/ansinh.time"
read -r d_s d_kb < "$work/duckdb.time"
python3 - "$work" "$a_s" "$a_kb" "$d_s" "$d_kb" "$rows" "$months" "$scale" <<'PY'
import json, sys
work, a_s, a_kb, d_s, d_kb, rows, months, scale = sys.argv[1:]
a_s, d_s, a_kb, d_kb = float(a_s), float(d_s), int(a_kb), int(d_kb)
print(f"models over {months} months at scale {scale}: {int(rows):,} input rows")
print(f"  ansinh build : {a_s:8.1f} s  peak RSS {a_kb / 1024:8.0f} MiB")
print(f"  duckdb       : {d_s:8.1f} s  peak RSS {d_kb / 1024:8.0f} MiB")
print(f"  speed ratio duckdb/ansinh = {d_s / a_s:.2f} (>= 1.0: ansinh no slower)")
print(f"  memory ratio ansinh/duckdb = {a_kb / d_kb:.2f}")
print("ansinh, model by model (build report):")
for line in open(f"{work}/build.txt"):
    if line.startswith("built "):
        print("  " + line.strip())
PY
