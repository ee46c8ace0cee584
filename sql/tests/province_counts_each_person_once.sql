-- Every person is counted once, in the units of one commune: on each boundary, the provinces'
-- numerators add up to the communes' numerators, and no district exceeds its province.
WITH totals AS (
    SELECT period, boundary, indicator,
        SUM(CASE WHEN unit_level = 'province' THEN numerator ELSE 0 END) AS provinces,
        SUM(CASE WHEN unit_level = 'commune' THEN numerator ELSE 0 END) AS communes,
        MAX(CASE WHEN unit_level = 'district' THEN numerator ELSE 0 END) AS largest_district,
        MAX(CASE WHEN unit_level = 'province' THEN numerator ELSE 0 END) AS largest_province
    FROM coverage_monthly
    GROUP BY period, boundary, indicator
)
SELECT period, boundary, indicator, provinces, communes, largest_district
FROM totals
WHERE provinces <> communes OR largest_district > largest_province
