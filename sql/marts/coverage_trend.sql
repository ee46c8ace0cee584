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
province AS (
    SELECT MIN(unit_code) AS unit_code FROM reference.geography WHERE level = 'province'
),
members AS (
    SELECT m.period, m.indicator, p.unit_code, m.person
    FROM stg_indicator_members AS m CROSS JOIN province AS p
    UNION
    SELECT period, indicator, district_code, person FROM stg_indicator_members
),
-- Each person's previous and next month in the same indicator and unit: a sort, which spills,
-- rather than a join of every person with last month's persons, which would not.
sequences AS (
    SELECT
        period,
        indicator,
        unit_code,
        LAG(period) OVER (PARTITION BY indicator, unit_code, person ORDER BY period) AS previous_period,
        LEAD(period) OVER (PARTITION BY indicator, unit_code, person ORDER BY period) AS next_period
    FROM members
),
arrivals AS (
    SELECT
        period,
        indicator,
        unit_code,
        SUM(CASE WHEN previous_period = CAST(period - INTERVAL '1 month' AS DATE) THEN 0 ELSE 1 END) AS new_enrolments,
        SUM(CASE WHEN previous_period = CAST(period - INTERVAL '1 month' AS DATE) THEN 1 ELSE 0 END) AS retained
    FROM sequences
    GROUP BY period, indicator, unit_code
),
departures AS (
    SELECT
        CAST(period + INTERVAL '1 month' AS DATE) AS period,
        indicator,
        unit_code,
        COUNT(*) AS lapses
    FROM sequences
    WHERE next_period IS NULL OR next_period <> CAST(period + INTERVAL '1 month' AS DATE)
    GROUP BY 1, 2, 3
),
flows AS (
    SELECT
        COALESCE(a.period, d.period) AS period,
        COALESCE(a.indicator, d.indicator) AS indicator,
        COALESCE(a.unit_code, d.unit_code) AS unit_code,
        COALESCE(a.new_enrolments, 0) AS new_enrolments,
        COALESCE(d.lapses, 0) AS lapses,
        COALESCE(a.retained, 0) AS retained,
        COALESCE(a.retained, 0) + COALESCE(d.lapses, 0) AS previous
    FROM arrivals AS a
    FULL OUTER JOIN departures AS d
        ON d.period = a.period AND d.indicator = a.indicator AND d.unit_code = a.unit_code
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
