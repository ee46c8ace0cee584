-- description = "Every pair of a 12-digit personal ID and a 10-digit social-insurance code carried together by a record, of any month or office: the links that join identifiers into persons (stg_persons)."
-- # Read by every round of stg_persons: kept once as Parquet under staging/.
-- materialized = "parquet"
-- tags = ["staging", "persons"]
-- [columns]
-- national_id_key = "Keyed hash of the 12-digit personal ID."
-- person_id_key = "Keyed hash of a 10-digit code carried with it."
-- [[tests]]
-- unique = ["national_id_key", "person_id_key"]
-- [[tests]]
-- not_null = ["national_id_key", "person_id_key"]
SELECT DISTINCT national_id_key, person_id_key
FROM person_links
