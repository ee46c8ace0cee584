-- description = "The records of each delivery by where they are placed: per month, kind, delivering office, district (before July 2025) and commune, the number of records. data_quality checks them against the units the office serves; stg_units_monthly takes the units from them. Built a month at a time."
-- tags = ["staging", "quality"]
-- partition_by = "period"
-- period_inputs = ["participants", "beneficiaries", "social_pensions"]
-- [columns]
-- period = "First day of the month."
-- kind = "participants, beneficiaries or social_pensions."
-- office = "The delivering office."
-- district_code = "District of the records (none from July 2025)."
-- commune_code = "Commune of the records."
-- records = "Records of the delivery placed there."
-- [[tests]]
-- not_null = ["period", "kind", "office", "commune_code", "records"]
-- # The office is a partition column of the fact tables, read as a dictionary: stored as text.
SELECT CAST(period || '-01' AS DATE) AS period, kind, CAST(office AS VARCHAR) AS office,
    district_code, commune_code, records
FROM (
    SELECT period, 'participants' AS kind, office, district_code, commune_code, COUNT(*) AS records
    FROM participants
    GROUP BY period, office, district_code, commune_code
    UNION ALL
    SELECT period, 'beneficiaries', office, district_code, commune_code, COUNT(*)
    FROM beneficiaries
    GROUP BY period, office, district_code, commune_code
    UNION ALL
    SELECT period, 'social_pensions', office, district_code, commune_code, COUNT(*)
    FROM social_pensions
    GROUP BY period, office, district_code, commune_code
) AS placed
