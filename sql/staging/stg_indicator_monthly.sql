-- description = "Persons counted by each indicator in each unit and month, on both boundaries (as_of_period: the month's own province, districts and communes; current: today's), with the previous month's count and the persons counted in both. Built a month at a time from that month's and the previous month's members: persons are first counted by commune, and those retained by their pair of communes (this month, last month); those few counts are placed in units through stg_unit_rollup."
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
-- # Persons counted in both months, by their two communes: the one join at person level.
WITH stayed AS (
    SELECT cur.period, cur.indicator, cur.commune_code AS commune_now,
        prev.commune_code AS commune_before, COUNT(*) AS persons
    FROM stg_indicator_members AS cur
    JOIN stg_indicator_members AS prev
        ON prev.indicator = cur.indicator AND prev.person = cur.person
        AND CAST(prev.period + INTERVAL '1 month' AS DATE) = cur.period
    GROUP BY cur.period, cur.indicator, cur.commune_code, prev.commune_code
),
-- Persons by commune, as of their month and, shifted a month on, as of the next.
by_commune AS (
    SELECT period, indicator, commune_code, COUNT(*) AS persons
    FROM stg_indicator_members
    GROUP BY period, indicator, commune_code
),
placed_now AS (
    SELECT c.period, c.indicator, r.boundary, r.unit_code, r.unit_level, c.persons
    FROM by_commune AS c
    JOIN stg_unit_rollup AS r
        ON r.commune_code = c.commune_code
        AND (r.valid_from IS NULL OR r.valid_from <= CAST(c.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (r.valid_to IS NULL OR r.valid_to >= c.period)
),
placed_before AS (
    SELECT CAST(c.period + INTERVAL '1 month' AS DATE) AS period, c.indicator,
        r.boundary, r.unit_code, r.unit_level, c.persons
    FROM by_commune AS c
    JOIN stg_unit_rollup AS r
        ON r.commune_code = c.commune_code
        AND (r.valid_from IS NULL OR r.valid_from <= CAST(c.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (r.valid_to IS NULL OR r.valid_to >= c.period)
),
-- Kept in a unit: both communes are in it.
kept AS (
    SELECT s.period, s.indicator, n.boundary, n.unit_code, n.unit_level, s.persons
    FROM stayed AS s
    JOIN stg_unit_rollup AS n
        ON n.commune_code = s.commune_now
        AND (n.valid_from IS NULL OR n.valid_from <= CAST(s.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (n.valid_to IS NULL OR n.valid_to >= s.period)
    JOIN stg_unit_rollup AS b
        ON b.commune_code = s.commune_before
        AND (b.valid_from IS NULL OR b.valid_from <= CAST(s.period - INTERVAL '1 day' AS DATE))
        AND (b.valid_to IS NULL OR b.valid_to >= CAST(s.period - INTERVAL '1 month' AS DATE))
        AND b.boundary = n.boundary AND b.unit_code = n.unit_code AND b.unit_level = n.unit_level
),
counts AS (
    SELECT period, indicator, boundary, unit_code, unit_level, persons AS now, 0 AS before, 0 AS kept
    FROM placed_now
    UNION ALL
    SELECT period, indicator, boundary, unit_code, unit_level, 0, persons, 0
    FROM placed_before
    UNION ALL
    SELECT period, indicator, boundary, unit_code, unit_level, 0, 0, persons
    FROM kept
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
