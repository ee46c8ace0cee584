//! Reference data of the synthetic Khanh Hoa: districts and communes, population by single
//! year of age and sex, labour force, and the targets.

use ansinh_core::{Sex, retirement_age};

/// GSO code of Khanh Hoa.
pub const PROVINCE_CODE: &str = "56";
/// Name of the province.
pub const PROVINCE_NAME: &str = "Khánh Hòa";

/// GSO code of Ninh Thuan, closed on 1 July 2025 when it merged into Khanh Hoa.
pub const NINH_THUAN_CODE: &str = "58";
/// Name of Ninh Thuan.
pub const NINH_THUAN_NAME: &str = "Ninh Thuận";

/// Last day of the old provinces, their districts and communes.
pub const OLD_UNITS_END: &str = "2025-06-30";
/// First day of the merged province and its new communes.
pub const MERGED_FROM: &str = "2025-07-01";
/// The merger month.
pub const MERGER: (i32, u32) = (2025, 7);
/// The month district offices were regrouped into inter-district offices.
pub const REGROUPING: (i32, u32) = (2025, 4);

/// A district-level unit before 1 July 2025.
#[derive(Debug, Clone, Copy)]
pub struct District {
    /// GSO code, also the code of its office until March 2025.
    pub code: &'static str,
    /// Name.
    pub name: &'static str,
    /// Province it belonged to.
    pub province: &'static str,
    /// Population weight (tens of people in 2019–2022).
    pub weight: u32,
    /// Number of commune-level units.
    pub communes: u32,
    /// Code of its first commune; the others follow.
    pub commune_base: u32,
    /// Whether its communes are urban wards (phường).
    pub urban: bool,
    /// Number of the new communes (from July 2025) its communes went into.
    pub new_communes: u32,
    /// The inter-district office that served it from April to June 2025.
    pub inter_district: &'static str,
    /// The grassroots office that serves its new communes from July 2025.
    pub grassroots: &'static str,
}

/// `communes`: (number, code of the first, whether urban); `offices`: (new communes,
/// inter-district office, grassroots office).
const fn district(
    code: &'static str,
    name: &'static str,
    province: &'static str,
    weight: u32,
    communes: (u32, u32, bool),
    offices: (u32, &'static str, &'static str),
) -> District {
    let (communes, commune_base, urban) = communes;
    District {
        code,
        name,
        province,
        weight,
        communes,
        commune_base,
        urban,
        new_communes: offices.0,
        inter_district: offices.1,
        grassroots: offices.2,
    }
}

/// The districts of old Khanh Hoa (the first [`KHANH_HOA_DISTRICTS`]) and of Ninh Thuan, in
/// code order within each province.
pub const DISTRICTS: [District; 16] = [
    district(
        "568",
        "Nha Trang",
        "56",
        42_300,
        (27, 22_300, true),
        (8, "KV5601", "56CS01"),
    ),
    district(
        "569",
        "Cam Ranh",
        "56",
        12_500,
        (15, 22_340, true),
        (4, "KV5602", "56CS02"),
    ),
    district(
        "570",
        "Cam Lâm",
        "56",
        11_000,
        (14, 22_380, false),
        (5, "KV5602", "56CS02"),
    ),
    district(
        "571",
        "Vạn Ninh",
        "56",
        13_000,
        (13, 22_420, false),
        (5, "KV5603", "56CS03"),
    ),
    district(
        "572",
        "Ninh Hòa",
        "56",
        24_000,
        (27, 22_460, true),
        (7, "KV5603", "56CS04"),
    ),
    district(
        "573",
        "Khánh Vĩnh",
        "56",
        3_800,
        (14, 22_500, false),
        (5, "KV5604", "56CS06"),
    ),
    district(
        "574",
        "Diên Khánh",
        "56",
        14_500,
        (19, 22_540, false),
        (6, "KV5604", "56CS05"),
    ),
    district(
        "575",
        "Khánh Sơn",
        "56",
        2_500,
        (8, 22_580, false),
        (3, "KV5604", "56CS06"),
    ),
    district(
        "576",
        "Trường Sa",
        "56",
        40,
        (3, 22_620, false),
        (1, "KV5601", "56CS01"),
    ),
    district(
        "582",
        "Phan Rang–Tháp Chàm",
        "58",
        17_000,
        (15, 22_700, true),
        (4, "KV5801", "56CS07"),
    ),
    district(
        "584",
        "Bác Ái",
        "58",
        3_000,
        (9, 22_720, false),
        (3, "KV5803", "56CS09"),
    ),
    district(
        "585",
        "Ninh Sơn",
        "58",
        7_500,
        (8, 22_740, false),
        (3, "KV5803", "56CS09"),
    ),
    district(
        "586",
        "Ninh Hải",
        "58",
        9_000,
        (9, 22_760, false),
        (3, "KV5801", "56CS07"),
    ),
    district(
        "587",
        "Ninh Phước",
        "58",
        13_500,
        (9, 22_780, false),
        (4, "KV5802", "56CS08"),
    ),
    district(
        "588",
        "Thuận Bắc",
        "58",
        4_200,
        (6, 22_800, false),
        (2, "KV5801", "56CS10"),
    ),
    district(
        "589",
        "Thuận Nam",
        "58",
        6_000,
        (8, 22_820, false),
        (2, "KV5802", "56CS08"),
    ),
];

