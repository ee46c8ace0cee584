-- description = "Persons counted by each indicator in each unit (the province and each district) and month, and how they moved since the previous month: who is new, who was also counted the month before, and who was counted the month before and is not now. Built a month at a time from that month and the one before."
-- # The marts read these counts instead of counting distinct persons over the whole history.
-- tags = ["staging", "coverage"]
-- partition_by = "period"
-- period_window = [-1, 0]
-- [columns]
-- period = "First day of the month."
-- unit_code = "GSO code of the province or district."
-- indicator = "The indicator, as in stg_indicator_members."
-- persons = "Distinct persons counted in the unit and month."
-- new_enrolments = "Persons counted this month who were not counted in this unit the previous month."
-- retained = "Persons counted this month who were also counted in this unit the previous month."
-- lapses = "Persons counted in this unit the previous month who are not counted this month."
-- [[tests]]
-- unique = ["period", "unit_code", "indicator"]
-- [[tests]]
-- not_null = ["period", "unit_code", "indicator", "persons"]
WITH province AS (
    SELECT MIN(unit_code) AS unit_code FROM reference.geography WHERE level = 'province'
),
members AS (
    SELECT m.period, m.indicator, p.unit_code, m.person
    FROM stg_indicator_members AS m CROSS JOIN province AS p
    UNION
    SELECT period, indicator, district_code, person FROM stg_indicator_members
),
-- Each person's previous and next month in the same indicator and unit, within this month and
-- the one before: a sort, which spills, rather than a join, which would not.
sequences AS (
    SELECT
        period,
        indicator,
        unit_code,
        LAG(period) OVER (PARTITION BY indicator, unit_code, person ORDER BY period) AS previous_period,
        LEAD(period) OVER (PARTITION BY indicator, unit_code, person ORDER BY period) AS next_period
    FROM members
),
-- One pass: a row counts toward its own month (present, new or retained) and toward the next
-- month, when there is one, as a lapse if the person is not there.
last AS (
    SELECT MAX(period) AS period FROM stg_indicator_members
),
shifted AS (
    SELECT
        CASE WHEN s.shift = 0 THEN q.period ELSE CAST(q.period + INTERVAL '1 month' AS DATE) END AS period,
        q.indicator,
        q.unit_code,
        s.shift,
        q.previous_period = CAST(q.period - INTERVAL '1 month' AS DATE) AS was_there,
        q.next_period IS NULL OR q.next_period <> CAST(q.period + INTERVAL '1 month' AS DATE) AS leaves
    FROM sequences AS q
    CROSS JOIN (VALUES (0), (1)) AS s(shift)
    CROSS JOIN last AS l
    WHERE s.shift = 0 OR q.period < l.period
)
SELECT
    period,
    unit_code,
    indicator,
    SUM(CASE WHEN shift = 0 THEN 1 ELSE 0 END) AS persons,
    SUM(CASE WHEN shift = 0 AND was_there IS NOT TRUE THEN 1 ELSE 0 END) AS new_enrolments,
    SUM(CASE WHEN shift = 0 AND was_there THEN 1 ELSE 0 END) AS retained,
    SUM(CASE WHEN shift = 1 AND leaves THEN 1 ELSE 0 END) AS lapses
FROM shifted
GROUP BY period, unit_code, indicator
