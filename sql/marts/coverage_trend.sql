-- description = "Month-to-month movement of every indicator of coverage_monthly: changes in percentage points against the previous month and the same month a year earlier, the trailing 12-month average rate, and the flows of persons behind the numerator (new enrolments, lapses, retention). A change is null when the month it compares with has no data."
-- tags = ["mart", "coverage"]
-- [columns]
-- period = "First day of the month."
-- unit_code = "GSO code of the province or district."
-- unit_level = "province or district."
-- indicator = "The indicator, as in coverage_monthly."
-- rate = "The month's rate, a fraction."
-- mom_change_pp = "rate minus the previous month's rate, in percentage points."
-- yoy_change_pp = "rate minus the rate 12 months earlier, in percentage points."
-- rolling_12m_rate = "Average of the monthly rates of the 12 months ending with this one; null until 12 months have data."
-- new_enrolments = "Persons counted this month who were not counted the previous month (null when the previous month has no data)."
-- lapses = "Persons counted the previous month who are not counted this month."
-- retention_rate = "Share of the previous month's persons still counted this month."
-- [[tests]]
-- unique = ["period", "unit_code", "indicator"]
-- [[tests]]
-- not_null = ["period", "unit_code", "indicator"]
WITH cm AS (
    SELECT period, unit_code, unit_level, indicator, rate FROM coverage_monthly
),
flows AS (
    SELECT
        period,
        unit_code,
        indicator,
        persons - retained AS new_enrolments,
        previous_persons - retained AS lapses,
        retained,
        previous_persons AS previous
    FROM stg_indicator_monthly
),
rolling AS (
    SELECT cur.period, cur.unit_code, cur.indicator, AVG(past.rate) AS average_rate, COUNT(past.rate) AS months
    FROM cm AS cur
    JOIN cm AS past
        ON past.unit_code = cur.unit_code AND past.indicator = cur.indicator
        AND past.period <= cur.period AND past.period > CAST(cur.period - INTERVAL '12 months' AS DATE)
    GROUP BY cur.period, cur.unit_code, cur.indicator
)
SELECT
    cur.period,
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
LEFT JOIN cm AS prev
    ON prev.unit_code = cur.unit_code AND prev.indicator = cur.indicator
    AND prev.period = CAST(cur.period - INTERVAL '1 month' AS DATE)
LEFT JOIN cm AS year_ago
    ON year_ago.unit_code = cur.unit_code AND year_ago.indicator = cur.indicator
    AND year_ago.period = CAST(cur.period - INTERVAL '12 months' AS DATE)
LEFT JOIN rolling AS r
    ON r.period = cur.period AND r.unit_code = cur.unit_code AND r.indicator = cur.indicator
LEFT JOIN flows AS f
    ON f.period = cur.period AND f.unit_code = cur.unit_code AND f.indicator = cur.indicator