/// Old Khanh Hoa's districts are the first entries of [`DISTRICTS`].
pub const KHANH_HOA_DISTRICTS: usize = 9;

/// Indexes into [`DISTRICTS`] of the districts of `province`.
pub fn districts_of(province: &str) -> Vec<usize> {
    (0..DISTRICTS.len())
        .filter(|&i| DISTRICTS[i].province == province)
        .collect()
}

/// The code of each new commune is `NEW_COMMUNE_BASE` plus its number, counted over the
/// districts in [`DISTRICTS`] order.
const NEW_COMMUNE_BASE: u32 = 23_000;

/// The commune codes of district `index` (valid until June 2025).
pub fn commune_codes(index: usize) -> Vec<String> {
    let d = &DISTRICTS[index];
    (0..d.communes)
        .map(|j| (d.commune_base + j).to_string())
        .collect()
}

/// The new communes (from July 2025) that district `index`'s communes went into.
pub fn new_commune_codes(index: usize) -> Vec<String> {
    let first: u32 = DISTRICTS[..index].iter().map(|d| d.new_communes).sum();
    (0..DISTRICTS[index].new_communes)
        .map(|t| (NEW_COMMUNE_BASE + first + t).to_string())
        .collect()
}

/// Where commune `j` of district `index` went: `(new commune, share)` pairs, the largest
/// share first. Communes go to new communes in order; in each district with more than one new
/// commune, the last old commune of the first new commune is split 60/40 with the next.
pub fn successors(index: usize, j: u32) -> Vec<(String, f64)> {
    let d = &DISTRICTS[index];
    let new = new_commune_codes(index);
    let target = |j: u32| (j * d.new_communes / d.communes) as usize;
    let t = target(j);
    let split = d.new_communes > 1 && t == 0 && target(j + 1) == 1;
    if split {
        vec![(new[0].clone(), 0.6), (new[1].clone(), 0.4)]
    } else {
        vec![(new[t].clone(), 1.0)]
    }
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

/// Population (all ages) of old Khanh Hoa in 2024 at scale 1.
const POPULATION_2024: f64 = 1_266_400.0;
/// Population of Ninh Thuan in 2024 at scale 1.
const NINH_THUAN_POPULATION_2024: f64 = 602_000.0;
/// Yearly population growth.
const POPULATION_GROWTH: f64 = 0.009;
/// Labour force within working age of old Khanh Hoa in 2024 at scale 1 (implied by the source
/// article).
pub const LABOR_FORCE_2024: f64 = 566_500.0;
/// Labour force within working age of Ninh Thuan in 2024 at scale 1.
const NINH_THUAN_LABOR_FORCE_2024: f64 = 334_000.0;
/// Yearly labour-force growth.
const LABOR_FORCE_GROWTH: f64 = 0.01;

/// Years covered by the reference tables.
pub const REFERENCE_YEARS: std::ops::RangeInclusive<i32> = 2015..=2035;
/// Years the old units have reference rows for (boundary `before_2025_07`).
const OLD_UNIT_YEARS: std::ops::RangeInclusive<i32> = 2015..=2025;
/// Years today's communes have reference rows for (the province has every year).
const COMMUNE_YEARS: std::ops::RangeInclusive<i32> = 2024..=2030;

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

/// Population weights of the districts of `province`: (indexes into [`DISTRICTS`], weights).
pub fn province_weights(province: &str) -> (Vec<usize>, Vec<f64>) {
    let indexes = districts_of(province);
    let weights = indexes
        .iter()
        .map(|&i| f64::from(DISTRICTS[i].weight))
        .collect();
    (indexes, weights)
}

/// Splits a province total over its districts: one value per entry of [`DISTRICTS`], zero
/// outside `province`.
fn per_district(province: &str, total: u64) -> Vec<u64> {
    let (indexes, weights) = province_weights(province);
    let mut out = vec![0; DISTRICTS.len()];
    for (i, part) in indexes.into_iter().zip(apportion(total, &weights)) {
        out[i] = part;
    }
    out
}

/// One value per district: old Khanh Hoa's `khanh_hoa` and Ninh Thuan's `ninh_thuan` split by
/// weight.
fn both_provinces(khanh_hoa: f64, ninh_thuan: f64) -> Vec<u64> {
    let kh = per_district(PROVINCE_CODE, khanh_hoa.round() as u64);
    let nt = per_district(NINH_THUAN_CODE, ninh_thuan.round() as u64);
    kh.iter().zip(nt).map(|(a, b)| a + b).collect()
}

/// `total` persons by sex and age (0..=100): `[sex 0 = M, 1 = F][age]`.
fn by_sex_and_age(total: u64) -> [[u64; 101]; 2] {
    let mut weights = Vec::with_capacity(202);
    for sex in [Sex::Male, Sex::Female] {
        for age in 0..=100u32 {
            weights.push(age_weight(age, sex));
        }
    }
    let mut out = [[0u64; 101]; 2];
    for (i, p) in apportion(total, &weights).into_iter().enumerate() {
        out[i / 101][i % 101] = p;
    }
    out
}

/// Population of each district by sex and age (0..=100) in `year`:
/// `[district][sex 0 = M, 1 = F][age]`.
pub fn population(year: i32, scale: f64) -> Vec<[[u64; 101]; 2]> {
    let growth = (1.0 + POPULATION_GROWTH).powi(year - 2024);
    both_provinces(
        POPULATION_2024 * scale * growth,
        NINH_THUAN_POPULATION_2024 * scale * growth,
    )
    .into_iter()
    .map(by_sex_and_age)
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

/// Labour force within working age of each district in `year`; sums to the provinces' figures.
pub fn labor_force(year: i32, scale: f64) -> Vec<u64> {
    let growth = (1.0 + LABOR_FORCE_GROWTH).powi(year - 2024);
    both_provinces(
        LABOR_FORCE_2024 * scale * growth,
        NINH_THUAN_LABOR_FORCE_2024 * scale * growth,
    )
}

/// The share of district `index`'s population in each of its new communes. The sample places
/// the people of a split commune, like the warehouse places its records, in its largest-share
/// successor, so that today's communes have the same persons and population in every year.
fn new_commune_weights(index: usize) -> Vec<f64> {
    let new = new_commune_codes(index);
    let mut weights = vec![0.0; new.len()];
    for j in 0..DISTRICTS[index].communes {
        let (code, _) = successors(index, j).remove(0);
        if let Some(t) = new.iter().position(|c| *c == code) {
            weights[t] += 1.0;
        }
    }
    weights
}

fn commune_name(index: usize, j: usize, urban: bool, new: bool) -> String {
    let d = &DISTRICTS[index];
    if new && d.code == "576" {
        return "Đặc khu Trường Sa".into();
    }
    let kind = if urban { "Phường" } else { "Xã" };
    let name = COMMUNE_NAMES[(j + index * 5 + usize::from(new) * 11) % COMMUNE_NAMES.len()];
    format!("{kind} {name}")
}

/// `geography.csv`: the two old provinces, their districts and communes until June 2025, and
/// the merged province with its new communes from July 2025.
pub fn geography_csv() -> String {
    let mut out = String::from("unit_code,name,level,parent_code,valid_from,valid_to\n");
    out.push_str(&format!(
        "{PROVINCE_CODE},{PROVINCE_NAME},province,,,{OLD_UNITS_END}\n"
    ));
    out.push_str(&format!(
        "{PROVINCE_CODE},{PROVINCE_NAME},province,,{MERGED_FROM},\n"
    ));
    out.push_str(&format!(
        "{NINH_THUAN_CODE},{NINH_THUAN_NAME},province,,,{OLD_UNITS_END}\n"
    ));
    for d in DISTRICTS.iter() {
        out.push_str(&format!(
            "{},{},district,{},,{OLD_UNITS_END}\n",
            d.code, d.name, d.province
        ));
    }
    for (i, d) in DISTRICTS.iter().enumerate() {
        for (j, code) in commune_codes(i).iter().enumerate() {
            let urban = d.urban && j < d.communes as usize * 2 / 3;
            let name = commune_name(i, j, urban, false);
            out.push_str(&format!(
                "{code},{name},commune,{},,{OLD_UNITS_END}\n",
                d.code
            ));
        }
    }
    for (i, d) in DISTRICTS.iter().enumerate() {
        for (t, code) in new_commune_codes(i).iter().enumerate() {
            let urban = d.urban && t < (d.new_communes as usize).div_ceil(2);
            let name = commune_name(i, t, urban, true);
            out.push_str(&format!(
                "{code},{name},commune,{PROVINCE_CODE},{MERGED_FROM},\n"
            ));
        }
    }
    out
}

/// Rows of one reference table: (year, unit, boundary, value) for every unit of both
/// boundaries, from one value per district. `split` divides a district's value among its new
/// communes by weight.
fn by_boundary<T: Copy>(
    year: i32,
    districts: &[T],
    add: impl Fn(T, T) -> T,
    zero: T,
    split: impl Fn(T, &[f64]) -> Vec<T>,
    row: &mut dyn FnMut(&str, &str, T),
) {
    let sum = |indexes: &mut dyn Iterator<Item = usize>| {
        indexes.fold(zero, |acc, i| add(acc, districts[i]))
    };
    if OLD_UNIT_YEARS.contains(&year) {
        for (i, d) in DISTRICTS.iter().enumerate() {
            row(d.code, "before_2025_07", districts[i]);
        }
        for province in [PROVINCE_CODE, NINH_THUAN_CODE] {
            let total = sum(&mut districts_of(province).into_iter());
            row(province, "before_2025_07", total);
        }
    }
    if COMMUNE_YEARS.contains(&year) {
        for (i, &value) in districts.iter().enumerate() {
            let parts = split(value, &new_commune_weights(i));
            for (code, part) in new_commune_codes(i).iter().zip(parts) {
                row(code, "from_2025_07", part);
            }
        }
    }
    let merged = sum(&mut (0..DISTRICTS.len()));
    row(PROVINCE_CODE, "from_2025_07", merged);
}

/// `population.csv`: for [`REFERENCE_YEARS`], the old units (boundary `before_2025_07`, until
/// 2025) and today's (boundary `from_2025_07`; communes for 2024–2030).
pub fn population_csv(scale: f64) -> String {
    let mut out = String::from("year,unit_code,sex,age,population,boundary\n");
    for year in REFERENCE_YEARS {
        let districts = population(year, scale);
        let add = |a: [[u64; 101]; 2], b: [[u64; 101]; 2]| {
            let mut c = a;
            for s in 0..2 {
                for age in 0..=100 {
                    c[s][age] += b[s][age];
                }
            }
            c
        };
        // A district's people split among its new communes, each with the district's
        // pyramid: a commune's count up to each cell is its share of the district's count up
        // to that cell, rounded down, so every age group is within one person of its share.
        let split = |cells: [[u64; 101]; 2], weights: &[f64]| {
            let flat: Vec<u64> = cells.iter().flatten().copied().collect();
            let total: u64 = flat.iter().sum();
            apportion(total, weights)
                .into_iter()
                .map(|part| {
                    let mut out = [[0u64; 101]; 2];
                    let (mut cumulative, mut placed) = (0u64, 0u64);
                    for (i, count) in flat.iter().enumerate() {
                        cumulative += count;
                        let through = (u128::from(part) * u128::from(cumulative)
                            / u128::from(total.max(1)))
                            as u64;
                        out[i / 101][i % 101] = through - placed;
                        placed = through;
                    }
                    out
                })
                .collect::<Vec<_>>()
        };
        by_boundary(
            year,
            &districts,
            add,
            [[0; 101]; 2],
            split,
            &mut |unit, boundary, cells| {
                for (s, sex) in ["M", "F"].iter().enumerate() {
                    for (age, count) in cells[s].iter().enumerate() {
                        out.push_str(&format!("{year},{unit},{sex},{age},{count},{boundary}\n"));
                    }
                }
            },
        );
    }
    out
}

/// `labor_force.csv` for [`REFERENCE_YEARS`], on both boundaries as `population.csv`.
pub fn labor_force_csv(scale: f64) -> String {
    let mut out = String::from("year,unit_code,labor_force,boundary\n");
    for year in REFERENCE_YEARS {
        let districts = labor_force(year, scale);
        by_boundary(
            year,
            &districts,
            |a, b| a + b,
            0,
            apportion,
            &mut |unit, boundary, value| {
                out.push_str(&format!("{year},{unit},{value},{boundary}\n"));
            },
        );
    }
    out
}

/// `targets.csv`: Resolution 28-NQ/TW, the health-insurance path and the Provincial People's
/// Council's 2024 targets on old Khanh Hoa; the 2026 and 2030 targets on the merged province,
/// with numbers of persons as Resolution 403/NQ-CP assigns them (invented for the sample).
pub fn targets_csv(scale: f64) -> String {
    let r28 = "Resolution 28-NQ/TW";
    let council = "Khanh Hoa Provincial People's Council";
    let r403 = "Resolution 403/NQ-CP";
    let old = "before_2025_07";
    let new = "from_2025_07";
    // (indicator, year, rate, persons, source, boundary)
    type Target<'a> = (&'a str, i32, Option<f64>, Option<f64>, &'a str, &'a str);
    let rows: &[Target] = &[
        ("si_coverage", 2021, Some(0.35), None, r28, old),
        ("si_coverage", 2025, Some(0.45), None, r28, old),
        (
            "si_compulsory_coverage",
            2024,
            Some(0.3464),
            None,
            council,
            old,
        ),
        ("si_voluntary_coverage", 2021, Some(0.01), None, r28, old),
        (
            "si_voluntary_coverage",
            2024,
            Some(0.0341),
            None,
            council,
            old,
        ),
        ("si_voluntary_coverage", 2025, Some(0.025), None, r28, old),
        ("ui_coverage", 2021, Some(0.28), None, r28, old),
        ("ui_coverage", 2025, Some(0.35), None, r28, old),
        (
            "hi_coverage",
            2022,
            Some(0.926),
            None,
            "Decision 546/QD-TTg",
            old,
        ),
        (
            "hi_coverage",
            2023,
            Some(0.932),
            None,
            "Decision 546/QD-TTg",
            old,
        ),
        (
            "hi_coverage",
            2024,
            Some(0.941),
            None,
            "Decision 546/QD-TTg",
            old,
        ),
        (
            "hi_coverage",
            2025,
            Some(0.9515),
            None,
            "Decision 546/QD-TTg",
            old,
        ),
        ("pension_receipt_rate", 2021, Some(0.45), None, r28, old),
        ("pension_receipt_rate", 2025, Some(0.55), None, r28, old),
        (
            "hi_coverage",
            2026,
            Some(0.95),
            None,
            "Resolution 72-NQ/TW",
            new,
        ),
        ("si_coverage", 2026, None, Some(330_000.0), council, new),
        ("si_coverage", 2030, None, Some(420_000.0), r403, new),
        (
            "si_voluntary_coverage",
            2030,
            None,
            Some(45_000.0),
            r403,
            new,
        ),
        ("ui_coverage", 2030, Some(0.45), None, r28, new),
        (
            "hi_coverage",
            2030,
            Some(0.97),
            None,
            "Decision 38/QD-TTg",
            new,
        ),
        ("pension_receipt_rate", 2030, Some(0.60), None, r28, new),
    ];
    let mut out =
        String::from("indicator,unit_code,year,target_rate,source,boundary,target_persons\n");
    for (indicator, year, rate, persons, source, boundary) in rows {
        let rate = rate.map(|r| r.to_string()).unwrap_or_default();
        let persons = persons
            .map(|p| ((p * scale).round() as u64).to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "{indicator},{PROVINCE_CODE},{year},{rate},{source},{boundary},{persons}\n"
        ));
    }
    out
}

