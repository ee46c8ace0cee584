-- description = "Identity conflicts: persons (stg_persons) whose identifiers are linked to two or more personal IDs, one row each, counted once however many records or months carry them. The person is counted as one, under its lowest personal ID; the row names the delivery whose link first joined a second personal ID to it."
-- materialized = "parquet"
-- tags = ["staging", "persons", "quality"]
-- [columns]
-- person = "Pseudonym of the person (its lowest personal ID)."
-- national_ids = "Personal IDs linked to the person."
-- identifiers = "Identifiers of the person: personal IDs and 10-digit codes."
-- period = "First day of the month of the delivery that first linked a second personal ID."
-- office = "Office of that delivery."
-- kind = "Kind of that delivery: participants or beneficiaries."
-- [[tests]]
-- unique = ["person"]
-- [[tests]]
-- not_null = ["person", "period", "office", "kind"]
WITH sizes AS (
    SELECT person, SUM(CASE WHEN national_id THEN 1 ELSE 0 END) AS national_ids, COUNT(*) AS identifiers
    FROM stg_persons
    GROUP BY person
    HAVING SUM(CASE WHEN national_id THEN 1 ELSE 0 END) > 1
),
ids AS (
    SELECT s.person, s.identifier_key
    FROM stg_persons AS s
    JOIN sizes AS z ON z.person = s.person
    WHERE s.national_id
),
-- Each personal ID's first delivery, then the second personal ID of each person to appear.
firsts AS (
    SELECT i.person, i.identifier_key, l.period, l.office, l.kind,
        ROW_NUMBER() OVER (PARTITION BY i.identifier_key ORDER BY l.period, l.office, l.kind) AS n
    FROM ids AS i
    JOIN person_links AS l ON l.national_id_key = i.identifier_key
),
ordered AS (
    SELECT person, period, office, kind,
        ROW_NUMBER() OVER (PARTITION BY person ORDER BY period, office, kind, identifier_key) AS k
    FROM firsts
    WHERE n = 1
)
SELECT
    o.person,
    CAST(z.national_ids AS BIGINT) AS national_ids,
    CAST(z.identifiers AS BIGINT) AS identifiers,
    CAST(o.period || '-01' AS DATE) AS period,
    o.office,
    o.kind
FROM ordered AS o
JOIN sizes AS z ON z.person = o.person
WHERE o.k = 2
