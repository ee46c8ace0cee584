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
    SELECT p.*, COALESCE(s.person, p.person) AS resolved_person
    FROM stg_persons AS s
    RIGHT JOIN participants AS p ON s.identifier_key = p.person
    WHERE p.status = 1
),
-- Persons with more than one active record in a scheme and month: few, so their records are
-- kept apart and ranked (a window over every record would sort them all), and the winner of
-- each is joined back.
repeated AS (
    SELECT period, scheme, resolved_person
    FROM resolved
    GROUP BY period, scheme, resolved_person
    HAVING COUNT(*) > 1
),
-- The winner's office and line are named apart from the record's own: DataFusion 55, pushing
-- the filter below down through this outer join, reads same-named columns of its two sides as
-- one.
winners AS (
    SELECT
        period,
        scheme,
        resolved_person,
        office AS winning_office,
        source_line AS winning_line,
        records,
        cross_office_duplicate
    FROM (
        SELECT
            r.period,
            r.scheme,
            r.resolved_person,
            r.office,
            r.source_line,
            COUNT(*) OVER (PARTITION BY r.period, r.scheme, r.resolved_person) AS records,
            MIN(r.office) OVER (PARTITION BY r.period, r.scheme, r.resolved_person)
                <> MAX(r.office) OVER (PARTITION BY r.period, r.scheme, r.resolved_person)
                AS cross_office_duplicate,
            ROW_NUMBER() OVER (
                PARTITION BY r.period, r.scheme, r.resolved_person
                ORDER BY r.paid_through DESC NULLS LAST, r.contribution_base DESC NULLS LAST, r.office ASC, r.source_line ASC
            ) AS pick
        FROM repeated AS d
        JOIN resolved AS r
            ON r.period = d.period AND r.scheme = d.scheme AND r.resolved_person = d.resolved_person
    ) AS ranked
    WHERE pick = 1
)
SELECT
    CAST(p.period || '-01' AS DATE) AS period,
    p.scheme,
    p.resolved_person AS person,
    p.office,
    COALESCE(p.district_code, p.office) AS district_code,
    p.commune_code,
    p.sex,
    p.birth_month,
    COALESCE(w.records, 1) AS records,
    COALESCE(w.cross_office_duplicate, false) AS cross_office_duplicate
FROM winners AS w
RIGHT JOIN resolved AS p
    ON w.period = p.period AND w.scheme = p.scheme AND w.resolved_person = p.resolved_person
WHERE w.records IS NULL OR (w.winning_office = p.office AND w.winning_line = p.source_line)
