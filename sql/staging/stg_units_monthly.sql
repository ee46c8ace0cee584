-- description = "The units with any record in each month, of participants or beneficiaries: each district, or the office for records without one. coverage_monthly gives each of them a row for every indicator. Built a month at a time."
-- tags = ["staging", "coverage"]
-- partition_by = "period"
-- [columns]
-- period = "First day of the month."
-- unit_code = "District code, or the office's code for records without one."
-- [[tests]]
-- unique = ["period", "unit_code"]
-- [[tests]]
-- not_null = ["period", "unit_code"]
SELECT DISTINCT period, COALESCE(district_code, office) AS unit_code
FROM stg_delivery_units
