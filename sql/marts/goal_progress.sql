-- description = "Progress toward each target in reference.targets (indicator, unit, target year, boundary): the latest rate no later than December of the target year, the gap in percentage points and in persons, what is needed per month to close it, the trailing 12-month net change, the rate projected to the deadline at that pace, and a status."
-- tags = ["mart", "goals"]
-- [columns]
-- indicator = "The indicator, as in coverage_monthly."
-- unit_code = "GSO code of the unit the target is for."
-- target_year = "Year the target is for (deadline: December of that year)."
-- target_boundary = "The boundary the target is on: before_2025_07 or from_2025_07."
-- boundary = "The coverage_monthly series it is compared with: as_of_period for a target on before_2025_07 (the months counted on those units), current for one on from_2025_07 (every month on today's units, continuous across July 2025)."
-- target_rate = "Target, a fraction (null for a target given in persons)."
-- target_persons = "Target as a number of persons (Resolution 403/NQ-CP), when given so."
-- source = "Where the target comes from."
-- as_of = "Latest month with data, no later than December of the target year (null when none)."
-- actual_rate = "Rate in the as_of month."
-- numerator = "Persons counted in the as_of month."
-- denominator = "Denominator in the as_of month."
-- gap_pp = "target_rate minus actual_rate, in percentage points (negative when ahead)."
-- gap_persons = "target_persons - numerator, or ceil(target_rate x denominator) - numerator, not below 0: persons still needed."
-- months_left = "Months from as_of to December of the target year."
-- required_monthly_net = "gap_persons / months_left: net new persons needed per month (null when no months are left)."
-- trailing_12m_avg_net = "(numerator - numerator 12 months earlier) / 12: net change per month over the last year (null without data a year earlier)."
-- projected_rate = "(numerator + trailing_12m_avg_net x months_left) / denominator: the rate at the deadline at the current pace."
-- status = "achieved (the numerator reaches the target), on_track (it would by the deadline at the trailing pace), off_track, or no_data."
-- [[tests]]
-- unique = ["indicator", "unit_code", "target_year", "target_boundary"]
-- [[tests]]
-- accepted_values = { column = "status", values = ["achieved", "on_track", "off_track", "no_data"] }
-- [[tests]]
-- not_null = ["indicator", "unit_code", "target_year", "target_boundary", "boundary", "status"]
WITH targets AS (
    SELECT
        indicator, unit_code, year AS target_year, target_rate, target_persons,
        boundary AS target_boundary,
        -- Targets on today's units are followed on the current series, continuous across July
        -- 2025; earlier targets on the units of their time.
        CASE WHEN boundary = 'from_2025_07' THEN 'current' ELSE 'as_of_period' END AS boundary,
        source
    FROM reference.targets
),
-- A target is compared with the months counted on its own reference boundary.
target_months AS (
    SELECT t.indicator, t.unit_code, t.target_year, t.target_boundary, cm.period
    FROM targets AS t
    JOIN coverage_monthly AS cm
        ON cm.indicator = t.indicator AND cm.unit_code = t.unit_code AND cm.boundary = t.boundary
        AND cm.period <= make_date(t.target_year, 12, 1)
        AND cm.denominator IS NOT NULL
    JOIN stg_boundaries AS b
        ON b.boundary = cm.boundary AND b.reference_boundary = t.target_boundary
        AND (b.valid_from IS NULL OR cm.period >= b.valid_from)
        AND (b.valid_to IS NULL OR cm.period <= b.valid_to)
),
latest AS (
    SELECT indicator, unit_code, target_year, target_boundary, MAX(period) AS as_of
    FROM target_months
    GROUP BY indicator, unit_code, target_year, target_boundary
),
current AS (
    SELECT
        t.indicator, t.unit_code, t.target_year, t.target_rate, t.target_persons,
        t.target_boundary, t.boundary, t.source, l.as_of,
        cm.rate AS actual_rate, cm.numerator, cm.denominator,
        (t.target_year * 12 + 12)
            - CAST(date_part('year', l.as_of) * 12 + date_part('month', l.as_of) AS INT) AS months_left,
        CAST(year_ago.numerator - cm.numerator AS DOUBLE) AS minus_net_12m
    FROM targets AS t
    LEFT JOIN latest AS l
        ON l.indicator = t.indicator AND l.unit_code = t.unit_code
        AND l.target_year = t.target_year AND l.target_boundary = t.target_boundary
    LEFT JOIN coverage_monthly AS cm
        ON cm.indicator = t.indicator AND cm.unit_code = t.unit_code AND cm.boundary = t.boundary
        AND cm.period = l.as_of
    LEFT JOIN coverage_monthly AS year_ago
        ON year_ago.indicator = t.indicator AND year_ago.unit_code = t.unit_code
        AND year_ago.boundary = t.boundary
        AND year_ago.period = CAST(l.as_of - INTERVAL '12 months' AS DATE)
),
measured AS (
    SELECT
        *,
        (target_rate - actual_rate) * 100 AS gap_pp,
        CASE
            WHEN as_of IS NULL THEN NULL
            WHEN target_persons IS NOT NULL THEN GREATEST(target_persons - numerator, 0)
            ELSE GREATEST(CAST(ceil(round(target_rate * denominator, 6)) AS BIGINT) - numerator, 0)
        END AS gap_persons,
        -- What the target asks for, in the unit it is given in.
        COALESCE(CAST(target_persons AS DOUBLE), target_rate * denominator) AS target_count,
        -minus_net_12m / 12.0 AS trailing_12m_avg_net
    FROM current
)
SELECT
    indicator,
    unit_code,
    target_year,
    target_boundary,
    boundary,
    target_rate,
    target_persons,
    source,
    as_of,
    actual_rate,
    numerator,
    denominator,
    gap_pp,
    gap_persons,
    months_left,
    CASE WHEN months_left > 0 THEN CAST(gap_persons AS DOUBLE) / months_left END AS required_monthly_net,
    trailing_12m_avg_net,
    (numerator + trailing_12m_avg_net * months_left) / denominator AS projected_rate,
    CASE
        WHEN as_of IS NULL THEN 'no_data'
        WHEN numerator >= target_count - 1e-9 THEN 'achieved'
        WHEN numerator + trailing_12m_avg_net * months_left >= target_count - 1e-9 THEN 'on_track'
        ELSE 'off_track'
    END AS status
FROM measured
