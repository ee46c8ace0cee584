-- description = "The persons each indicator counts, one row per month, indicator and person, with the commune of the record they are assigned to (stg_unit_rollup places it in its district and province). SI coverage is the union of BHXH_BB and BHXH_TN, a person in both assigned to the compulsory record; the pension-receipt indicator counts beneficiaries at or past retirement age."
-- # Several marts read it: computed once, a month at a time, and kept as Parquet under staging/.
-- partition_by = "period"
-- tags = ["staging", "coverage"]
-- [columns]
-- period = "First day of the month."
-- indicator = "si_coverage, si_compulsory_coverage, si_voluntary_coverage, ui_coverage, hi_coverage or pension_receipt_rate."
-- person = "Pseudonym of the person."
-- commune_code = "Commune of the record the person is assigned to for this indicator."
-- [[tests]]
-- unique = ["period", "indicator", "person"]
-- [[tests]]
-- accepted_values = { column = "indicator", values = ["si_coverage", "si_compulsory_coverage", "si_voluntary_coverage", "ui_coverage", "hi_coverage", "pension_receipt_rate"] }
WITH scheme_indicators AS (
    SELECT scheme, indicator
    FROM (VALUES
        ('BHXH_BB', 'si_compulsory_coverage'),
        ('BHXH_TN', 'si_voluntary_coverage'),
        ('BHTN', 'ui_coverage'),
        ('BHYT', 'hi_coverage')
    ) AS v(scheme, indicator)
)
-- One row per month, scheme and person in stg_participants (a tested rule): one scheme's
-- indicator needs no DISTINCT; SI coverage, the union of two schemes, keeps a person in both
-- once, with the compulsory record's commune ('0' sorts before '1').
SELECT p.period, i.indicator, p.person, p.commune_code
FROM stg_participants AS p
JOIN scheme_indicators AS i ON i.scheme = p.scheme
UNION ALL
SELECT period, 'si_coverage', person,
    substr(MIN(CASE WHEN scheme = 'BHXH_BB' THEN '0' ELSE '1' END || commune_code), 2) AS commune_code
FROM stg_participants
WHERE scheme IN ('BHXH_BB', 'BHXH_TN')
GROUP BY period, person
UNION ALL
SELECT period, 'pension_receipt_rate', person, commune_code FROM stg_beneficiaries WHERE past_retirement_age
