-- description = "Population at or past statutory retirement age by year, unit and sex (M, F and T for both), from single-year-of-age counts: the sum over ages at or above the ceiling of R, plus (ceil(R) - R) of the age group floor(R). Age 100 is the open group 100 and over."
-- tags = ["staging", "pension"]
-- [columns]
-- year = "Calendar year."
-- boundary = "The boundary of the units: before_2025_07 or from_2025_07."
-- unit_code = "GSO code of the province or district."
-- sex = "M, F, or T for both sexes."
-- retirement_age_years = "The retirement age applied, in fractional years (null for T)."
-- population_past_age = "Persons at or past the retirement age; fractional because of the partial age group."
-- [[tests]]
-- unique = ["year", "boundary", "unit_code", "sex"]
-- [[tests]]
-- not_null = ["year", "unit_code", "sex", "population_past_age"]
WITH by_sex AS (
    SELECT
        p.year,
        p.boundary,
        p.unit_code,
        p.sex,
        MAX(r.age_years) AS retirement_age_years,
        SUM(CASE WHEN p.age >= CAST(ceil(r.age_years) AS INT) THEN CAST(p.population AS DOUBLE) ELSE 0.0 END)
        + SUM(CASE
            WHEN p.age = CAST(floor(r.age_years) AS INT) AND ceil(r.age_years) > r.age_years
            THEN (ceil(r.age_years) - r.age_years) * CAST(p.population AS DOUBLE)
            ELSE 0.0
        END) AS population_past_age
    FROM reference.population AS p
    JOIN retirement_age AS r ON r.year = p.year AND r.sex = p.sex
    GROUP BY p.year, p.boundary, p.unit_code, p.sex
)
SELECT year, boundary, unit_code, sex, retirement_age_years, population_past_age FROM by_sex
UNION ALL
SELECT year, boundary, unit_code, 'T' AS sex, CAST(NULL AS DOUBLE) AS retirement_age_years, SUM(population_past_age)
FROM by_sex
GROUP BY year, boundary, unit_code
