-- description = "The units whose figures of a month lack an expected delivery, on both boundaries: for every (office, kind) of reference.offices valid in the month with no file loaded, the communes it serves (reference.office_areas: a commune, or a district's communes) and the units containing them (stg_unit_rollup). Months as in stg_expected_deliveries."
-- tags = ["staging", "quality"]
-- [columns]
-- period = "First day of the month."
-- kind = "participants, beneficiaries or social_pensions."
-- boundary = "as_of_period or current."
-- unit_code = "GSO code of the unit."
-- unit_level = "province, district or commune."
-- missing_offices = "The offices whose delivery is missing, comma-separated."
-- [[tests]]
-- unique = ["period", "kind", "boundary", "unit_code", "unit_level"]
WITH expected AS (
    SELECT month, kind, office AS office_code FROM stg_expected_deliveries
),
arrived AS (
    SELECT DISTINCT CAST(period || '-01' AS DATE) AS month, kind, office
    FROM _loads
    WHERE kind IN ('participants', 'beneficiaries', 'social_pensions') AND outcome IN ('loaded', 'restated')
),
missing AS (
    SELECT e.month, e.kind, e.office_code
    FROM expected AS e
    LEFT JOIN arrived AS a ON a.month = e.month AND a.kind = e.kind AND a.office = e.office_code
    WHERE a.office IS NULL
),
served AS (
    SELECT DISTINCT m.month, m.kind, m.office_code, g.unit_code AS commune_code
    FROM missing AS m
    JOIN reference.office_areas AS a
        ON a.office_code = m.office_code
        AND (a.valid_from IS NULL OR a.valid_from <= CAST(m.month + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (a.valid_to IS NULL OR a.valid_to >= m.month)
    JOIN reference.geography AS g
        ON g.level = 'commune'
        AND (g.valid_from IS NULL OR g.valid_from <= CAST(m.month + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (g.valid_to IS NULL OR g.valid_to >= m.month)
        AND (g.unit_code = a.unit_code OR g.parent_code = a.unit_code)
)
SELECT period, kind, boundary, unit_code, unit_level,
    string_agg(office_code, ',' ORDER BY office_code) AS missing_offices
FROM (
    SELECT DISTINCT s.month AS period, s.kind, r.boundary, r.unit_code, r.unit_level, s.office_code
    FROM served AS s
    JOIN stg_unit_rollup AS r
        ON r.commune_code = s.commune_code
        AND (r.valid_from IS NULL OR r.valid_from <= CAST(s.month + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (r.valid_to IS NULL OR r.valid_to >= s.month)
) AS affected
GROUP BY period, kind, boundary, unit_code, unit_level