/// A month as (year, month).
pub type Month = (i32, u32);

/// An office of the sample registry.
#[derive(Debug, Clone)]
pub struct SampleOffice {
    /// Office code.
    pub code: String,
    /// Name.
    pub name: String,
    /// `district`, `inter_district`, `grassroots` or `authority` (the social-protection
    /// authority, which sends the social-pension lists).
    pub level: &'static str,
    /// Province code.
    pub province: &'static str,
    /// First and last month (inclusive; open when `None`).
    pub months: (Option<Month>, Option<Month>),
    /// The districts (indexes into [`DISTRICTS`]) whose persons it serves.
    pub districts: Vec<usize>,
}

impl SampleOffice {
    /// Whether the office is valid in month `ym`.
    pub fn valid_in(&self, ym: (i32, u32)) -> bool {
        self.months.0.is_none_or(|f| f <= ym) && self.months.1.is_none_or(|t| ym <= t)
    }

    fn date_from(&self) -> String {
        self.months
            .0
            .map(|(y, m)| format!("{y}-{m:02}-01"))
            .unwrap_or_default()
    }

    fn date_to(&self) -> String {
        self.months
            .1
            .and_then(|(y, m)| ansinh_core::YearMonth::new(y, m))
            .map(|ym| ym.last_day().to_string())
            .unwrap_or_default()
    }

