-- description = "The reference data each month is counted on, per boundary of the marts. as_of_period: before_2025_07 until June 2025 and from_2025_07 from July 2025, when the reference data has rows on from_2025_07. current: from_2025_07 for every month. Reference data of one boundary (version 1) apply to every month on both."
-- tags = ["staging", "reference"]
-- [columns]
-- boundary = "as_of_period or current."
-- reference_boundary = "The boundary of reference.population, labor_force and targets used: before_2025_07 or from_2025_07."
-- valid_from = "First month it applies to (open when null)."
-- valid_to = "Last day it applies to (open when null)."
-- [[tests]]
-- not_null = ["boundary", "reference_boundary"]
WITH merged AS (
    SELECT COUNT(*) > 0 AS merged
    FROM (
        SELECT boundary FROM reference.population WHERE boundary = 'from_2025_07'
        UNION ALL
        SELECT boundary FROM reference.labor_force WHERE boundary = 'from_2025_07'
    ) AS rows_after
)
SELECT
    'as_of_period' AS boundary,
    'before_2025_07' AS reference_boundary,
    CAST(NULL AS DATE) AS valid_from,
    CASE WHEN merged THEN DATE '2025-06-30' END AS valid_to
FROM merged
UNION ALL
SELECT 'as_of_period', 'from_2025_07', DATE '2025-07-01', CAST(NULL AS DATE) FROM merged WHERE merged
UNION ALL
SELECT 'current', CASE WHEN merged THEN 'from_2025_07' ELSE 'before_2025_07' END,
    CAST(NULL AS DATE), CAST(NULL AS DATE)
FROM merged
