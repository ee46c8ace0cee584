//! Reference data of the synthetic Khanh Hoa: districts and communes, population by single
//! year of age and sex, labour force, and the targets.

use ansinh_core::{Sex, retirement_age};

/// GSO code of Khanh Hoa.
pub const PROVINCE_CODE: &str = "56";
/// Name of the province.
pub const PROVINCE_NAME: &str = "Khánh Hòa";

/// A district-level unit before 1 July 2025.
#[derive(Debug, Clone, Copy)]
pub struct District {
    /// GSO code, also the office code.
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// Population weight (tens of people in 2019–2022).
    pub weight: u32,
    /// Number of commune-level units.
    pub communes: u32,
    /// Whether its communes are urban wards (phường).
    pub urban: bool,
}

/// The nine districts, in code order.
pub const DISTRICTS: [District; 9] = [
    District {
        code: "568",
        name: "Nha Trang",
        weight: 42_300,
        communes: 27,
        urban: true,
    },
    District {
        code: "569",
        name: "Cam Ranh",
        weight: 12_500,
        communes: 15,
        urban: true,
    },
    District {
        code: "570",
        name: "Cam Lâm",
        weight: 11_000,
        communes: 14,
        urban: false,
    },
    District {
        code: "571",
        name: "Vạn Ninh",
        weight: 13_000,
        communes: 13,
        urban: false,
    },
    District {
        code: "572",
        name: "Ninh Hòa",
        weight: 24_000,
        communes: 27,
        urban: true,
    },
    District {
        code: "573",
        name: "Khánh Vĩnh",
        weight: 3_800,
        communes: 14,
        urban: false,
    },
    District {
        code: "574",
        name: "Diên Khánh",
        weight: 14_500,
        communes: 19,
        urban: false,
    },
    District {
        code: "575",
        name: "Khánh Sơn",
        weight: 2_500,
        communes: 8,
        urban: false,
    },
    District {
        code: "576",
        name: "Trường Sa",
        weight: 40,
        communes: 3,
        urban: false,
    },
];

/// Commune codes of district `index` are `COMMUNE_BASE + 40 * index + j`.
const COMMUNE_BASE: u32 = 22_300;

/// The commune codes of district `index`.
pub fn commune_codes(index: usize) -> Vec<String> {
    let first = COMMUNE_BASE + 40 * index as u32;
    (0..DISTRICTS[index].communes)
        .map(|j| (first + j).to_string())
        .collect()
}

const COMMUNE_NAMES: [&str; 27] = [
    "Vĩnh Hòa",
    "Vĩnh Hải",
    "Vĩnh Phước",
    "Ngọc Hiệp",
    "Vĩnh Thọ",
    "Xương Huân",
    "Vạn Thắng",
    "Vạn Thạnh",
    "Phương Sài",
    "Phương Sơn",
    "Phước Hải",
    "Phước Tân",
    "Lộc Thọ",
    "Phước Tiến",
    "Tân Lập",
    "Phước Hòa",
    "Vĩnh Nguyên",
    "Phước Long",
    "Vĩnh Trường",
    "Vĩnh Lương",
    "Vĩnh Phương",
    "Vĩnh Ngọc",
    "Vĩnh Thạnh",
    "Vĩnh Trung",
    "Vĩnh Hiệp",
    "Vĩnh Thái",
    "Phước Đồng",
];

/// Province population (all ages) in 2024 at scale 1.
const POPULATION_2024: f64 = 1_266_400.0;
/// Yearly population growth.
const POPULATION_GROWTH: f64 = 0.009;
/// Labour force within working age in 2024 at scale 1 (implied by the source article).
pub const LABOR_FORCE_2024: f64 = 566_500.0;
/// Yearly labour-force growth.
const LABOR_FORCE_GROWTH: f64 = 0.01;

/// Years covered by the reference tables.
pub const REFERENCE_YEARS: std::ops::RangeInclusive<i32> = 2015..=2035;

