-- description = "Persons counted by each indicator in each unit (the province and each district) and month, with the previous month's count and the persons counted in both. Built a month at a time from that month's and the previous month's members; the marts read these counts instead of counting distinct persons over the whole history."
-- tags = ["staging", "coverage"]
-- partition_by = "period"
-- # Each month also reads the month before: a restated month rebuilds the next one too.
-- period_window = [-1, 0]
-- [columns]
-- period = "First day of the month."
-- unit_code = "GSO code of the province or district."
-- indicator = "The indicator, as in stg_indicator_members."
-- persons = "Distinct persons counted in the unit and month: a person assigned to two districts counts in each, and once in the province (0 when none)."
-- previous_persons = "Persons counted in the unit the previous month (0 when none)."
-- retained = "Persons counted in the unit both this month and the previous month."
-- [[tests]]
-- unique = ["period", "unit_code", "indicator"]
-- [[tests]]
-- not_null = ["period", "unit_code", "indicator", "persons", "previous_persons", "retained"]
WITH province AS (
    SELECT MIN(unit_code) AS unit_code FROM reference.geography WHERE level = 'province'
),
-- Every member as of its month (now = 1) and, shifted a month on, as of the next (now = 0).
marks AS (
    SELECT period, indicator, district_code, person, 1 AS now FROM stg_indicator_members
    UNION ALL
    SELECT CAST(period + INTERVAL '1 month' AS DATE), indicator, district_code, person, 0
    FROM stg_indicator_members
),
-- A district keeps a person assigned to it in both months.
district_kept AS (
    SELECT cur.period, cur.district_code AS unit_code, cur.indicator, COUNT(*) AS retained
    FROM stg_indicator_members AS cur
    JOIN stg_indicator_members AS prev
        ON prev.indicator = cur.indicator AND prev.person = cur.person
        AND prev.district_code = cur.district_code
        AND CAST(prev.period + INTERVAL '1 month' AS DATE) = cur.period
    GROUP BY cur.period, cur.district_code, cur.indicator
),
districts AS (
    SELECT
        c.period,
        c.unit_code,
        c.indicator,
        c.persons,
        c.previous_persons,
        COALESCE(k.retained, 0) AS retained
    FROM (
        SELECT
            period,
            district_code AS unit_code,
            indicator,
            SUM(now) AS persons,
            SUM(1 - now) AS previous_persons
        FROM marks
        GROUP BY period, district_code, indicator
    ) AS c
    LEFT JOIN district_kept AS k
        ON k.period = c.period AND k.unit_code = c.unit_code AND k.indicator = c.indicator
),
-- The province counts a person once, whichever districts: one row per person and month.
persons AS (
    SELECT period, indicator, MAX(now) AS counted, 1 - MIN(now) AS counted_before
    FROM marks
    GROUP BY period, indicator, person
),
provinces AS (
    SELECT
        m.period,
        p.unit_code,
        m.indicator,
        SUM(m.counted) AS persons,
        SUM(m.counted_before) AS previous_persons,
        SUM(m.counted * m.counted_before) AS retained
    FROM persons AS m
    CROSS JOIN province AS p
    GROUP BY m.period, p.unit_code, m.indicator
)
SELECT period, unit_code, indicator, CAST(persons AS BIGINT) AS persons,
    CAST(previous_persons AS BIGINT) AS previous_persons, CAST(retained AS BIGINT) AS retained
FROM (SELECT * FROM districts UNION ALL SELECT * FROM provinces) AS counts
-- Only months that have members (not the month after the last).
WHERE period IN (SELECT DISTINCT period FROM stg_indicator_members)
