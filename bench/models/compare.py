"""Checks that ansinh's model outputs in a warehouse are the same rows as DuckDB's.

Usage: compare.py WAREHOUSE DUCKDB_DIR DUCKDB_JSON

DUCKDB_DIR and DUCKDB_JSON are what duckdb_build.py wrote over the same warehouse. Each
Parquet model is compared with EXCEPT ALL both ways (doubles to 9 decimal places); a
partitioned model is read as its hive-partitioned dataset. Exits 1 at the first difference.
"""
import json
import os
import sys

import duckdb


def main():
    warehouse, duck_dir, duck_json = sys.argv[1:]
    rows = json.load(open(duck_json))["rows"]
    con = duckdb.connect()
    for model, n in rows.items():
        layer = "staging" if model.startswith("stg_") else "marts"
        folder = f"{warehouse}/{layer}/{model}"
        path = f"{folder}/*/*.parquet" if os.path.isdir(folder) else f"{folder}.parquet"
        theirs = f"read_parquet('{duck_dir}/{model}.parquet')"
        columns = con.sql(f"DESCRIBE SELECT * FROM {theirs}").fetchall()
        select = ", ".join(
            f"round({c}, 9) AS {c}" if t == "DOUBLE" else c for c, t, *_ in columns
        )
        ours = f"SELECT {select} FROM read_parquet('{path}', hive_partitioning = true)"
        other = f"SELECT {select} FROM {theirs}"
        count = con.sql(f"SELECT COUNT(*) FROM ({ours})").fetchall()[0][0]
        if count != n:
            sys.exit(f"{model}: ansinh {count} rows, duckdb {n}")
        for x, y, who in [(ours, other, "ansinh"), (other, ours, "duckdb")]:
            extra = con.sql(f"SELECT COUNT(*) FROM ({x} EXCEPT ALL {y})").fetchall()[0][0]
            if extra:
                sys.exit(f"{model}: {extra} rows of {who}'s output are not in the other's")
    print(f"identical outputs: {len(rows)} Parquet models, {sum(rows.values()):,} rows")


if __name__ == "__main__":
    main()
