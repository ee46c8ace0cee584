-- description = "Pension-receipt rate by month, unit and sex: persons at or past the statutory retirement age of the year who receive an old-age pension, a monthly social-insurance allowance or a social pension, over the population at or past that age (the ILO's SDG 1.3.1 old-age effective coverage)."
-- tags = ["mart", "pension"]
-- [columns]
-- period = "First day of the month."
-- unit_code = "GSO code of the province or district."
-- unit_level = "province or district."
-- sex = "M, F, or T for both sexes."
-- beneficiaries = "Distinct persons past retirement age receiving a counted benefit."
-- population_past_age = "Population at or past retirement age (fractional formula of DOMAIN.md)."
-- rate = "beneficiaries / population_past_age, a fraction; null when the population is unknown or zero."
-- [[tests]]
-- unique = ["period", "unit_code", "sex"]
-- [[tests]]
-- accepted_values = { column = "sex", values = ["M", "F", "T"] }
-- [[tests]]
-- not_null = ["period", "unit_code", "sex", "beneficiaries"]
WITH province AS (
    SELECT MIN(unit_code) AS unit_code FROM reference.geography WHERE level = 'province'
),
units AS (
    SELECT DISTINCT CAST(period || '-01' AS DATE) AS period, COALESCE(district_code, office) AS unit_code, 'district' AS unit_level
    FROM beneficiaries
),
sexes AS (
    SELECT sex FROM (VALUES ('M'), ('F'), ('T')) AS v(sex)
),
scaffold AS (
    SELECT u.period, u.unit_code, u.unit_level, s.sex FROM units AS u CROSS JOIN sexes AS s
    UNION ALL
    SELECT DISTINCT u.period, p.unit_code, 'province', s.sex
    FROM units AS u CROSS JOIN province AS p CROSS JOIN sexes AS s
),
past AS (
    SELECT period, person, district_code, sex FROM stg_beneficiaries WHERE past_retirement_age
),
-- stg_beneficiaries has one row per month and person (a tested rule), so rows are persons.
counts AS (
    SELECT b.period, p.unit_code, b.sex, COUNT(*) AS beneficiaries
    FROM past AS b CROSS JOIN province AS p GROUP BY b.period, p.unit_code, b.sex
    UNION ALL
    SELECT b.period, p.unit_code, 'T', COUNT(*)
    FROM past AS b CROSS JOIN province AS p GROUP BY b.period, p.unit_code
    UNION ALL
    SELECT period, district_code, sex, COUNT(*) FROM past GROUP BY period, district_code, sex
    UNION ALL
    SELECT period, district_code, 'T', COUNT(*) FROM past GROUP BY period, district_code
)
SELECT
    s.period,
    s.unit_code,
    s.unit_level,
    s.sex,
    COALESCE(c.beneficiaries, 0) AS beneficiaries,
    d.population_past_age,
    CASE WHEN d.population_past_age > 0
        THEN CAST(COALESCE(c.beneficiaries, 0) AS DOUBLE) / d.population_past_age
    END AS rate
FROM scaffold AS s
LEFT JOIN counts AS c ON c.period = s.period AND c.unit_code = s.unit_code AND c.sex = s.sex
LEFT JOIN stg_boundaries AS mb
    ON (mb.valid_from IS NULL OR s.period >= mb.valid_from)
    AND (mb.valid_to IS NULL OR s.period <= mb.valid_to)
LEFT JOIN population_past_age AS d
    ON d.year = CAST(date_part('year', s.period) AS INT) AND d.boundary = mb.boundary
    AND d.unit_code = s.unit_code AND d.sex = s.sex
