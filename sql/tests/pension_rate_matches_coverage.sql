-- The pension-receipt rate of coverage_monthly is the both-sexes rate of pension_receipt_monthly.
SELECT c.period, c.boundary, c.unit_code, c.numerator, p.beneficiaries
FROM coverage_monthly AS c
JOIN pension_receipt_monthly AS p
    ON p.period = c.period AND p.boundary = c.boundary AND p.unit_code = c.unit_code
    AND p.unit_level = c.unit_level AND p.sex = 'T'
WHERE c.indicator = 'pension_receipt_rate' AND c.numerator <> p.beneficiaries
