-- description = "Every identifier linked to another, with the person it belongs to. Persons are the connected components of the identifiers seen together in any record of any month or office (stg_person_links), whatever their size or depth: two codes linked through one personal ID are one person. A person's pseudonym is that of the lowest personal ID of its component. An identifier never seen with another is its own person and is not listed."
-- # Built in rounds (fixpoint_seed): each identifier starts with the lowest personal ID it is
-- # linked to directly, then each round takes the lowest person among its own, its
-- # neighbours' and that of its person, until no identifier changes. Each round is a join and
-- # an aggregation of the engine, so it spills rather than hold every person in memory.
-- materialized = "parquet"
-- tags = ["staging", "persons"]
-- fixpoint_seed = """
-- SELECT national_id_key AS identifier_key, true AS national_id, national_id_key AS person
-- FROM stg_person_links
-- GROUP BY national_id_key
-- UNION ALL
-- SELECT person_id_key AS identifier_key, false AS national_id, MIN(national_id_key) AS person
-- FROM stg_person_links
-- GROUP BY person_id_key
-- """
-- [columns]
-- identifier_key = "Keyed hash of a 12-digit personal ID or of a 10-digit code."
-- national_id = "Whether the identifier is a personal ID."
-- person = "Pseudonym of the person: the keyed hash of the lowest personal ID of the component."
-- [[tests]]
-- unique = ["identifier_key"]
-- [[tests]]
-- not_null = ["identifier_key", "national_id", "person"]
WITH links AS (
    SELECT national_id_key AS identifier_key, person_id_key AS neighbour FROM stg_person_links
    UNION ALL
    SELECT person_id_key AS identifier_key, national_id_key AS neighbour FROM stg_person_links
),
candidates AS (
    SELECT identifier_key, national_id, person FROM stg_persons
    UNION ALL
    SELECT l.identifier_key, CAST(NULL AS BOOLEAN) AS national_id, n.person
    FROM links AS l
    JOIN stg_persons AS n ON n.identifier_key = l.neighbour
    UNION ALL
    SELECT s.identifier_key, CAST(NULL AS BOOLEAN) AS national_id, j.person
    FROM stg_persons AS s
    JOIN stg_persons AS j ON j.identifier_key = s.person
)
SELECT identifier_key, bool_or(national_id) AS national_id, MIN(person) AS person
FROM candidates
GROUP BY identifier_key
