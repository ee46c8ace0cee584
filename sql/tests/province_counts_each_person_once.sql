-- A province numerator never exceeds the sum of its districts' numerators, and never falls
-- below the largest district: persons are counted once at province level.
WITH districts AS (
    SELECT period, indicator, SUM(numerator) AS total, MAX(numerator) AS largest
    FROM coverage_monthly WHERE unit_level = 'district'
    GROUP BY period, indicator
)
SELECT p.period, p.indicator, p.numerator, d.total, d.largest
FROM coverage_monthly AS p
JOIN districts AS d ON d.period = p.period AND d.indicator = p.indicator
WHERE p.unit_level = 'province' AND (p.numerator > d.total OR p.numerator < d.largest)
