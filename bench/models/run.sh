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

read -r a_s a_kb < "$work/ansinh.time"
read -r d_s d_kb < "$work/duckdb.time"
python3 - "$work" "$a_s" "$a_kb" "$d_s" "$d_kb" "$rows" "$months" "$scale" <<'PY'
import json, sys, duckdb
work, a_s, a_kb, d_s, d_kb, rows, months, scale = sys.argv[1:]
a_s, d_s, a_kb, d_kb = float(a_s), float(d_s), int(a_kb), int(d_kb)
duck = json.load(open(f"{work}/duckdb.json"))["rows"]
# Identical outputs: the same rows (EXCEPT ALL both ways, doubles to 9 decimal places).
con = duckdb.connect()
for mart, n in duck.items():
    path = (f"{work}/warehouse/staging/{mart}/*/*.parquet" if mart.startswith("stg_")
            else f"{work}/warehouse/marts/{mart}.parquet")
    theirs = f"read_parquet('{work}/duckdb/{mart}.parquet')"
    columns = con.sql(f"DESCRIBE SELECT * FROM {theirs}").fetchall()
    select = ", ".join(f"round({c}, 9) AS {c}" if t == "DOUBLE" else c for c, t, *_ in columns)
    a = f"SELECT {select} FROM read_parquet('{path}', hive_partitioning = true)"
    b = f"SELECT {select} FROM {theirs}"
    ours = con.sql(f"SELECT COUNT(*) FROM ({a})").fetchall()[0][0]
    assert ours == n, f"{mart}: ansinh {ours} rows, duckdb {n}"
    for x, y in [(a, b), (b, a)]:
        extra = con.sql(f"SELECT COUNT(*) FROM ({x} EXCEPT ALL {y})").fetchall()[0][0]
        assert extra == 0, f"{mart}: {extra} rows of one engine's output are not in the other's"
print(f"identical outputs: {len(duck)} Parquet models, {sum(duck.values()):,} rows")
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
