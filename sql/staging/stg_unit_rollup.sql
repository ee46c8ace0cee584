-- description = "Every commune row of reference.geography with the units it is counted in, on each boundary. as_of_period: the commune, its district (before July 2025) and its province, as they were while the row was valid. current: today's commune (the commune itself while it is valid, else the new commune of reference.commune_crosswalk with the largest share, ties to the lowest code) and the units that contain it today. A record is counted in the units of its commune's row valid in the record's month."
-- tags = ["staging", "reference"]
-- [columns]
-- boundary = "as_of_period or current."
-- commune_code = "The commune of a record."
-- valid_from = "First day of the commune row (open when null)."
-- valid_to = "Last day of the commune row (open when null)."
-- unit_code = "A unit its records are counted in."
-- unit_level = "province, district or commune."
-- [[tests]]
-- not_null = ["boundary", "commune_code", "unit_code", "unit_level"]
-- [[tests]]
-- accepted_values = { column = "boundary", values = ["as_of_period", "current"] }
WITH communes AS (
    SELECT unit_code, parent_code, valid_from, valid_to FROM reference.geography WHERE level = 'commune'
),
parents AS (
    SELECT unit_code, level, parent_code, valid_from, valid_to
    FROM reference.geography
    WHERE level IN ('district', 'province')
),
-- A commune row with the parent row valid on its first day (for a row open at its start:
-- valid on its last day, or open too), and the same for the parent's parent.
with_parent AS (
    SELECT c.unit_code AS commune_code, c.valid_from, c.valid_to,
        p.unit_code, p.level, p.parent_code
    FROM communes AS c
    JOIN parents AS p
        ON p.unit_code = c.parent_code
        AND (p.valid_from IS NULL OR (c.valid_from IS NOT NULL AND p.valid_from <= c.valid_from))
        AND (p.valid_to IS NULL OR (c.valid_from IS NOT NULL AND p.valid_to >= c.valid_from)
            OR (c.valid_from IS NULL AND c.valid_to IS NOT NULL AND p.valid_to >= c.valid_to))
),
as_of AS (
    SELECT c.unit_code AS commune_code, c.valid_from, c.valid_to, c.unit_code, 'commune' AS unit_level
    FROM communes AS c
    UNION ALL
    SELECT commune_code, valid_from, valid_to, unit_code, level FROM with_parent
    UNION ALL
    SELECT w.commune_code, w.valid_from, w.valid_to, g.unit_code, g.level
    FROM with_parent AS w
    JOIN parents AS g
        ON g.unit_code = w.parent_code
        AND (g.valid_from IS NULL OR (w.valid_from IS NOT NULL AND g.valid_from <= w.valid_from))
        AND (g.valid_to IS NULL OR (w.valid_from IS NOT NULL AND g.valid_to >= w.valid_from)
            OR (w.valid_from IS NULL AND w.valid_to IS NOT NULL AND g.valid_to >= w.valid_to))
),
-- Where each ended commune went: the new commune with the largest share.
successors AS (
    SELECT old_code, new_code
    FROM (
        SELECT old_code, new_code,
            ROW_NUMBER() OVER (PARTITION BY old_code ORDER BY share DESC, new_code ASC) AS pick
        FROM reference.commune_crosswalk
    ) AS ranked
    WHERE pick = 1
),
today AS (
    SELECT c.unit_code AS commune_code, c.valid_from, c.valid_to,
        CASE WHEN c.valid_to IS NULL THEN c.unit_code ELSE s.new_code END AS today_code
    FROM communes AS c
    LEFT JOIN successors AS s ON s.old_code = c.unit_code
),
open_communes AS (
    SELECT unit_code, parent_code FROM communes WHERE valid_to IS NULL
),
open_parents AS (
    SELECT unit_code, level, parent_code FROM parents WHERE valid_to IS NULL
),
current_units AS (
    SELECT t.commune_code, t.valid_from, t.valid_to, t.today_code AS unit_code, 'commune' AS unit_level
    FROM today AS t
    WHERE t.today_code IS NOT NULL
    UNION ALL
    SELECT t.commune_code, t.valid_from, t.valid_to, p.unit_code, p.level
    FROM today AS t
    JOIN open_communes AS oc ON oc.unit_code = t.today_code
    JOIN open_parents AS p ON p.unit_code = oc.parent_code
    UNION ALL
    SELECT t.commune_code, t.valid_from, t.valid_to, g.unit_code, g.level
    FROM today AS t
    JOIN open_communes AS oc ON oc.unit_code = t.today_code
    JOIN open_parents AS p ON p.unit_code = oc.parent_code
    JOIN open_parents AS g ON g.unit_code = p.parent_code
)
SELECT 'as_of_period' AS boundary, commune_code, valid_from, valid_to, unit_code, unit_level FROM as_of
UNION ALL
SELECT 'current', commune_code, valid_from, valid_to, unit_code, unit_level FROM current_units
