//! What the warehouse's tables and columns mean, for the data dictionary.

/// A table's description.
pub fn table_doc(name: &str) -> &'static str {
    match name {
        "participants" => {
            "One row per insured person, scheme and month, as the districts' offices delivered it \
             (validated and pseudonymised). Partitioned by period and office; a corrected \
             delivery replaces its office-month."
        }
        "beneficiaries" => {
            "One row per person receiving a pension or monthly benefit, benefit type and month."
        }
        "social_pensions" => {
            "One row per person paid the social pension (HUU_TRI_XA_HOI, from July 2025) or the \
             social allowance at 80 (TRO_CAP_XA_HOI_80, before) in the month, as the \
             social-protection authority's list gave it. Partitioned by period and office; a \
             corrected list replaces its month."
        }
        "rejects" => "Rows quarantined by validation, with the file, line, field and reason.",
        "_loads" => "One row per delivery file loaded, restated or refused: the load manifest.",
        "person_links" => {
            "Links between the pseudonym of the 12-digit citizen number and that of the \
             social-insurance code, seen on records carrying both; each delivery's links \
             replace its earlier ones."
        }
        "_runs" => "One row per pipeline run: trigger, status, counts and every step as JSON.",
        "reference.geography" => {
            "Administrative units (provinces, districts, communes) with validity dates; one code \
             may have several rows of different validity (province 56 before and after the \
             merger of 1 July 2025)."
        }
        "reference.population" => {
            "Population by year, unit, sex and single year of age, on a boundary."
        }
        "reference.labor_force" => "Labour force within working age by year, unit and boundary.",
        "reference.targets" => {
            "The coverage targets by indicator, unit, year and boundary, as a rate or a number \
             of persons."
        }
        "reference.offices" => {
            "The offices that deliver extracts, what kinds each sends and when it existed \
             (offices.csv; derived from the districts of geography.csv when there is none)."
        }
        "reference.office_areas" => {
            "The units each office serves over time: districts before July 2025, communes after."
        }
        "reference.commune_crosswalk" => {
            "Where each commune that ended on 2025-06-30 went: the new communes and the share of \
             its population in each."
        }
        _ => "",
    }
}

/// A column's description (columns mean the same in every table that has them).
pub fn column_doc(column: &str) -> &'static str {
    match column {
        "period" => "The month of the extract (YYYY-MM).",
        "office" => "Code of the delivering office (the district code for district offices).",
        "person" => {
            "Pseudonym of the person as delivered: keyed hash of the social-insurance code when the record has it, else of the citizen number. The staging models resolve it across both through stg_persons."
        }
        "person_id_key" => "Keyed hash (HMAC-SHA-256) of the 10-digit social-insurance code.",
        "national_id_key" => "Keyed hash of the 12-digit citizen number, when delivered.",
        "birth_month" => "First day of the month of birth.",
        "birth_precision" => "How precise the birth date was: day, month or year.",
        "sex" => "M or F.",
        "scheme" => {
            "BHXH_BB (compulsory social insurance), BHXH_TN (voluntary), BHTN (unemployment) or BHYT (health)."
        }
        "status" => "1 active, 2 suspended, 3 stopped.",
        "district_code" => "GSO code of the district of residence.",
        "commune_code" => "GSO code of the commune of residence, when delivered.",
        "employer_code" => "Code of the employer (compulsory schemes).",
        "contribution_base" => "Monthly contribution base, in dong.",
        "paid_through" => "Last day covered by contributions.",
        "hi_group" => "Health insurance beneficiary group code.",
        "benefit_type" => "Kind of pension or monthly benefit.",
        "monthly_amount" => "Amount paid in the month, in dong.",
        "start_month" => "First month the benefit was paid.",
        "poor_household" => {
            "Whether the social pensioner's household is poor or near-poor (1 in the list)."
        }
        "source_line" => "Line of the delivered file the row came from.",
        "kind" => "participants, beneficiaries, social_pensions or reference.",
        "file" => "The delivered file, relative to the landing area.",
        "sha256" => "SHA-256 of the delivered file.",
        "bytes" => "Size of the file in bytes.",
        "rows_read" => "Data rows read from the file.",
        "rows_loaded" => "Rows loaded.",
        "rows_rejected" => "Rows quarantined in rejects.",
        "outcome" => "loaded, restated or refused.",
        "table_version" => "Version of the fact table the load made.",
        "loaded_at" => "When the file was loaded (UTC).",
        "message" => "Why a file was refused, rejects by reason, or why a run stopped.",
        "extra_columns" => "Columns of the file the contract does not know (ignored).",
        "etag" => {
            "The object store's entity tag of a remote file: an unchanged tag and size spare \
             the next run from downloading the file to hash it."
        }
        "line" => "Line of the file.",
        "field" => "The field that failed validation.",
        "reason" => "Why the row was rejected.",
        "value" => "The rejected value, masked when it is an identifier or a name.",
        "run_id" => "Identifier of the run.",
        "pipeline" => "The pipelines of the run, comma-separated.",
        "trigger" => "manual, backfill, schedule or catch-up.",
        "periods" => "The periods asked for, when any.",
        "started_at" => "When the run started (UTC).",
        "finished_at" => "When the run ended (UTC).",
        "exit_code" => "The exit code of the run.",
        "files_loaded" => "Delivery files loaded for the first time.",
        "files_restated" => "Delivery files that replaced an earlier load.",
        "files_refused" => "Delivery files refused.",
        "files_unchanged" => "Delivery files already loaded in the same form.",
        "models_built" => "Models built by the run.",
        "tests_failed" => "Data tests that failed.",
        "steps" => "Every step of the run, as JSON.",
        "unit_code" => "GSO code of the administrative unit.",
        "name" => "Name of the unit or office.",
        "level" => {
            "Units: province, district or commune. Offices: district, inter_district, \
             grassroots or authority."
        }
        "parent_code" => "Code of the unit containing it.",
        "valid_from" => "First day the row is valid (open when empty).",
        "valid_to" => "Last day the row is valid (open when empty).",
        "office_code" => "Code of the office (3 to 8 letters or digits).",
        "province_code" => "The province the office belongs to.",
        "kinds" => "The delivery kinds the office sends, separated by ';'.",
        "old_code" => "A commune that ended on 2025-06-30.",
        "new_code" => "A commune it went into.",
        "share" => "The fraction of the old commune's population (summing to 1 per old_code).",
        "boundary" => {
            "before_2025_07 (units until 30 June 2025: old Khanh Hoa 56, Ninh Thuan 58, their \
             districts) or from_2025_07 (today's units); a file without the column is \
             before_2025_07."
        }
        "target_persons" => "The target as a number of persons, when it is given so.",
        "year" => "The year.",
        "age" => "Age in completed years (100 = 100 and over).",
        "population" => "Persons.",
        "labor_force" => "Persons in the labour force within working age.",
        "indicator" => "The coverage indicator.",
        "target_rate" => "The target, a fraction (empty for a target in persons).",
        "source" => "Where the target comes from.",
        _ => "",
    }
}