    /// The units it serves: its districts before July 2025, their new communes after.
    pub fn areas(&self) -> Vec<String> {
        if self.level == "authority" {
            vec![self.province.to_string()]
        } else if self.level == "grassroots" {
            self.districts
                .iter()
                .flat_map(|&i| new_commune_codes(i))
                .collect()
        } else {
            self.districts
                .iter()
                .map(|&i| DISTRICTS[i].code.to_string())
                .collect()
        }
    }
}

/// The sample office registry: district offices until March 2025, inter-district offices
/// from April to June 2025, grassroots offices of the merged province from July 2025. Offices
/// of one period are listed in code order, Khanh Hoa's first.
pub fn offices() -> Vec<SampleOffice> {
    let before_regrouping = (2025, 3);
    let old_end = (2025, 6);
    let mut out: Vec<SampleOffice> = DISTRICTS
        .iter()
        .enumerate()
        .map(|(i, d)| SampleOffice {
            code: d.code.into(),
            name: format!("BHXH {}", d.name),
            level: "district",
            province: d.province,
            months: (None, Some(before_regrouping)),
            districts: vec![i],
        })
        .collect();
    let mut grouped =
        |level: &'static str, code_of: fn(&District) -> &'static str, prefix: &str| {
            let mut codes: Vec<&str> = DISTRICTS.iter().map(code_of).collect();
            codes.sort_unstable();
            codes.dedup();
            for code in codes {
                let districts: Vec<usize> = (0..DISTRICTS.len())
                    .filter(|&i| code_of(&DISTRICTS[i]) == code)
                    .collect();
                let first = &DISTRICTS[districts[0]];
                let months = if level == "grassroots" {
                    (Some(MERGER), None)
                } else {
                    (Some(REGROUPING), Some(old_end))
                };
                out.push(SampleOffice {
                    code: code.into(),
                    name: format!("{prefix} {}", first.name),
                    level,
                    province: if level == "grassroots" {
                        PROVINCE_CODE
                    } else {
                        first.province
                    },
                    months,
                    districts,
                });
            }
        };
    grouped("inter_district", |d| d.inter_district, "BHXH khu vực");
    grouped("grassroots", |d| d.grassroots, "BHXH cơ sở");
    // The social pension begins in July 2025, with the merged province: one authority lists
    // its recipients in every commune.
    out.push(SampleOffice {
        code: AUTHORITY.into(),
        name: "Sở Y tế Khánh Hòa (bảo trợ xã hội)".into(),
        level: "authority",
        province: PROVINCE_CODE,
        months: (Some(MERGER), None),
        districts: (0..DISTRICTS.len()).collect(),
    });
    out
}

