-- description = "The persons each indicator counts, one row per month, indicator and person, with the district they are assigned to. SI coverage is the union of BHXH_BB and BHXH_TN; the pension-receipt indicator counts beneficiaries at or past retirement age."
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
SELECT DISTINCT period, 'si_coverage' AS indicator, person, district_code
FROM stg_participants WHERE scheme IN ('BHXH_BB', 'BHXH_TN')
UNION ALL
SELECT period, 'si_compulsory_coverage', person, district_code FROM stg_participants WHERE scheme = 'BHXH_BB'
UNION ALL
SELECT period, 'si_voluntary_coverage', person, district_code FROM stg_participants WHERE scheme = 'BHXH_TN'
UNION ALL
SELECT period, 'ui_coverage', person, district_code FROM stg_participants WHERE scheme = 'BHTN'
UNION ALL
SELECT period, 'hi_coverage', person, district_code FROM stg_participants WHERE scheme = 'BHYT'
UNION ALL
SELECT period, 'pension_receipt_rate', person, district_code FROM stg_beneficiaries WHERE past_retirement_age
