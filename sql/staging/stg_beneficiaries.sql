-- description = "Persons receiving a benefit that counts toward the pension-receipt indicator, from both sources: the offices' extracts (HUU_TRI, TRO_CAP_HANG_THANG, TRO_CAP_DIEU_23, HUU_TRI_XA_HOI) and the social-pension lists (HUU_TRI_XA_HOI, TRO_CAP_XA_HOI_80). One row per month and person, assigned to an office's record before a list's, then to the lowest office code, with what the person receives from which source, age at the end of the month and whether it is at or past the statutory retirement age of that year."
-- # Several marts read it: computed once, a month at a time, and kept as Parquet under staging/.
-- tags = ["staging", "pension"]
-- partition_by = "period"
-- period_inputs = ["beneficiaries", "social_pensions"]
-- [period_digests]
-- # A month's persons are what stg_persons makes of its records' identifiers: the month
-- # depends on the person of each of its linked records (by office and line, so no row is
-- # counted twice and the digest streams), not on every link of every month.
-- stg_persons = """
-- SELECT r.period, CAST(bit_xor(digest64(r.kind || ':' || CAST(r.office AS VARCHAR) || ':' || CAST(r.source_line AS VARCHAR) || '>' || s.person)) AS VARCHAR) AS digest
-- FROM (
--     SELECT period, 'b' AS kind, office, source_line, person FROM beneficiaries
--     WHERE benefit_type IN ('HUU_TRI', 'TRO_CAP_HANG_THANG', 'TRO_CAP_DIEU_23', 'HUU_TRI_XA_HOI')
--     UNION ALL
--     SELECT period, 's' AS kind, office, source_line, person FROM social_pensions
-- ) AS r
-- JOIN stg_persons AS s ON s.identifier_key = r.person
-- GROUP BY r.period
-- """
-- [columns]
-- period = "First day of the month of the extract."
-- person = "Pseudonym of the person, resolved through stg_persons (the lowest personal ID of its linked identifiers)."
-- office = "Office whose record was kept: an office's before the list's authority, then the lowest code."
-- district_code = "District of the kept record (the office where the extract has no district)."
-- commune_code = "Commune of the kept record."
-- sex = "M or F."
-- birth_month = "First day of the birth month (1 January for a birth year alone)."
-- age_months = "Completed months of age at the end of the month: a person reaches an age on the last day of the month in which they reach it."
-- retirement_age_months = "Statutory retirement age for the person's sex in the year of the month."
-- past_retirement_age = "age_months >= retirement_age_months."
-- from_offices = "Whether an office's extract lists a counted benefit of the person in the month."
-- from_lists = "Whether a social-pension list lists the person in the month."
-- pension = "Receives an old-age pension (HUU_TRI)."
-- monthly_allowance = "Receives a monthly social-insurance allowance (TRO_CAP_HANG_THANG)."
-- article_23 = "Receives the allowance of art. 23 of Law 41/2024 (TRO_CAP_DIEU_23)."
-- social_pension = "Receives the social pension or the social allowance at 80 (HUU_TRI_XA_HOI, TRO_CAP_XA_HOI_80), from either source."
-- [[tests]]
-- unique = ["period", "person"]
-- [[tests]]
-- not_null = ["period", "person", "district_code", "commune_code", "past_retirement_age"]
WITH -- Each record's identifier (its code, else its personal ID) takes its person from
-- stg_persons; the persons are hashed and the records stream past them.
records AS (
    SELECT period, office, person, district_code, commune_code, sex, birth_month, benefit_type,
        source_line, 'offices' AS source
    FROM beneficiaries
    WHERE benefit_type IN ('HUU_TRI', 'TRO_CAP_HANG_THANG', 'TRO_CAP_DIEU_23', 'HUU_TRI_XA_HOI')
    UNION ALL
    SELECT period, office, person, district_code, commune_code, sex, birth_month, benefit_type,
        source_line, 'lists' AS source
    FROM social_pensions
),
resolved AS (
    SELECT b.*, COALESCE(s.person, b.person) AS resolved_person
    FROM stg_persons AS s
    RIGHT JOIN records AS b ON s.identifier_key = b.person
),
-- What each person receives in the month, from which source.
received AS (
    SELECT
        period,
        resolved_person,
        bool_or(source = 'offices') AS from_offices,
        bool_or(source = 'lists') AS from_lists,
        bool_or(benefit_type = 'HUU_TRI') AS pension,
        bool_or(benefit_type = 'TRO_CAP_HANG_THANG') AS monthly_allowance,
        bool_or(benefit_type = 'TRO_CAP_DIEU_23') AS article_23,
        bool_or(benefit_type IN ('HUU_TRI_XA_HOI', 'TRO_CAP_XA_HOI_80')) AS social_pension
    FROM resolved
    GROUP BY period, resolved_person
),
-- Persons with more than one counted record in a month: few, so only their records are ranked
-- (a window over every record would sort them all), and the winner of each is joined back.
repeated AS (
    SELECT period, resolved_person
    FROM resolved
    GROUP BY period, resolved_person
    HAVING COUNT(*) > 1
),
-- The winner's office and line are named apart from the record's own: DataFusion 55, pushing
-- the filter below down through this outer join, reads same-named columns of its two sides as
-- one.
winners AS (
    SELECT period, resolved_person, office AS winning_office, source_line AS winning_line
    FROM (
        SELECT
            r.period,
            r.resolved_person,
            r.office,
            r.source_line,
            ROW_NUMBER() OVER (
                PARTITION BY r.period, r.resolved_person
                ORDER BY CASE WHEN r.source = 'offices' THEN 0 ELSE 1 END, r.office ASC, r.source_line ASC
            ) AS pick
        FROM repeated AS d
        JOIN resolved AS r ON r.period = d.period AND r.resolved_person = d.resolved_person
    ) AS ranked
    WHERE pick = 1
),
counted AS (
    SELECT
        CAST(b.period || '-01' AS DATE) AS period,
        b.resolved_person AS person,
        b.office,
        COALESCE(b.district_code, b.office) AS district_code,
        b.commune_code,
        b.sex,
        b.birth_month,
        g.from_offices,
        g.from_lists,
        g.pension,
        g.monthly_allowance,
        g.article_23,
        g.social_pension
    FROM winners AS w
    RIGHT JOIN resolved AS b
        ON w.period = b.period AND w.resolved_person = b.resolved_person
    JOIN received AS g ON g.period = b.period AND g.resolved_person = b.resolved_person
    WHERE w.winning_office IS NULL
        OR (w.winning_office = b.office AND w.winning_line = b.source_line)
),
aged AS (
    SELECT
        period,
        person,
        office,
        district_code,
        commune_code,
        sex,
        birth_month,
        from_offices,
        from_lists,
        pension,
        monthly_allowance,
        article_23,
        social_pension,
        CAST(
            (date_part('year', period) * 12 + date_part('month', period))
            - (date_part('year', birth_month) * 12 + date_part('month', birth_month))
        AS INT) AS age_months
    FROM counted
)
SELECT
    a.period,
    a.person,
    a.office,
    a.district_code,
    a.commune_code,
    a.sex,
    a.birth_month,
    a.age_months,
    r.total_months AS retirement_age_months,
    a.age_months >= r.total_months AS past_retirement_age,
    a.from_offices,
    a.from_lists,
    a.pension,
    a.monthly_allowance,
    a.article_23,
    a.social_pension
FROM aged AS a
JOIN retirement_age AS r ON r.year = CAST(date_part('year', a.period) AS INT) AND r.sex = a.sex
