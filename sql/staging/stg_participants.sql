-- description = "Active participants (status 1): one row per month, scheme and person. A person active in one scheme in several offices' extracts of the same month is counted once and assigned to the record with the latest paid_through, then the highest contribution_base, then the lowest office code."
-- # Several marts read it: computed once, a month at a time, and kept as Parquet under staging/.
-- tags = ["staging", "coverage"]
-- partition_by = "period"
-- period_inputs = ["participants"]
-- [period_digests]
-- # A month's records that carry only the 12-digit number take their person from links seen
-- # in any month: the month depends on those records' links, not on every link.
-- stg_person_links = """
-- SELECT b.period, md5(string_agg(b.national_id_key || '>' || COALESCE(l.person_id_key, '-'), ',' ORDER BY b.national_id_key)) AS digest
-- FROM participants AS b
-- LEFT JOIN (SELECT national_id_key, MIN(person_id_key) AS person_id_key FROM person_links GROUP BY national_id_key) AS l
--     ON l.national_id_key = b.national_id_key
-- WHERE b.person_id_key IS NULL AND b.status = 1
-- GROUP BY b.period
-- """
-- [columns]
-- period = "First day of the month of the extract."
-- scheme = "BHXH_BB, BHXH_TN, BHYT or BHTN."
-- person = "Pseudonym of the person, resolved through stg_person_links: a record carrying only the 12-digit number takes the pseudonym of the 10-digit code it was linked to by any record, in any month or office."
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
WITH -- A record that carries the 10-digit code is its own person; only the few that carry just the
-- number are joined with the links (the links are hashed, those records stream past). Joining
-- every record instead made the join's output end in one batch of every unmatched record.
resolved AS (
    SELECT p.*, COALESCE(p.person_id_key, p.person) AS resolved_person
    FROM participants AS p
    WHERE p.person_id_key IS NOT NULL AND p.status = 1
    UNION ALL
    SELECT p.*, COALESCE(l.person_id_key, p.national_id_key, p.person) AS resolved_person
    FROM stg_person_links AS l
    RIGHT JOIN participants AS p ON l.national_id_key = p.national_id_key
    WHERE p.person_id_key IS NULL AND p.status = 1
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
