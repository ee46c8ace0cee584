-- description = "Persons counted by each indicator in each unit and month, on both boundaries (as_of_period: the month's own province, districts and communes; current: today's), with the previous month's count and the persons counted in both. Built a month at a time from that month's and the previous month's members: the persons are first counted by the communes they were in both months, and those counts are placed in units through stg_unit_rollup."
-- tags = ["staging", "coverage"]
-- partition_by = "period"
-- # Each month also reads the month before: a restated month rebuilds the next one too.
-- period_window = [-1, 0]
-- [columns]
-- period = "First day of the month."
-- boundary = "as_of_period or current."
-- unit_code = "GSO code of the unit."
-- unit_level = "province, district or commune."
-- indicator = "The indicator, as in stg_indicator_members."
-- persons = "Distinct persons counted in the unit and month (0 when none): each person once, in the units of the commune they are assigned to."
-- previous_persons = "Persons counted in the unit the previous month (0 when none)."
-- retained = "Persons counted in the unit both this month and the previous month."
-- [[tests]]
-- unique = ["period", "boundary", "unit_code", "unit_level", "indicator"]
-- [[tests]]
-- not_null = ["period", "boundary", "unit_code", "unit_level", "indicator", "persons", "previous_persons", "retained"]
WITH pairs AS (
    SELECT
        COALESCE(cur.period, CAST(prev.period + INTERVAL '1 month' AS DATE)) AS period,
        COALESCE(cur.indicator, prev.indicator) AS indicator,
        cur.commune_code AS commune_now,
        prev.commune_code AS commune_before
    FROM stg_indicator_members AS cur
    FULL OUTER JOIN stg_indicator_members AS prev
        ON prev.indicator = cur.indicator AND prev.person = cur.person
        AND CAST(prev.period + INTERVAL '1 month' AS DATE) = cur.period
),
-- Persons by where they were this month and the month before: few rows, whatever the size.
moves AS (
    SELECT period, indicator, commune_now, commune_before, COUNT(*) AS persons
    FROM pairs
    GROUP BY period, indicator, commune_now, commune_before
),
placed_now AS (
    SELECT m.period, m.indicator, m.commune_now, m.commune_before, m.persons,
        r.boundary, r.unit_code, r.unit_level
    FROM moves AS m
    JOIN stg_unit_rollup AS r
        ON r.commune_code = m.commune_now
        AND (r.valid_from IS NULL OR r.valid_from <= CAST(m.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (r.valid_to IS NULL OR r.valid_to >= m.period)
),
placed_before AS (
    SELECT m.period, m.indicator, m.commune_now, m.commune_before, m.persons,
        r.boundary, r.unit_code, r.unit_level
    FROM moves AS m
    JOIN stg_unit_rollup AS r
        ON r.commune_code = m.commune_before
        AND (r.valid_from IS NULL OR r.valid_from <= CAST(m.period - INTERVAL '1 day' AS DATE))
        AND (r.valid_to IS NULL OR r.valid_to >= CAST(m.period - INTERVAL '1 month' AS DATE))
),
counts AS (
    SELECT period, indicator, boundary, unit_code, unit_level, persons AS now, 0 AS before, 0 AS kept
    FROM placed_now
    UNION ALL
    SELECT period, indicator, boundary, unit_code, unit_level, 0, persons, 0
    FROM placed_before
    UNION ALL
    -- Kept: in the same unit both months.
    SELECT n.period, n.indicator, n.boundary, n.unit_code, n.unit_level, 0, 0, n.persons
    FROM placed_now AS n
    JOIN placed_before AS b
        ON b.period = n.period AND b.indicator = n.indicator
        AND b.commune_now = n.commune_now AND b.commune_before = n.commune_before
        AND b.boundary = n.boundary AND b.unit_code = n.unit_code AND b.unit_level = n.unit_level
)
SELECT
    period,
    boundary,
    unit_code,
    unit_level,
    indicator,
    CAST(SUM(now) AS BIGINT) AS persons,
    CAST(SUM(before) AS BIGINT) AS previous_persons,
    CAST(SUM(kept) AS BIGINT) AS retained
FROM counts
-- Only months that have members (not the month after the last).
WHERE period IN (SELECT DISTINCT period FROM stg_indicator_members)
GROUP BY period, boundary, unit_code, unit_level, indicator
