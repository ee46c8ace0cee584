"""The ingest job done by DuckDB or Polars, for comparison with `ansinh ingest`.

Usage: others.py duckdb|polars CSV GEOGRAPHY_CSV OUT_PARQUET

Reads the participants CSV with explicit (text) types, applies the contract's rules (identifier
formats, dates, sex, scheme and status codes, communes that exist, fields required by scheme,
amounts), hashes the identifiers with a keyed SHA-256, and writes the valid rows as zstd
Parquet. Prints one JSON object with the rows read, written and rejected.
"""
import json
import sys

KEY = "benchmark-key-not-a-secret-0123456789"
HEADERS = [
    "person_id", "national_id", "full_name", "birth_date", "sex", "scheme", "status",
    "district_code", "commune_code", "employer_code", "contribution_base", "paid_through",
    "hi_group",
]


def run_duckdb(csv_path, geography, out):
    import duckdb

    con = duckdb.connect()
    columns = ", ".join(f"'{h}': 'VARCHAR'" for h in HEADERS)
    con.execute(
        f"CREATE VIEW raw AS SELECT * FROM read_csv('{csv_path}', header = true, delim = ',', "
        f"quote = '\"', columns = {{{columns}}})"
    )
    con.execute(f"CREATE TABLE communes AS SELECT unit_code, parent_code FROM read_csv('{geography}', header = true, all_varchar = true) WHERE level = 'commune'")
    con.execute(f"""
        CREATE VIEW checked AS
        SELECT r.*,
            coalesce(try_strptime(birth_date, '%d/%m/%Y'), try_strptime(birth_date, '%m/%Y'),
                     try_strptime(birth_date, '%Y')) AS birth,
            CASE lower(sex) WHEN '1' THEN 'M' WHEN 'nam' THEN 'M' WHEN '0' THEN 'F' WHEN 'nữ' THEN 'F' END AS sex_code,
            try_cast(replace(contribution_base, '.', '') AS BIGINT) AS base,
            try_strptime(paid_through, '%m/%Y') AS paid,
            c.unit_code IS NOT NULL AND c.parent_code = r.district_code AS commune_ok
        FROM raw r LEFT JOIN communes c ON c.unit_code = r.commune_code
    """)
    valid = """
        (person_id IS NOT NULL OR national_id IS NOT NULL)
        AND (person_id IS NULL OR regexp_full_match(person_id, '[0-9]{10}'))
        AND (national_id IS NULL OR regexp_full_match(national_id, '[0-9]{12}'))
        AND birth IS NOT NULL AND sex_code IS NOT NULL
        AND scheme IN ('BHXH_BB', 'BHXH_TN', 'BHYT', 'BHTN') AND status IN ('1', '2', '3')
        AND commune_ok
        AND (scheme NOT IN ('BHXH_BB', 'BHTN') OR employer_code IS NOT NULL)
        AND (scheme = 'BHYT' OR base > 0)
        AND (scheme <> 'BHXH_TN' OR paid IS NOT NULL)
        AND (scheme <> 'BHYT' OR regexp_full_match(hi_group, '[A-Z]{2}'))
    """
    con.execute(f"""
        COPY (
            SELECT
                CASE WHEN person_id IS NOT NULL THEN sha256('{KEY}' || person_id) END AS person_id_key,
                CASE WHEN national_id IS NOT NULL THEN sha256('{KEY}' || national_id) END AS national_id_key,
                date_trunc('month', birth) AS birth_month, sex_code AS sex, scheme,
                CAST(status AS INTEGER) AS status, district_code, commune_code, employer_code,
                base AS contribution_base, paid AS paid_through, hi_group
            FROM checked WHERE {valid}
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
    """)
    read = con.execute("SELECT COUNT(*) FROM raw").fetchone()[0]
    written = con.execute(f"SELECT COUNT(*) FROM read_parquet('{out}')").fetchone()[0]
    return read, written


def run_polars(csv_path, geography, out):
    import polars as pl

    try:
        import polars_hash  # noqa: F401  (registers .chash)
        def digest(c):
            return (pl.lit(KEY) + pl.col(c)).chash.sha2_256()
    except ImportError:
        def digest(c):
            return (pl.lit(KEY) + pl.col(c)).hash()
    communes = (
        pl.read_csv(geography, schema_overrides={"unit_code": pl.Utf8, "parent_code": pl.Utf8})
        .filter(pl.col("level") == "commune").select("unit_code", "parent_code").lazy()
    )
    # Every column as text, named by the contract's field names.
    raw = pl.scan_csv(csv_path, has_header=True, new_columns=HEADERS, infer_schema=False)
    checked = raw.join(communes, left_on="commune_code", right_on="unit_code", how="left").with_columns(
        birth=pl.coalesce(
            pl.col("birth_date").str.strptime(pl.Date, "%d/%m/%Y", strict=False),
            ("01/" + pl.col("birth_date")).str.strptime(pl.Date, "%d/%m/%Y", strict=False),
            ("01/01/" + pl.col("birth_date")).str.strptime(pl.Date, "%d/%m/%Y", strict=False),
        ),
        sex_code=pl.col("sex").str.to_lowercase().replace_strict(
            {"1": "M", "nam": "M", "0": "F", "nữ": "F"}, default=None),
        base=pl.col("contribution_base").str.replace_all(".", "", literal=True).cast(pl.Int64, strict=False),
        paid=("01/" + pl.col("paid_through")).str.strptime(pl.Date, "%d/%m/%Y", strict=False),
    )
    scheme = pl.col("scheme")
    valid = (
        (pl.col("person_id").is_not_null() | pl.col("national_id").is_not_null())
        & (pl.col("person_id").is_null() | pl.col("person_id").str.contains(r"^[0-9]{10}$"))
        & (pl.col("national_id").is_null() | pl.col("national_id").str.contains(r"^[0-9]{12}$"))
        & pl.col("birth").is_not_null() & pl.col("sex_code").is_not_null()
        & scheme.is_in(["BHXH_BB", "BHXH_TN", "BHYT", "BHTN"]) & pl.col("status").is_in(["1", "2", "3"])
        & (pl.col("parent_code") == pl.col("district_code")).fill_null(False)
        & (~scheme.is_in(["BHXH_BB", "BHTN"]) | pl.col("employer_code").is_not_null())
        & ((scheme == "BHYT") | (pl.col("base") > 0).fill_null(False))
        & ((scheme != "BHXH_TN") | pl.col("paid").is_not_null())
        & ((scheme != "BHYT") | pl.col("hi_group").str.contains(r"^[A-Z]{2}$").fill_null(False))
    )
    result = checked.filter(valid).select(
        person_id_key=digest("person_id"), national_id_key=digest("national_id"),
        birth_month=pl.col("birth").dt.truncate("1mo"), sex=pl.col("sex_code"), scheme=scheme,
        status=pl.col("status").cast(pl.Int32), district_code="district_code",
        commune_code="commune_code", employer_code="employer_code", contribution_base="base",
        paid_through="paid", hi_group="hi_group",
    )
    result.sink_parquet(out, compression="zstd")
    read = raw.select(pl.len()).collect().item()
    written = pl.scan_parquet(out).select(pl.len()).collect().item()
    return read, written


def main():
    engine, csv_path, geography, out = sys.argv[1:]
    read, written = (run_duckdb if engine == "duckdb" else run_polars)(csv_path, geography, out)
    print(json.dumps({"rows_read": read, "rows_written": written, "rows_rejected": read - written}))


if __name__ == "__main__":
    main()
