-- description = "The persons each indicator counts, one row per month, indicator and person, with the district they are assigned to. SI coverage is the union of BHXH_BB and BHXH_TN; the pension-receipt indicator counts beneficiaries at or past retirement age."
-- # Several marts read it: computed once, a month at a time, and kept as Parquet under staging/.
-- partition_by = "period"
-- tags = ["staging", "coverage"]
-- [columns]
-- period = "First day of the month."
-- indicator = "si_coverage, si_compulsory_coverage, si_voluntary_coverage, ui_coverage, hi_coverage or pension_receipt_rate."
-- person = "Pseudonym of the person."
-- district_code = "District the person is assigned to for this indicator."
-- [[tests]]
-- unique = ["period", "indicator", "person", "district_code"]
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
-- once.
SELECT p.period, i.indicator, p.person, p.district_code
FROM stg_participants AS p
JOIN scheme_indicators AS i ON i.scheme = p.scheme
UNION ALL
SELECT DISTINCT period, 'si_coverage', person, district_code
FROM stg_participants
WHERE scheme IN ('BHXH_BB', 'BHXH_TN')
UNION ALL
SELECT period, 'pension_receipt_rate', person, district_code FROM stg_beneficiaries WHERE past_retirement_age
