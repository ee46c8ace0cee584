-- description = "Active participants (status 1): one row per month, scheme and person. A person active in one scheme in several offices' extracts of the same month is counted once and assigned to the record with the latest paid_through, then the highest contribution_base, then the lowest office code."
-- tags = ["staging", "coverage"]
-- [columns]
-- period = "First day of the month of the extract."
-- scheme = "BHXH_BB, BHXH_TN, BHYT or BHTN."
-- person = "Pseudonym of the person."
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
WITH ranked AS (
    SELECT
        CAST(p.period || '-01' AS DATE) AS period,
        p.scheme,
        p.person,
        p.office,
        COALESCE(p.district_code, p.office) AS district_code,
        p.commune_code,
        p.sex,
        p.birth_month,
        COUNT(*) OVER (PARTITION BY p.period, p.scheme, p.person) AS records,
        MIN(p.office) OVER (PARTITION BY p.period, p.scheme, p.person)
            <> MAX(p.office) OVER (PARTITION BY p.period, p.scheme, p.person) AS cross_office_duplicate,
        ROW_NUMBER() OVER (
            PARTITION BY p.period, p.scheme, p.person
            ORDER BY p.paid_through DESC NULLS LAST, p.contribution_base DESC NULLS LAST, p.office ASC, p.source_line ASC
        ) AS pick
    FROM participants AS p
    WHERE p.status = 1
)
SELECT period, scheme, person, office, district_code, commune_code, sex, birth_month, records, cross_office_duplicate
FROM ranked
WHERE pick = 1
