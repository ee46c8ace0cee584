-- description = "Month-to-month movement of every indicator of coverage_monthly: changes in percentage points against the previous month and the same month a year earlier, the trailing 12-month average rate, and the flows of persons behind the numerator (new enrolments, lapses, retention). On both boundaries of coverage_monthly; trends across July 2025 are read on current. A change (and the flows) is null when either month is incomplete, when the month it compares with has no data, or, on as_of_period, when the two months are on different units (July 2025 against June)."
-- tags = ["mart", "coverage"]
-- [columns]
-- period = "First day of the month."
-- boundary = "as_of_period or current, as in coverage_monthly."
-- unit_code = "GSO code of the unit."
-- unit_level = "province, district or commune."
-- indicator = "The indicator, as in coverage_monthly."
-- rate = "The month's rate, a fraction."
-- mom_change_pp = "rate minus the previous month's rate, in percentage points."
-- yoy_change_pp = "rate minus the rate 12 months earlier, in percentage points."
-- rolling_12m_rate = "Average of the monthly rates of the 12 months ending with this one; null until 12 months have data."
-- new_enrolments = "Persons counted this month who were not counted the previous month (null when the previous month is not comparable)."
-- lapses = "Persons counted the previous month who are not counted this month."
-- retention_rate = "Share of the previous month's persons still counted this month."
-- [[tests]]
-- unique = ["period", "boundary", "unit_code", "unit_level", "indicator"]
-- [[tests]]
-- not_null = ["period", "boundary", "unit_code", "unit_level", "indicator"]
WITH cm AS (
    SELECT c.period, c.boundary, c.unit_code, c.unit_level, c.indicator, c.rate, c.complete,
        mb.reference_boundary
    FROM coverage_monthly AS c
    JOIN stg_boundaries AS mb
        ON mb.boundary = c.boundary
        AND (mb.valid_from IS NULL OR c.period >= mb.valid_from)
        AND (mb.valid_to IS NULL OR c.period <= mb.valid_to)
),
-- A month is compared with another only when both are complete and counted on the same
-- reference boundary: a missing delivery or a change of units is not a change of coverage.
comparable AS (
    SELECT * FROM cm WHERE complete
),
flows AS (
    SELECT
        period,
        boundary,
        unit_code,
        unit_level,
        indicator,
        persons - retained AS new_enrolments,
        previous_persons - retained AS lapses,
        retained,
        previous_persons AS previous
    FROM stg_indicator_monthly
),
rolling AS (
    SELECT cur.period, cur.boundary, cur.unit_code, cur.unit_level, cur.indicator,
        AVG(past.rate) AS average_rate, COUNT(past.rate) AS months
    FROM comparable AS cur
    JOIN comparable AS past
        ON past.boundary = cur.boundary AND past.unit_code = cur.unit_code
        AND past.unit_level = cur.unit_level AND past.indicator = cur.indicator
        AND past.reference_boundary = cur.reference_boundary
        AND past.period <= cur.period AND past.period > CAST(cur.period - INTERVAL '12 months' AS DATE)
    GROUP BY cur.period, cur.boundary, cur.unit_code, cur.unit_level, cur.indicator
)
SELECT
    cur.period,
    cur.boundary,
    cur.unit_code,
    cur.unit_level,
    cur.indicator,
    cur.rate,
    (cur.rate - prev.rate) * 100 AS mom_change_pp,
    (cur.rate - year_ago.rate) * 100 AS yoy_change_pp,
    CASE WHEN r.months = 12 THEN r.average_rate END AS rolling_12m_rate,
    CASE WHEN prev.period IS NOT NULL THEN COALESCE(f.new_enrolments, 0) END AS new_enrolments,
    CASE WHEN prev.period IS NOT NULL THEN COALESCE(f.lapses, 0) END AS lapses,
    CASE WHEN prev.period IS NOT NULL AND f.previous > 0
        THEN CAST(f.retained AS DOUBLE) / CAST(f.previous AS DOUBLE) END AS retention_rate
FROM cm AS cur
LEFT JOIN comparable AS prev
    ON cur.complete AND prev.boundary = cur.boundary AND prev.unit_code = cur.unit_code
    AND prev.unit_level = cur.unit_level AND prev.indicator = cur.indicator
    AND prev.reference_boundary = cur.reference_boundary
    AND prev.period = CAST(cur.period - INTERVAL '1 month' AS DATE)
LEFT JOIN comparable AS year_ago
    ON cur.complete AND year_ago.boundary = cur.boundary AND year_ago.unit_code = cur.unit_code
    AND year_ago.unit_level = cur.unit_level AND year_ago.indicator = cur.indicator
    AND year_ago.reference_boundary = cur.reference_boundary
    AND year_ago.period = CAST(cur.period - INTERVAL '12 months' AS DATE)
LEFT JOIN rolling AS r
    ON cur.complete AND r.period = cur.period AND r.boundary = cur.boundary
    AND r.unit_code = cur.unit_code AND r.unit_level = cur.unit_level AND r.indicator = cur.indicator
LEFT JOIN flows AS f
    ON f.period = cur.period AND f.boundary = cur.boundary AND f.unit_code = cur.unit_code
    AND f.unit_level = cur.unit_level AND f.indicator = cur.indicator
