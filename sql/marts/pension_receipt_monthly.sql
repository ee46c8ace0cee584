-- description = "Pension-receipt rate by month, boundary, unit and sex: persons at or past the statutory retirement age of the year who receive an old-age pension, a monthly social-insurance allowance, the art. 23 allowance or a social pension (from the offices' extracts or the social-pension lists), each counted once, over the population at or past that age (the ILO's SDG 1.3.1 old-age effective coverage), with the persons by source, benefit group and age band. Boundaries as in coverage_monthly."
-- tags = ["mart", "pension"]
-- [columns]
-- period = "First day of the month."
-- boundary = "as_of_period (the month's own units) or current (today's units)."
-- unit_code = "GSO code of the unit: a province, a district or a commune."
-- unit_level = "province, district or commune."
-- sex = "M, F, or T for both sexes."
-- beneficiaries = "Distinct persons past retirement age receiving a counted benefit."
-- from_offices = "Of them, persons listed by an office's extract."
-- from_lists = "Of them, persons listed by a social-pension list."
-- pension = "Of them, persons receiving an old-age pension (HUU_TRI)."
-- monthly_allowance = "Of them, persons receiving a monthly social-insurance allowance (TRO_CAP_HANG_THANG)."
-- article_23 = "Of them, persons receiving the art. 23 allowance (TRO_CAP_DIEU_23)."
-- social_pension = "Of them, persons receiving the social pension or the social allowance at 80."
-- pension_and_social_pension = "Of them, persons receiving a social pension as well as a pension or monthly allowance: counted once, and listed in data_quality."
-- aged_70_74 = "Of them, persons aged 70 to 74 at the end of the month."
-- aged_75_79 = "Of them, persons aged 75 to 79."
-- aged_80_plus = "Of them, persons aged 80 or more."
-- population_past_age = "Population at or past retirement age (fractional formula of DOMAIN.md)."
-- rate = "beneficiaries / population_past_age, a fraction; null when the population is unknown or zero."
-- complete = "Whether every expected beneficiaries delivery and social-pension list behind the unit and month arrived."
-- [[tests]]
-- unique = ["period", "boundary", "unit_code", "unit_level", "sex"]
-- [[tests]]
-- accepted_values = { column = "sex", values = ["M", "F", "T"] }
-- [[tests]]
-- not_null = ["period", "boundary", "unit_code", "unit_level", "sex", "beneficiaries", "complete"]
WITH communes AS (
    SELECT DISTINCT period, commune_code FROM stg_delivery_units
    WHERE kind IN ('beneficiaries', 'social_pensions')
),
-- The units with beneficiaries' records, and those whose beneficiaries delivery is missing.
units AS (
    SELECT DISTINCT c.period, r.boundary, r.unit_code, r.unit_level
    FROM communes AS c
    JOIN stg_unit_rollup AS r
        ON r.commune_code = c.commune_code
        AND (r.valid_from IS NULL OR r.valid_from <= CAST(c.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (r.valid_to IS NULL OR r.valid_to >= c.period)
    UNION
    SELECT period, boundary, unit_code, unit_level FROM stg_incomplete_units
    WHERE kind IN ('beneficiaries', 'social_pensions')
),
incomplete AS (
    SELECT DISTINCT period, boundary, unit_code, unit_level FROM stg_incomplete_units
    WHERE kind IN ('beneficiaries', 'social_pensions')
),
sexes AS (
    SELECT sex FROM (VALUES ('M'), ('F'), ('T')) AS v(sex)
),
scaffold AS (
    SELECT u.period, u.boundary, u.unit_code, u.unit_level, s.sex FROM units AS u CROSS JOIN sexes AS s
),
-- stg_beneficiaries has one row per month and person (a tested rule), so rows are persons.
past AS (
    SELECT period, commune_code, sex, COUNT(*) AS persons,
        SUM(CASE WHEN from_offices THEN 1 ELSE 0 END) AS from_offices,
        SUM(CASE WHEN from_lists THEN 1 ELSE 0 END) AS from_lists,
        SUM(CASE WHEN pension THEN 1 ELSE 0 END) AS pension,
        SUM(CASE WHEN monthly_allowance THEN 1 ELSE 0 END) AS monthly_allowance,
        SUM(CASE WHEN article_23 THEN 1 ELSE 0 END) AS article_23,
        SUM(CASE WHEN social_pension THEN 1 ELSE 0 END) AS social_pension,
        SUM(CASE WHEN social_pension AND (pension OR monthly_allowance) THEN 1 ELSE 0 END) AS pension_and_social_pension,
        SUM(CASE WHEN age_months >= 840 AND age_months < 900 THEN 1 ELSE 0 END) AS aged_70_74,
        SUM(CASE WHEN age_months >= 900 AND age_months < 960 THEN 1 ELSE 0 END) AS aged_75_79,
        SUM(CASE WHEN age_months >= 960 THEN 1 ELSE 0 END) AS aged_80_plus
    FROM stg_beneficiaries
    WHERE past_retirement_age
    GROUP BY period, commune_code, sex
),
placed AS (
    SELECT p.*, r.boundary, r.unit_code, r.unit_level
    FROM past AS p
    JOIN stg_unit_rollup AS r
        ON r.commune_code = p.commune_code
        AND (r.valid_from IS NULL OR r.valid_from <= CAST(p.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (r.valid_to IS NULL OR r.valid_to >= p.period)
),
by_sex AS (
    SELECT period, boundary, unit_code, unit_level, sex, persons, from_offices, from_lists,
        pension, monthly_allowance, article_23, social_pension, pension_and_social_pension,
        aged_70_74, aged_75_79, aged_80_plus
    FROM placed
    UNION ALL
    SELECT period, boundary, unit_code, unit_level, 'T' AS sex, persons, from_offices, from_lists,
        pension, monthly_allowance, article_23, social_pension, pension_and_social_pension,
        aged_70_74, aged_75_79, aged_80_plus
    FROM placed
),
counts AS (
    SELECT period, boundary, unit_code, unit_level, sex,
        SUM(persons) AS beneficiaries,
        SUM(from_offices) AS from_offices,
        SUM(from_lists) AS from_lists,
        SUM(pension) AS pension,
        SUM(monthly_allowance) AS monthly_allowance,
        SUM(article_23) AS article_23,
        SUM(social_pension) AS social_pension,
        SUM(pension_and_social_pension) AS pension_and_social_pension,
        SUM(aged_70_74) AS aged_70_74,
        SUM(aged_75_79) AS aged_75_79,
        SUM(aged_80_plus) AS aged_80_plus
    FROM by_sex
    GROUP BY period, boundary, unit_code, unit_level, sex
),
month_boundaries AS (
    SELECT p.period, b.boundary, b.reference_boundary
    FROM (SELECT DISTINCT period FROM units) AS p
    JOIN stg_boundaries AS b
        ON (b.valid_from IS NULL OR p.period >= b.valid_from)
        AND (b.valid_to IS NULL OR p.period <= b.valid_to)
)
SELECT
    s.period,
    s.boundary,
    s.unit_code,
    s.unit_level,
    s.sex,
    CAST(COALESCE(c.beneficiaries, 0) AS BIGINT) AS beneficiaries,
    d.population_past_age,
    CASE WHEN d.population_past_age > 0
        THEN CAST(COALESCE(c.beneficiaries, 0) AS DOUBLE) / d.population_past_age
    END AS rate,
    x.unit_code IS NULL AS complete,
    CAST(COALESCE(c.from_offices, 0) AS BIGINT) AS from_offices,
    CAST(COALESCE(c.from_lists, 0) AS BIGINT) AS from_lists,
    CAST(COALESCE(c.pension, 0) AS BIGINT) AS pension,
    CAST(COALESCE(c.monthly_allowance, 0) AS BIGINT) AS monthly_allowance,
    CAST(COALESCE(c.article_23, 0) AS BIGINT) AS article_23,
    CAST(COALESCE(c.social_pension, 0) AS BIGINT) AS social_pension,
    CAST(COALESCE(c.pension_and_social_pension, 0) AS BIGINT) AS pension_and_social_pension,
    CAST(COALESCE(c.aged_70_74, 0) AS BIGINT) AS aged_70_74,
    CAST(COALESCE(c.aged_75_79, 0) AS BIGINT) AS aged_75_79,
    CAST(COALESCE(c.aged_80_plus, 0) AS BIGINT) AS aged_80_plus
FROM scaffold AS s
LEFT JOIN counts AS c
    ON c.period = s.period AND c.boundary = s.boundary AND c.unit_code = s.unit_code
    AND c.unit_level = s.unit_level AND c.sex = s.sex
LEFT JOIN month_boundaries AS mb ON mb.period = s.period AND mb.boundary = s.boundary
LEFT JOIN population_past_age AS d
    ON d.year = CAST(date_part('year', s.period) AS INT) AND d.boundary = mb.reference_boundary
    AND d.unit_code = s.unit_code AND d.sex = s.sex
LEFT JOIN incomplete AS x
    ON x.period = s.period AND x.boundary = s.boundary
    AND x.unit_code = s.unit_code AND x.unit_level = s.unit_level
