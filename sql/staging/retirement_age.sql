-- description = "Statutory retirement age under normal working conditions by year and sex (Labour Code 2019 art. 169, Decree 135/2020): from 2021 men 60y3m plus 3 months a year up to 62, women 55y4m plus 4 months a year up to 60; before 2021 60 and 55."
-- tags = ["staging", "reference"]
-- [columns]
-- year = "Calendar year, 2015 to 2040."
-- sex = "M or F."
-- years = "Whole years of the retirement age."
-- months = "Months beyond the whole years, 0 to 11."
-- total_months = "The retirement age in months."
-- age_years = "The retirement age in fractional years (61y3m = 61.25)."
-- [[tests]]
-- unique = ["year", "sex"]
-- [[tests]]
-- row_count = { min = 52, max = 52 }
WITH rule AS (
    SELECT
        CAST(y.value AS INT) AS year,
        s.sex,
        CAST(CASE s.sex
            WHEN 'M' THEN LEAST(720 + 3 * GREATEST(y.value - 2020, 0), 744)
            ELSE LEAST(660 + 4 * GREATEST(y.value - 2020, 0), 720)
        END AS INT) AS total_months
    FROM generate_series(2015, 2040) AS y(value)
    CROSS JOIN (VALUES ('M'), ('F')) AS s(sex)
)
SELECT
    year,
    sex,
    CAST(floor(total_months / 12.0) AS INT) AS years,
    total_months % 12 AS months,
    total_months,
    CAST(total_months AS DOUBLE) / 12.0 AS age_years
FROM rule
