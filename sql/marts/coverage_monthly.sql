-- description = "Coverage by month, boundary, unit and indicator. boundary as_of_period puts each month on its own units (the old provinces and their districts until June 2025, the merged province after; communes throughout); current puts every month on today's units (province 56 is the merged province in every month, old communes go to today's through reference.commune_crosswalk). Numerators count distinct persons active in the month's extracts: a province counts each person once, not the sum of its units. Denominators: labour force within working age for the social and unemployment insurance indicators, total population for health insurance, population at or past retirement age for pension receipt; annual denominators apply to every month of their year, of the reference boundary of the month (stg_boundaries)."
-- tags = ["mart", "coverage"]
-- [columns]
-- period = "First day of the month."
-- boundary = "as_of_period (the month's own units) or current (today's units)."
-- unit_code = "GSO code of the unit: a province (56), a district or a commune."
-- unit_level = "province, district or commune."
-- indicator = "si_coverage, si_compulsory_coverage, si_voluntary_coverage, ui_coverage, hi_coverage or pension_receipt_rate."
-- numerator = "Distinct persons counted by the indicator in the unit and month."
-- denominator = "The indicator's population for the unit and the month's year (null when the reference data has none)."
-- rate = "numerator / denominator, a fraction (0.3227 = 32.27%); null when the denominator is unknown or zero."
-- complete = "Whether every expected delivery behind the unit and month arrived (participants for the insurance indicators, beneficiaries and social-pension lists for pension receipt): an incomplete figure is low because data are missing, not because coverage fell."
-- [[tests]]
-- unique = ["period", "boundary", "unit_code", "unit_level", "indicator"]
-- [[tests]]
-- not_null = ["period", "boundary", "unit_code", "unit_level", "indicator", "numerator", "complete"]
-- [[tests]]
-- accepted_values = { column = "unit_level", values = ["province", "district", "commune"] }
-- [[tests]]
-- accepted_values = { column = "boundary", values = ["as_of_period", "current"] }
-- [[tests]]
-- accepted_values = { column = "indicator", values = ["si_coverage", "si_compulsory_coverage", "si_voluntary_coverage", "ui_coverage", "hi_coverage", "pension_receipt_rate"] }
-- [[tests]]
-- relationships = { column = "unit_code", to = "reference.geography", field = "unit_code" }
WITH indicators AS (
    SELECT indicator, base, kind
    FROM (VALUES
        ('si_coverage', 'labor_force', 'participants'),
        ('si_compulsory_coverage', 'labor_force', 'participants'),
        ('si_voluntary_coverage', 'labor_force', 'participants'),
        ('ui_coverage', 'labor_force', 'participants'),
        ('hi_coverage', 'population', 'participants'),
        ('pension_receipt_rate', 'past_age', 'beneficiaries')
    ) AS v(indicator, base, kind)
),
-- Every unit with any record in a month gets a row for every indicator, zero or not, and so
-- does every unit whose delivery is missing: it shows as incomplete, not as a drop.
units AS (
    SELECT period, boundary, unit_code, unit_level FROM stg_units_monthly
    UNION
    SELECT period, boundary, unit_code, unit_level FROM stg_incomplete_units
),
scaffold AS (
    SELECT u.period, u.boundary, u.unit_code, u.unit_level, i.indicator, i.base, i.kind
    FROM units AS u
    CROSS JOIN indicators AS i
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
-- The units lacking a delivery, by what they lack: pension receipt is counted from the
-- beneficiaries and the social-pension lists.
incomplete AS (
    SELECT DISTINCT period, CASE WHEN kind = 'social_pensions' THEN 'beneficiaries' ELSE kind END AS kind,
        boundary, unit_code, unit_level
    FROM stg_incomplete_units
),
-- Each month and boundary is counted on the reference data of one boundary.
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
    s.indicator,
    COALESCE(n.persons, 0) AS numerator,
    d.denominator,
    CASE WHEN d.denominator > 0 THEN CAST(COALESCE(n.persons, 0) AS DOUBLE) / d.denominator END AS rate,
    x.unit_code IS NULL AS complete
FROM scaffold AS s
LEFT JOIN stg_indicator_monthly AS n
    ON n.period = s.period AND n.boundary = s.boundary AND n.unit_code = s.unit_code
    AND n.unit_level = s.unit_level AND n.indicator = s.indicator
LEFT JOIN month_boundaries AS mb ON mb.period = s.period AND mb.boundary = s.boundary
LEFT JOIN denominators AS d
    ON d.year = CAST(date_part('year', s.period) AS INT) AND d.boundary = mb.reference_boundary
    AND d.unit_code = s.unit_code AND d.base = s.base
LEFT JOIN incomplete AS x
    ON x.period = s.period AND x.kind = s.kind AND x.boundary = s.boundary
    AND x.unit_code = s.unit_code AND x.unit_level = s.unit_level
