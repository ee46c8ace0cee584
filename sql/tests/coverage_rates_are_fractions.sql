-- Every rate is a fraction between 0 and 1 where its denominator is known.
SELECT period, boundary, unit_code, indicator, rate
FROM coverage_monthly
WHERE denominator IS NOT NULL AND (rate < 0 OR rate > 1)
