-- description = "The 10-digit social-insurance code each 12-digit personal ID is linked to: of all the codes any record of any month or office carried with the ID, the lowest. A record carrying only the ID takes this code's pseudonym."
-- # Read by every month of the staging models: resolved once, kept as Parquet under staging/.
-- materialized = "parquet"
-- tags = ["staging", "persons"]
-- [columns]
-- national_id_key = "Keyed hash of the 12-digit personal ID."
-- person_id_key = "Keyed hash of the 10-digit code it is linked to."
-- [[tests]]
-- unique = ["national_id_key"]
-- [[tests]]
-- not_null = ["national_id_key", "person_id_key"]
SELECT national_id_key, MIN(person_id_key) AS person_id_key
FROM person_links
GROUP BY national_id_key