/// Code of the social-protection authority that sends the social-pension lists.
pub const AUTHORITY: &str = "BTXH56";

/// The offices valid in month `ym`, in registry order.
pub fn offices_in(ym: (i32, u32)) -> Vec<SampleOffice> {
    offices().into_iter().filter(|o| o.valid_in(ym)).collect()
}

/// `offices.csv`.
pub fn offices_csv() -> String {
    let mut out = String::from("office_code,name,level,province_code,kinds,valid_from,valid_to\n");
    for o in offices() {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            o.code,
            o.name,
            o.level,
            o.province,
            if o.level == "authority" {
                "social_pensions"
            } else {
                "participants;beneficiaries"
            },
            o.date_from(),
            o.date_to()
        ));
    }
    out
}

/// `office_areas.csv`.
pub fn office_areas_csv() -> String {
    let mut out = String::from("office_code,unit_code,valid_from,valid_to\n");
    for o in offices() {
        for unit in o.areas() {
            out.push_str(&format!(
                "{},{unit},{},{}\n",
                o.code,
                o.date_from(),
                o.date_to()
            ));
        }
    }
    out
}

/// `commune_crosswalk.csv`: every commune that ended on 2025-06-30.
pub fn commune_crosswalk_csv() -> String {
    let mut out = String::from("old_code,new_code,share\n");
    for i in 0..DISTRICTS.len() {
        for (j, old) in commune_codes(i).iter().enumerate() {
            for (new, share) in successors(i, j as u32) {
                out.push_str(&format!("{old},{new},{share}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums_exactly() {
        let parts = apportion(182_809, &province_weights(PROVINCE_CODE).1);
        assert_eq!(parts.iter().sum::<u64>(), 182_809);
        assert!(parts[0] > parts[1]);
    }

    #[test]
    fn population_is_plausible() {
        let pop = population(2024, 1.0);
        let total = |districts: &[[[u64; 101]; 2]]| -> u64 {
            districts
                .iter()
                .flat_map(|d| d.iter().flat_map(|s| s.iter()))
                .sum()
        };
        assert_eq!(total(&pop[..KHANH_HOA_DISTRICTS]), 1_266_400);
        assert_eq!(total(&pop[KHANH_HOA_DISTRICTS..]), 602_000);
        let pop = &pop[..KHANH_HOA_DISTRICTS];
        let total = total(pop);
        let past: f64 = pop
            .iter()
            .map(|d| population_past_retirement(d, 2024))
            .sum();
        let share = past / total as f64;
        assert!((0.12..0.25).contains(&share), "{share}");
    }

    #[test]
    fn the_merged_province_has_65_communes_and_10_grassroots_offices() {
        let new: usize = (0..DISTRICTS.len())
            .map(|i| new_commune_codes(i).len())
            .sum();
        assert_eq!(new, 65);
        let grassroots: Vec<SampleOffice> = offices_in(MERGER)
            .into_iter()
            .filter(|o| o.level == "grassroots")
            .collect();
        assert_eq!(grassroots.len(), 10);
        assert_eq!(offices_in(MERGER).len(), 11, "and the authority");
        // Every new commune is served by exactly one grassroots office and receives at least
        // one old commune; every old commune's shares sum to 1.
        let mut served: Vec<String> = grassroots.iter().flat_map(|o| o.areas()).collect();
        served.sort();
        let mut all: Vec<String> = (0..DISTRICTS.len()).flat_map(new_commune_codes).collect();
        all.sort();
        assert_eq!(served, all);
        for (i, d) in DISTRICTS.iter().enumerate() {
            let mut reached = std::collections::BTreeSet::new();
            for j in 0..d.communes {
                let s = successors(i, j);
                assert!((s.iter().map(|(_, x)| x).sum::<f64>() - 1.0).abs() < 1e-9);
                reached.extend(s.into_iter().map(|(c, _)| c));
            }
            assert_eq!(reached.len(), new_commune_codes(i).len(), "district {i}");
        }
        assert_eq!(offices_in((2025, 3)).len(), 16);
        assert_eq!(offices_in(REGROUPING).len(), 7);
    }

    #[test]
    fn the_reference_files_pass_the_loader_checks() {
        let dir = std::env::temp_dir().join(format!("ansinh-sample-ref-{}", std::process::id()));
        crate::write_reference(&dir, 0.01).unwrap();
        let geography = ansinh_extract::Geography::load_dir(&dir);
        std::fs::remove_dir_all(&dir).ok();
        let geography = geography.unwrap();
        assert!(!geography.offices().is_derived());
    }
}
