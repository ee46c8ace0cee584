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
-- Persons with more than one active record in a scheme and month: few, so kept apart and
-- joined back (an unbounded window over every record would hold them all in memory).
repeated AS (
    SELECT
        period,
        scheme,
        resolved_person,
        COUNT(*) AS records,
        MIN(office) <> MAX(office) AS cross_office_duplicate
    FROM resolved
    GROUP BY period, scheme, resolved_person
    HAVING COUNT(*) > 1
),
-- Every record with the count of its person's active records in the scheme and month.
counted AS (
    SELECT
        p.period AS period_text,
        CAST(p.period || '-01' AS DATE) AS period,
        p.scheme,
        p.resolved_person AS person,
        p.office,
        COALESCE(p.district_code, p.office) AS district_code,
        p.commune_code,
        p.sex,
        p.birth_month,
        p.paid_through,
        p.contribution_base,
        p.source_line,
        d.records,
        d.cross_office_duplicate
    FROM repeated AS d
    RIGHT JOIN resolved AS p
        ON d.period = p.period AND d.scheme = p.scheme AND d.resolved_person = p.resolved_person
),
-- The rule ranks only the records of persons that have several: a sort of those few, not of
-- every record.
ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY period_text, scheme, person
            ORDER BY paid_through DESC NULLS LAST, contribution_base DESC NULLS LAST, office ASC, source_line ASC
        ) AS pick
    FROM counted
    WHERE records IS NOT NULL
)
SELECT period, scheme, person, office, district_code, commune_code, sex, birth_month,
    CAST(1 AS BIGINT) AS records, false AS cross_office_duplicate
FROM counted
WHERE records IS NULL
UNION ALL
SELECT period, scheme, person, office, district_code, commune_code, sex, birth_month,
    COALESCE(records, 1), COALESCE(cross_office_duplicate, false)
FROM ranked
WHERE pick = 1
