-- description = "The deliveries expected in each month: every (office, kind) of reference.offices valid in the month that sends the kind (the districts, for reference data of version 1). Months run from the first to the last with any delivery."
-- tags = ["staging", "quality"]
-- [columns]
-- month = "First day of the month."
-- office = "Office code."
-- kind = "participants, beneficiaries or social_pensions."
-- [[tests]]
-- unique = ["month", "office", "kind"]
WITH bounds AS (
    SELECT
        MIN(CAST(date_part('year', month) * 12 + date_part('month', month) - 1 AS INT)) AS first_index,
        MAX(CAST(date_part('year', month) * 12 + date_part('month', month) - 1 AS INT)) AS last_index
    FROM (
        SELECT CAST(period || '-01' AS DATE) AS month
        FROM _loads
        WHERE kind IN ('participants', 'beneficiaries', 'social_pensions')
    ) AS delivered
),
-- make_date may return null; the fallback never applies and keeps the column non-null.
months AS (
    SELECT COALESCE(make_date(CAST(floor(i / 12.0) AS INT), CAST(i % 12 + 1 AS INT), 1), DATE '1900-01-01') AS month
    FROM (
        SELECT b.first_index + CAST(g.value AS INT) AS i, b.last_index
        FROM bounds AS b CROSS JOIN generate_series(0, 1200) AS g(value)
        WHERE b.first_index IS NOT NULL
    )
    WHERE i <= last_index
),
kinds AS (
    SELECT kind FROM (VALUES ('participants'), ('beneficiaries'), ('social_pensions')) AS v(kind)
)
SELECT m.month, o.office_code AS office, k.kind
FROM months AS m
CROSS JOIN kinds AS k
JOIN reference.offices AS o
    ON strpos(';' || o.kinds || ';', ';' || k.kind || ';') > 0
    AND (o.valid_from IS NULL OR o.valid_from <= CAST(m.month + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
    AND (o.valid_to IS NULL OR o.valid_to >= m.month)
