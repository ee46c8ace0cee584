-- description = "The boundary of the reference data each month is counted on (the months' own units): before_2025_07 until June 2025 and from_2025_07 from July 2025, when the reference data has rows on from_2025_07; reference data of one boundary (version 1) apply to every month."
-- tags = ["staging", "reference"]
-- [columns]
-- boundary = "before_2025_07 or from_2025_07."
-- valid_from = "First month on this boundary (open when null)."
-- valid_to = "Last day on this boundary (open when null)."
-- [[tests]]
-- unique = ["boundary"]
WITH merged AS (
    SELECT COUNT(*) > 0 AS merged
    FROM (
        SELECT boundary FROM reference.population WHERE boundary = 'from_2025_07'
        UNION ALL
        SELECT boundary FROM reference.labor_force WHERE boundary = 'from_2025_07'
    ) AS rows_after
)
SELECT
    'before_2025_07' AS boundary,
    CAST(NULL AS DATE) AS valid_from,
    CASE WHEN merged THEN DATE '2025-06-30' END AS valid_to
FROM merged
UNION ALL
SELECT 'from_2025_07', DATE '2025-07-01', CAST(NULL AS DATE) FROM merged WHERE merged