/// Relative size of the single-year age group `age` for `sex`: a pyramid with a wide working
/// age and more women among the old.
fn age_weight(age: u32, sex: Sex) -> f64 {
    let base = match age {
        0..=14 => 1.60,
        15..=39 => 1.50,
        40..=49 => 1.45,
        50..=59 => 1.30,
        60..=69 => 1.00,
        70..=79 => 0.55,
        80..=89 => 0.25,
        90..=99 => 0.06,
        _ => 0.10,
    };
    let old_bias = match (sex, age >= 60) {
        (Sex::Female, true) => 1.15,
        (Sex::Male, true) => 0.88,
        _ => 1.0,
    };
    base * old_bias
}

/// Splits `total` into integer parts proportional to `weights` that sum exactly to `total`
/// (largest remainder).
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut short = total.saturating_sub(parts.iter().sum());
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for i in order {
        if short == 0 {
            break;
        }
        parts[i] += 1;
        short -= 1;
    }
    parts
}

/// District population weights.
pub fn district_weights() -> Vec<f64> {
    DISTRICTS.iter().map(|d| f64::from(d.weight)).collect()
}

/// Population of each district by sex and age (0..=100) in `year`:
/// `[district][sex 0 = M, 1 = F][age]`.
pub fn population(year: i32, scale: f64) -> Vec<[[u64; 101]; 2]> {
    let total = (POPULATION_2024 * scale * (1.0 + POPULATION_GROWTH).powi(year - 2024)).round();
    let districts = apportion(total as u64, &district_weights());
    districts
        .iter()
        .map(|&district_total| {
            let mut weights = Vec::with_capacity(202);
            for sex in [Sex::Male, Sex::Female] {
                for age in 0..=100u32 {
                    weights.push(age_weight(age, sex));
                }
            }
            let parts = apportion(district_total, &weights);
            let mut out = [[0u64; 101]; 2];
            for (i, p) in parts.into_iter().enumerate() {
                out[i / 101][i % 101] = p;
            }
            out
        })
        .collect()
}

/// Population at or past statutory retirement age, with DOMAIN.md's fractional formula,
/// summed over both sexes.
pub fn population_past_retirement(pop: &[[u64; 101]; 2], year: i32) -> f64 {
    [Sex::Male, Sex::Female]
        .iter()
        .enumerate()
        .map(|(s, &sex)| {
            let r = retirement_age(sex, year).as_years();
            let ceil = r.ceil() as usize;
            let floor = r.floor() as usize;
            let above: u64 = pop[s][ceil.min(101)..].iter().sum();
            above as f64 + (ceil as f64 - r) * pop[s][floor] as f64
        })
        .sum()
}

/// Labour force within working age of each district in `year`; sums to the province figure.
pub fn labor_force(year: i32, scale: f64) -> Vec<u64> {
    let total =
        (LABOR_FORCE_2024 * scale * (1.0 + LABOR_FORCE_GROWTH).powi(year - 2024)).round() as u64;
    apportion(total, &district_weights())
}

/// `geography.csv`.
pub fn geography_csv() -> String {
    let mut out = String::from("unit_code,name,level,parent_code,valid_from,valid_to\n");
    out.push_str(&format!("{PROVINCE_CODE},{PROVINCE_NAME},province,,,\n"));
    for d in DISTRICTS.iter() {
        out.push_str(&format!(
            "{},{},district,{PROVINCE_CODE},,\n",
            d.code, d.name
        ));
    }
    for (i, d) in DISTRICTS.iter().enumerate() {
        for (j, code) in commune_codes(i).iter().enumerate() {
            let kind = if d.urban && j < d.communes as usize * 2 / 3 {
                "Phường"
            } else {
                "Xã"
            };
            let name = COMMUNE_NAMES[(j + i * 5) % COMMUNE_NAMES.len()];
            out.push_str(&format!("{code},{kind} {name},commune,{},,\n", d.code));
        }
    }
    out
}

