-- description = "The units with any record in each month, of participants, beneficiaries or social-pension lists, on both boundaries: the communes of the records and the units containing them (stg_unit_rollup). coverage_monthly gives each of them a row for every indicator. Built a month at a time."
-- tags = ["staging", "coverage"]
-- partition_by = "period"
-- [columns]
-- period = "First day of the month."
-- boundary = "as_of_period or current."
-- unit_code = "GSO code of the unit."
-- unit_level = "province, district or commune."
-- [[tests]]
-- unique = ["period", "boundary", "unit_code", "unit_level"]
-- [[tests]]
-- not_null = ["period", "boundary", "unit_code", "unit_level"]
SELECT DISTINCT u.period, r.boundary, r.unit_code, r.unit_level
FROM (SELECT DISTINCT period, commune_code FROM stg_delivery_units) AS u
JOIN stg_unit_rollup AS r
    ON r.commune_code = u.commune_code
    AND (r.valid_from IS NULL OR r.valid_from <= CAST(u.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
    AND (r.valid_to IS NULL OR r.valid_to >= u.period)
