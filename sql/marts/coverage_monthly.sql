-- description = "Coverage by month, unit (the province and each district) and indicator. Numerators count distinct persons active in the month's extracts: province rows count each person once, not the sum of districts. Denominators: labour force within working age for the social and unemployment insurance indicators, total population for health insurance, population at or past retirement age for pension receipt; annual denominators apply to every month of their year, on the boundary of the month (stg_boundaries)."
-- tags = ["mart", "coverage"]
-- [columns]
-- period = "First day of the month."
-- unit_code = "GSO code of the unit: the province (56) or a district."
-- unit_level = "province or district."
-- indicator = "si_coverage, si_compulsory_coverage, si_voluntary_coverage, ui_coverage, hi_coverage or pension_receipt_rate."
-- numerator = "Distinct persons counted by the indicator in the unit and month."
-- denominator = "The indicator's population for the unit and the month's year (null when the reference data has none)."
-- rate = "numerator / denominator, a fraction (0.3227 = 32.27%); null when the denominator is unknown or zero."
-- [[tests]]
-- unique = ["period", "unit_code", "indicator"]
-- [[tests]]
-- not_null = ["period", "unit_code", "unit_level", "indicator", "numerator"]
-- [[tests]]
-- accepted_values = { column = "unit_level", values = ["province", "district"] }
-- [[tests]]
-- accepted_values = { column = "indicator", values = ["si_coverage", "si_compulsory_coverage", "si_voluntary_coverage", "ui_coverage", "hi_coverage", "pension_receipt_rate"] }
-- [[tests]]
-- relationships = { column = "unit_code", to = "reference.geography", field = "unit_code" }
WITH province AS (
    SELECT MIN(unit_code) AS unit_code FROM reference.geography WHERE level = 'province'
),
indicators AS (
    SELECT indicator, base
    FROM (VALUES
        ('si_coverage', 'labor_force'),
        ('si_compulsory_coverage', 'labor_force'),
        ('si_voluntary_coverage', 'labor_force'),
        ('ui_coverage', 'labor_force'),
        ('hi_coverage', 'population'),
        ('pension_receipt_rate', 'past_age')
    ) AS v(indicator, base)
),
-- Every unit with any record in a month gets a row for every indicator, zero or not.
units AS (
    SELECT period, unit_code, 'district' AS unit_level FROM stg_units_monthly
),
scaffold AS (
    SELECT u.period, u.unit_code, u.unit_level, i.indicator, i.base FROM units AS u CROSS JOIN indicators AS i
    UNION ALL
    SELECT DISTINCT u.period, p.unit_code, 'province', i.indicator, i.base
    FROM units AS u CROSS JOIN province AS p CROSS JOIN indicators AS i
),
numerators AS (
    SELECT period, unit_code, indicator, persons AS numerator FROM stg_indicator_monthly
),
denominators AS (
    SELECT year, boundary, unit_code, 'labor_force' AS base, CAST(labor_force AS DOUBLE) AS denominator
    FROM reference.labor_force
    UNION ALL
    SELECT year, boundary, unit_code, 'population', CAST(SUM(population) AS DOUBLE)
    FROM reference.population
    GROUP BY year, boundary, unit_code
    UNION ALL
    SELECT year, boundary, unit_code, 'past_age', population_past_age
    FROM population_past_age
    WHERE sex = 'T'
),
-- Each month is counted on the reference data of its own boundary.
month_boundaries AS (
    SELECT p.period, b.boundary
    FROM (SELECT DISTINCT period FROM scaffold) AS p
    JOIN stg_boundaries AS b
        ON (b.valid_from IS NULL OR p.period >= b.valid_from)
        AND (b.valid_to IS NULL OR p.period <= b.valid_to)
)
SELECT
    s.period,
    s.unit_code,
    s.unit_level,
    s.indicator,
    COALESCE(n.numerator, 0) AS numerator,
    d.denominator,
    CASE WHEN d.denominator > 0 THEN CAST(COALESCE(n.numerator, 0) AS DOUBLE) / d.denominator END AS rate
FROM scaffold AS s
LEFT JOIN numerators AS n
    ON n.period = s.period AND n.unit_code = s.unit_code AND n.indicator = s.indicator
LEFT JOIN month_boundaries AS mb ON mb.period = s.period
LEFT JOIN denominators AS d
    ON d.year = CAST(date_part('year', s.period) AS INT) AND d.boundary = mb.boundary
    AND d.unit_code = s.unit_code AND d.base = s.base
