-- description = "Active participants (status 1): one row per month, scheme and person. A person active in one scheme in several offices' extracts of the same month is counted once and assigned to the record with the latest paid_through, then the highest contribution_base, then the lowest office code."
-- # Several marts read it: computed once, a month at a time, and kept as Parquet under staging/.
-- tags = ["staging", "coverage"]
-- partition_by = "period"
-- period_inputs = ["participants"]
-- [period_digests]
-- # A month's persons are what stg_persons makes of its records' identifiers: the month
-- # depends on the person of each of its linked records (by office and line, so no row is
-- # counted twice and the digest streams), not on every link of every month.
-- stg_persons = """
-- SELECT r.period, CAST(bit_xor(digest64(CAST(r.office AS VARCHAR) || ':' || CAST(r.source_line AS VARCHAR) || '>' || s.person)) AS VARCHAR) AS digest
-- FROM participants AS r
-- JOIN stg_persons AS s ON s.identifier_key = r.person
-- WHERE r.status = 1
-- GROUP BY r.period
-- """
-- [columns]
-- period = "First day of the month of the extract."
-- scheme = "BHXH_BB, BHXH_TN, BHYT or BHTN."
-- person = "Pseudonym of the person, resolved through stg_persons: the lowest personal ID of the identifiers linked to the record's by any record, in any month or office; the record's own identifier when it was never linked."
-- office = "Office whose record was kept."
-- district_code = "District of the kept record (the office where the extract has no district)."
-- commune_code = "Commune of the kept record."
-- sex = "M or F."
-- birth_month = "First day of the birth month."
-- records = "Active records of the person in this scheme and month, across offices."
-- cross_office_duplicate = "Whether the person is active in this scheme in more than one office's extract of the month."
-- [[tests]]
-- unique = ["period", "scheme", "person"]
-- [[tests]]
-- not_null = ["period", "scheme", "person", "district_code"]
WITH -- Each record's identifier (its code, else its personal ID) takes its person from
-- stg_persons; the persons are hashed and the records stream past them.
resolved AS (
    SELECT
        p.period,
        p.scheme,
        COALESCE(s.person, p.person) AS resolved_person,
        CAST(p.office AS VARCHAR) AS office_code,
        p.district_code,
        p.commune_code,
        p.sex,
        p.birth_month,
        p.paid_through,
        p.contribution_base,
        p.source_line
    FROM stg_persons AS s
    RIGHT JOIN participants AS p ON s.identifier_key = p.person
    WHERE p.status = 1
),
-- One pass over the records: each person's kept record is the first in the order of the
-- rule, taken column by column as the records go by (no sort, no second read).
kept AS (
    SELECT
        period,
        scheme,
        resolved_person,
        first_value(office_code ORDER BY paid_through DESC NULLS LAST, contribution_base DESC NULLS LAST, office_code ASC, source_line ASC) AS office,
        first_value(COALESCE(district_code, office_code) ORDER BY paid_through DESC NULLS LAST, contribution_base DESC NULLS LAST, office_code ASC, source_line ASC) AS district_code,
        first_value(commune_code ORDER BY paid_through DESC NULLS LAST, contribution_base DESC NULLS LAST, office_code ASC, source_line ASC) AS commune_code,
        first_value(sex ORDER BY paid_through DESC NULLS LAST, contribution_base DESC NULLS LAST, office_code ASC, source_line ASC) AS sex,
        first_value(birth_month ORDER BY paid_through DESC NULLS LAST, contribution_base DESC NULLS LAST, office_code ASC, source_line ASC) AS birth_month,
        COUNT(*) AS records,
        MIN(office_code) <> MAX(office_code) AS cross_office_duplicate
    FROM resolved
    GROUP BY period, scheme, resolved_person
)
SELECT
    CAST(period || '-01' AS DATE) AS period,
    scheme,
    resolved_person AS person,
    office,
    district_code,
    commune_code,
    sex,
    birth_month,
    records,
    cross_office_duplicate
FROM kept
