-- description = "Persons entering and leaving each indicator's count in each unit (the province and each district) from one month to the next. Built a month at a time from that month's and the previous month's members."
-- tags = ["staging", "coverage"]
-- partition_by = "period"
-- period_window = [-1, 0]
-- [columns]
-- period = "First day of the month."
-- unit_code = "GSO code of the province or district."
-- indicator = "The indicator, as in stg_indicator_members."
-- persons = "Persons counted this month, as in stg_indicator_monthly (0 when none)."
-- previous_persons = "Persons counted the previous month (0 when none)."
-- retained = "Persons counted both this month and the previous month."
-- [[tests]]
-- unique = ["period", "unit_code", "indicator"]
-- [[tests]]
-- not_null = ["period", "unit_code", "indicator", "persons", "previous_persons", "retained"]
WITH province AS (
    SELECT MIN(unit_code) AS unit_code FROM reference.geography WHERE level = 'province'
),
-- A district keeps a person assigned to it in both months (a join); the province keeps anyone
-- counted in both months, whichever districts (one aggregation over both months, the
-- previous one shifted a month on).
kept AS (
    SELECT cur.period, cur.district_code AS unit_code, cur.indicator, COUNT(*) AS retained
    FROM stg_indicator_members AS cur
    JOIN stg_indicator_members AS prev
        ON prev.indicator = cur.indicator AND prev.person = cur.person
        AND prev.district_code = cur.district_code
        AND CAST(prev.period + INTERVAL '1 month' AS DATE) = cur.period
    GROUP BY cur.period, cur.district_code, cur.indicator
    UNION ALL
    SELECT b.period, p.unit_code, b.indicator, COUNT(*)
    FROM (
        SELECT period, indicator, person
        FROM (
            SELECT period, indicator, person, 1 AS now FROM stg_indicator_members
            UNION ALL
            SELECT CAST(period + INTERVAL '1 month' AS DATE), indicator, person, 0
            FROM stg_indicator_members
        ) AS marks
        GROUP BY period, indicator, person
        HAVING MIN(now) = 0 AND MAX(now) = 1
    ) AS b
    CROSS JOIN province AS p
    GROUP BY b.period, p.unit_code, b.indicator
),
counts AS (
    SELECT
        COALESCE(c.period, CAST(l.period + INTERVAL '1 month' AS DATE)) AS period,
        COALESCE(c.unit_code, l.unit_code) AS unit_code,
        COALESCE(c.indicator, l.indicator) AS indicator,
        COALESCE(c.persons, 0) AS persons,
        COALESCE(l.persons, 0) AS previous_persons
    FROM stg_indicator_monthly AS c
    FULL OUTER JOIN stg_indicator_monthly AS l
        ON CAST(l.period + INTERVAL '1 month' AS DATE) = c.period
        AND l.unit_code = c.unit_code AND l.indicator = c.indicator
)
SELECT c.period, c.unit_code, c.indicator, c.persons, c.previous_persons, COALESCE(k.retained, 0) AS retained
FROM counts AS c
LEFT JOIN kept AS k
    ON k.period = c.period AND k.unit_code = c.unit_code AND k.indicator = c.indicator
