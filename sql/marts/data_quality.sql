-- description = "Quality of every expected delivery (kind, month, office): what the latest file did (loaded, restated, refused) or that it is missing, its rows and rejects by reason, and the persons of the office-month that are also active in the same scheme in another office's extract. Expected offices are those of reference.offices valid in the month that send the kind (the districts, for reference data of version 1); months run from the first to the last with any delivery."
-- tags = ["mart", "quality"]
-- [columns]
-- period = "First day of the month."
-- office = "Office code."
-- kind = "participants, beneficiaries or social_pensions."
-- state = "loaded, restated, refused (the earlier load, if any, stays) or missing."
-- file = "Latest file of the delivery."
-- rows_read = "Data rows of the file in effect (the refused file when refused)."
-- rows_loaded = "Rows loaded by the file in effect."
-- rows_rejected = "Rows rejected by the file in effect (the refused file when refused)."
-- reject_reasons = "Rejects of the loaded file by reason, e.g. invalid_date=2, unknown_commune=1."
-- cross_office_duplicates = "Persons active in a scheme here and in another office's extract of the same month (participants only; matched on the pseudonym resolved at load time)."
-- outside_area = "Records of the delivery loaded in effect whose commune (or district) is not one the office serves in the month (reference.office_areas); they are counted where they live."
-- identity_conflicts = "Persons whose identifiers this delivery's records first linked to a second personal ID (stg_identity_conflicts lists them): each conflict is counted once, at the delivery where it arose."
-- outside_eligibility = "Social-pension lists: rows paid outside the eligibility rules (the social pension below 75 unless 70 to 74 in a poor or near-poor household; the social allowance at 80 below 80), loaded and counted as paid."
-- pension_and_social_pension = "Social-pension lists: persons of the list who also receive a pension or a monthly social-insurance allowance in the month (counted once toward pension receipt)."
-- missing = "Whether the delivery is expected but absent."
-- [[tests]]
-- unique = ["period", "office", "kind"]
-- [[tests]]
-- accepted_values = { column = "state", values = ["loaded", "restated", "refused", "missing"] }
WITH fact_loads AS (
    SELECT
        *,
        CAST(period || '-01' AS DATE) AS month,
        ROW_NUMBER() OVER (PARTITION BY kind, period, office ORDER BY loaded_at DESC) AS newest
    FROM _loads
    WHERE kind IN ('participants', 'beneficiaries', 'social_pensions')
),
expected AS (
    SELECT month, office, kind FROM stg_expected_deliveries
    UNION
    SELECT month, office, kind FROM fact_loads
),
-- Where each delivery's records are placed, against the units its office serves in the
-- month: an area is a commune, or a district and its communes.
placed AS (
    SELECT u.period, u.kind, u.office, u.district_code, u.commune_code, u.records, g.parent_code
    FROM stg_delivery_units AS u
    LEFT JOIN reference.geography AS g
        ON g.unit_code = u.commune_code AND g.level = 'commune'
        AND (g.valid_from IS NULL OR g.valid_from <= CAST(u.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (g.valid_to IS NULL OR g.valid_to >= u.period)
),
served AS (
    SELECT DISTINCT p.period, p.kind, p.office, p.commune_code
    FROM placed AS p
    JOIN reference.office_areas AS a
        ON a.office_code = p.office
        AND (a.valid_from IS NULL OR a.valid_from <= CAST(p.period + INTERVAL '1 month' - INTERVAL '1 day' AS DATE))
        AND (a.valid_to IS NULL OR a.valid_to >= p.period)
    WHERE a.unit_code = p.commune_code OR a.unit_code = p.parent_code OR a.unit_code = p.district_code
),
outside AS (
    SELECT p.period, p.kind, p.office, SUM(p.records) AS records
    FROM placed AS p
    LEFT JOIN served AS s
        ON s.period = p.period AND s.kind = p.kind AND s.office = p.office AND s.commune_code = p.commune_code
    WHERE s.office IS NULL
    GROUP BY p.period, p.kind, p.office
),
newest AS (
    SELECT * FROM fact_loads WHERE newest = 1
),
effective AS (
    SELECT kind, period, office, file, rows_read, rows_loaded, rows_rejected,
        ROW_NUMBER() OVER (PARTITION BY kind, period, office ORDER BY loaded_at DESC) AS pick
    FROM fact_loads
    WHERE outcome IN ('loaded', 'restated')
),
restated AS (
    SELECT DISTINCT kind, period, office FROM fact_loads WHERE outcome = 'restated'
),
reasons AS (
    SELECT kind, period, office, string_agg(reason || '=' || CAST(n AS VARCHAR), ', ' ORDER BY reason) AS reject_reasons
    FROM (SELECT kind, period, office, reason, COUNT(*) AS n FROM rejects GROUP BY kind, period, office, reason)
    GROUP BY kind, period, office
),
-- The few persons active in one scheme in several offices' extracts of a month (from the
-- staging model), matched back to every office that listed them.
repeated AS (
    SELECT period, scheme, person FROM stg_participants WHERE cross_office_duplicate
),
-- Every identifier of those persons (stg_persons lists the linked ones; an identifier never
-- linked is its own person), to find their records.
repeated_identifiers AS (
    SELECT r.period, r.scheme, r.person, COALESCE(s.identifier_key, r.person) AS identifier
    FROM repeated AS r
    LEFT JOIN stg_persons AS s ON s.person = r.person
),
duplicates AS (
    SELECT p.period, p.office, COUNT(DISTINCT r.person) AS persons
    FROM repeated_identifiers AS r
    JOIN participants AS p
        ON CAST(p.period || '-01' AS DATE) = r.period AND p.scheme = r.scheme AND p.person = r.identifier
    WHERE p.status = 1
    GROUP BY p.period, p.office
),
-- The social-pension lists' rows against the eligibility rules, by age at the end of the month.
list_ages AS (
    SELECT CAST(period || '-01' AS DATE) AS month, CAST(office AS VARCHAR) AS office, benefit_type,
        poor_household, person,
        CAST(
            (CAST(substr(period, 1, 4) AS INT) * 12 + CAST(substr(period, 6, 2) AS INT))
            - (date_part('year', birth_month) * 12 + date_part('month', birth_month))
        AS INT) AS age_months
    FROM social_pensions
),
outside_eligibility AS (
    SELECT month, office, COUNT(*) AS records
    FROM list_ages
    WHERE (benefit_type = 'HUU_TRI_XA_HOI' AND age_months < 900 AND NOT (age_months >= 840 AND poor_household))
        OR (benefit_type = 'TRO_CAP_XA_HOI_80' AND age_months < 960)
    GROUP BY month, office
),
list_persons AS (
    SELECT DISTINCT a.month, a.office, COALESCE(s.person, a.person) AS person
    FROM stg_persons AS s
    RIGHT JOIN list_ages AS a ON s.identifier_key = a.person
),
both_sources AS (
    SELECT l.month, l.office, COUNT(*) AS persons
    FROM list_persons AS l
    JOIN stg_beneficiaries AS b ON b.period = l.month AND b.person = l.person
    WHERE b.pension OR b.monthly_allowance
    GROUP BY l.month, l.office
),
conflicts AS (
    SELECT period, office, kind, COUNT(*) AS persons
    FROM stg_identity_conflicts
    GROUP BY period, office, kind
)
SELECT
    e.month AS period,
    e.office,
    e.kind,
    CASE
        WHEN n.outcome = 'refused' THEN 'refused'
        WHEN n.outcome IS NULL THEN 'missing'
        WHEN r.office IS NOT NULL THEN 'restated'
        ELSE 'loaded'
    END AS state,
    n.file,
    CASE WHEN n.outcome = 'refused' THEN n.rows_read ELSE ef.rows_read END AS rows_read,
    COALESCE(ef.rows_loaded, 0) AS rows_loaded,
    CASE WHEN n.outcome = 'refused' THEN n.rows_rejected ELSE ef.rows_rejected END AS rows_rejected,
    rs.reject_reasons,
    CASE WHEN e.kind = 'participants' THEN COALESCE(d.persons, 0) END AS cross_office_duplicates,
    CAST(COALESCE(o.records, 0) AS BIGINT) AS outside_area,
    CAST(COALESCE(c.persons, 0) AS BIGINT) AS identity_conflicts,
    CASE WHEN e.kind = 'social_pensions' THEN CAST(COALESCE(oe.records, 0) AS BIGINT) END AS outside_eligibility,
    CASE WHEN e.kind = 'social_pensions' THEN CAST(COALESCE(bs.persons, 0) AS BIGINT) END AS pension_and_social_pension,
    n.outcome IS NULL AS missing
FROM expected AS e
LEFT JOIN newest AS n
    ON n.kind = e.kind AND n.month = e.month AND n.office = e.office
LEFT JOIN effective AS ef
    ON ef.kind = e.kind AND CAST(ef.period || '-01' AS DATE) = e.month AND ef.office = e.office AND ef.pick = 1
LEFT JOIN restated AS r
    ON r.kind = e.kind AND CAST(r.period || '-01' AS DATE) = e.month AND r.office = e.office
LEFT JOIN reasons AS rs
    ON rs.kind = e.kind AND CAST(rs.period || '-01' AS DATE) = e.month AND rs.office = e.office
LEFT JOIN duplicates AS d
    ON CAST(d.period || '-01' AS DATE) = e.month AND d.office = e.office
LEFT JOIN outside AS o
    ON o.period = e.month AND o.kind = e.kind AND o.office = e.office
LEFT JOIN conflicts AS c
    ON c.period = e.month AND c.kind = e.kind AND c.office = e.office
LEFT JOIN outside_eligibility AS oe
    ON oe.month = e.month AND oe.office = e.office AND e.kind = 'social_pensions'
LEFT JOIN both_sources AS bs
    ON bs.month = e.month AND bs.office = e.office AND e.kind = 'social_pensions'
