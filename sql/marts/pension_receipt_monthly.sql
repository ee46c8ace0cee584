-- description = "Pension-receipt rate by month, boundary, unit and sex: persons at or past the statutory retirement age of the year who receive an old-age pension, a monthly social-insurance allowance or a social pension, over the population at or past that age (the ILO's SDG 1.3.1 old-age effective coverage). Boundaries as in coverage_monthly."
-- tags = ["mart", "pension"]
-- [columns]
-- period = "First day of the month."
-- boundary = "as_of_period (the month's own units) or current (today's units)."
-- unit_code = "GSO code of the unit: a province, a district or a commune."
-- unit_level = "province, district or commune."
-- sex = "M, F, or T for both sexes."
-- beneficiaries = "Distinct persons past retirement age receiving a counted benefit."
-- population_past_age = "Population at or past retirement age (fractional formula of DOMAIN.md)."
-- rate = "beneficiaries / population_past_age, a fraction; null when the population is unknown or zero."
-- complete = "Whether every expected beneficiaries delivery behind the unit and month arrived."
-- [[tests]]
-- unique = ["period", "boundary", "unit_code", "unit_level", "sex"]
-- [[tests]]
-- accepted_values = { column = "sex", values = ["M", "F", "T"] }
-- [[tests]]
-- not_null = ["period", "boundary", "unit_code", "unit_level", "sex", "beneficiaries", "complete"]
WITH communes AS (
    SELECT DISTINCT period, commune_code FROM stg_delivery_units WHERE kind = 'beneficiaries'
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
    SELECT period, boundary, unit_code, unit_level FROM stg_incomplete_units WHERE kind = 'beneficiaries'
),
sexes AS (
    SELECT sex FROM (VALUES ('M'), ('F'), ('T')) AS v(sex)
),
scaffold AS (
    SELECT u.period, u.boundary, u.unit_code, u.unit_level, s.sex FROM units AS u CROSS JOIN sexes AS s
),
-- stg_beneficiaries has one row per month and person (a tested rule), so rows are persons.
past AS (
    SELECT period, commune_code, sex, COUNT(*) AS persons
    FROM stg_beneficiaries
    WHERE past_retirement_age
    GROUP BY period, commune_code, sex
),
placed AS (
    SELECT p.period, r.boundary, r.unit_code, r.unit_level, p.sex, p.persons
    FROM past AS p
    JOIN stg_unit_rollup AS r
        ON r.commune_code = p.commune_code
        AND (r.valid_from IS NULL OR r.valid_from <= CAST(p.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (r.valid_to IS NULL OR r.valid_to >= p.period)
),
counts AS (
    SELECT period, boundary, unit_code, unit_level, sex, SUM(persons) AS beneficiaries
    FROM placed
    GROUP BY period, boundary, unit_code, unit_level, sex
    UNION ALL
    SELECT period, boundary, unit_code, unit_level, 'T', SUM(persons)
    FROM placed
    GROUP BY period, boundary, unit_code, unit_level
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
    x.unit_code IS NULL AS complete
FROM scaffold AS s
LEFT JOIN counts AS c
    ON c.period = s.period AND c.boundary = s.boundary AND c.unit_code = s.unit_code
    AND c.unit_level = s.unit_level AND c.sex = s.sex
LEFT JOIN month_boundaries AS mb ON mb.period = s.period AND mb.boundary = s.boundary
LEFT JOIN population_past_age AS d
    ON d.year = CAST(date_part('year', s.period) AS INT) AND d.boundary = mb.reference_boundary
    AND d.unit_code = s.unit_code AND d.sex = s.sex
LEFT JOIN stg_incomplete_units AS x
    ON x.period = s.period AND x.kind = 'beneficiaries' AND x.boundary = s.boundary
    AND x.unit_code = s.unit_code AND x.unit_level = s.unit_level