/// `population.csv` for [`REFERENCE_YEARS`], districts and the province.
pub fn population_csv(scale: f64) -> String {
    let mut out = String::from("year,unit_code,sex,age,population\n");
    for year in REFERENCE_YEARS {
        let districts = population(year, scale);
        let mut province = [[0u64; 101]; 2];
        for (i, d) in districts.iter().enumerate() {
            for (s, sex) in ["M", "F"].iter().enumerate() {
                for age in 0..=100 {
                    province[s][age] += d[s][age];
                    out.push_str(&format!(
                        "{year},{},{sex},{age},{}\n",
                        DISTRICTS[i].code, d[s][age]
                    ));
                }
            }
        }
        for (counts, sex) in province.iter().zip(["M", "F"]) {
            for (age, count) in counts.iter().enumerate() {
                out.push_str(&format!("{year},{PROVINCE_CODE},{sex},{age},{count}\n"));
            }
        }
    }
    out
}

/// `labor_force.csv` for [`REFERENCE_YEARS`].
pub fn labor_force_csv(scale: f64) -> String {
    let mut out = String::from("year,unit_code,labor_force\n");
    for year in REFERENCE_YEARS {
        let parts = labor_force(year, scale);
        for (i, p) in parts.iter().enumerate() {
            out.push_str(&format!("{year},{},{p}\n", DISTRICTS[i].code));
        }
        out.push_str(&format!(
            "{year},{PROVINCE_CODE},{}\n",
            parts.iter().sum::<u64>()
        ));
    }
    out
}

/// `targets.csv`: Resolution 28-NQ/TW, the health-insurance path, and the Provincial
/// People's Council's 2024 targets for Khanh Hoa.
pub fn targets_csv() -> String {
    let r28 = "Resolution 28-NQ/TW";
    let council = "Khanh Hoa Provincial People's Council";
    let rows: &[(&str, i32, f64, &str)] = &[
        ("si_coverage", 2021, 0.35, r28),
        ("si_coverage", 2025, 0.45, r28),
        ("si_coverage", 2030, 0.60, r28),
        ("si_compulsory_coverage", 2024, 0.3464, council),
        ("si_voluntary_coverage", 2021, 0.01, r28),
        ("si_voluntary_coverage", 2024, 0.0341, council),
        ("si_voluntary_coverage", 2025, 0.025, r28),
        ("si_voluntary_coverage", 2030, 0.05, r28),
        ("ui_coverage", 2021, 0.28, r28),
        ("ui_coverage", 2025, 0.35, r28),
        ("ui_coverage", 2030, 0.45, r28),
        ("hi_coverage", 2022, 0.926, "Decision 546/QD-TTg"),
        ("hi_coverage", 2023, 0.932, "Decision 546/QD-TTg"),
        ("hi_coverage", 2024, 0.941, "Decision 546/QD-TTg"),
        ("hi_coverage", 2025, 0.9515, "Decision 546/QD-TTg"),
        ("hi_coverage", 2030, 0.97, "Decision 38/QD-TTg"),
        ("pension_receipt_rate", 2021, 0.45, r28),
        ("pension_receipt_rate", 2025, 0.55, r28),
        ("pension_receipt_rate", 2030, 0.60, r28),
    ];
    let mut out = String::from("indicator,unit_code,year,target_rate,source\n");
    for (indicator, year, rate, source) in rows {
        out.push_str(&format!(
            "{indicator},{PROVINCE_CODE},{year},{rate},{source}\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums_exactly() {
        let parts = apportion(182_809, &district_weights());
        assert_eq!(parts.iter().sum::<u64>(), 182_809);
        assert!(parts[0] > parts[1]);
    }

    #[test]
    fn population_is_plausible() {
        let pop = population(2024, 1.0);
        let total: u64 = pop
            .iter()
            .flat_map(|d| d.iter().flat_map(|s| s.iter()))
            .sum();
        assert_eq!(total, 1_266_400);
        let past: f64 = pop
            .iter()
            .map(|d| population_past_retirement(d, 2024))
            .sum();
        let share = past / total as f64;
        assert!((0.12..0.25).contains(&share), "{share}");
    }
}
