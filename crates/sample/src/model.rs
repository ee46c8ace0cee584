//! The synthetic population of insured persons and beneficiaries.
//!
//! Each district has five pools of persons: compulsory SI employees, voluntary SI
//! participants, other health-insurance card holders, beneficiaries of the offices, and the
//! recipients of the social pension on the social-protection authority's lists. Slots of a pool enrol
//! in order: in month `k` the active slots are `lapsed(k)..enrolled(k)`, so enrolments and
//! lapses happen every month and the active count follows a smooth path that is calibrated to
//! hit the January 2024 figures exactly. Every attribute of a person is a hash of the seed and
//! the slot, so any month can be generated alone, in constant memory.

use ansinh_core::{Scheme, Sex, YearMonth, retirement_age};
use chrono::{Datelike, NaiveDate};

use crate::reference::{self, DISTRICTS};

/// The calibration month.
pub const CALIBRATION: (i32, u32) = (2024, 1);
/// Province-wide active counts in the calibration month at scale 1 (the source article).
pub const COMPULSORY_2024_01: f64 = 182_809.0;
/// Voluntary SI participants in January 2024.
pub const VOLUNTARY_2024_01: f64 = 15_183.0;
/// Health-insurance participants in January 2024.
pub const HEALTH_2024_01: f64 = 1_202_980.0;
/// Share of the population past retirement age receiving a counted benefit in January 2024.
const PENSION_RECEIPT_2024_01: f64 = 0.47;

/// First month the model covers.
pub const FIRST_MONTH: (i32, u32) = (2015, 1);

/// Slots of one pool of one district live in `POOL_SPAN` consecutive person numbers.
const POOL_SPAN: u64 = 2_500_000;

/// The pools of persons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Employees in compulsory SI (with health and, mostly, unemployment insurance).
    Compulsory,
    /// Voluntary SI participants.
    Voluntary,
    /// Other health-insurance card holders.
    HealthOnly,
    /// Beneficiaries of pensions and allowances.
    Beneficiary,
    /// Recipients of the social pension (from July 2025), on the authority's lists.
    SocialPension,
    /// Persons that only appear in deliberately invalid rows.
    Invalid,
}

impl Pool {
    fn index(self) -> u64 {
        match self {
            Self::Compulsory => 0,
            Self::Voluntary => 1,
            Self::HealthOnly => 2,
            Self::Beneficiary | Self::SocialPension => 3,
            Self::Invalid => 4,
        }
    }
}

/// Monthly growth of the active count and monthly lapses as a share of the January 2024 count.
struct Dynamics {
    growth: f64,
    lapse: f64,
}

const COMPULSORY: Dynamics = Dynamics {
    growth: 0.0030,
    lapse: 0.010,
};
const VOLUNTARY: Dynamics = Dynamics {
    growth: 0.0090,
    lapse: 0.018,
};
const HEALTH: Dynamics = Dynamics {
    growth: 0.0009,
    lapse: 0.006,
};
const BENEFICIARY: Dynamics = Dynamics {
    growth: 0.0025,
    lapse: 0.004,
};
/// The social pension's recipients grow as the population ages; deaths take about 0.7% a
/// month at their ages.
const SOCIAL_PENSION: Dynamics = Dynamics {
    growth: 0.0020,
    lapse: 0.007,
};

/// Share of the population aged 75 or more receiving the social pension: about 6 to 8% in
/// Vietnam, where the social pension goes to those with no pension or monthly SI allowance.
const SOCIAL_PENSION_SHARE_75: f64 = 0.07;

/// The social pension's recipients share the beneficiaries' span of person numbers, above
/// the beneficiaries' slots, so that no other pool's persons change.
const SOCIAL_PENSION_OFFSET: u64 = 2_000_000;

/// A pool's slot path for one district.
#[derive(Debug, Clone)]
pub struct PoolPath {
    base: u64,
    growth: f64,
    lapse_per_month: f64,
    /// Active count of the health-only pool is the health total minus compulsory.
    minus: Option<Box<PoolPath>>,
}

fn month_offset(period: YearMonth) -> i64 {
    let first = YearMonth::new(FIRST_MONTH.0, FIRST_MONTH.1)
        .map(|m| m.index())
        .unwrap_or(0);
    period.index() - first
}

fn calibration_offset() -> i64 {
    YearMonth::new(CALIBRATION.0, CALIBRATION.1)
        .map(month_offset)
        .unwrap_or(0)
}

impl PoolPath {
    fn new(base: u64, d: &Dynamics) -> Self {
        Self {
            base,
            growth: d.growth,
            lapse_per_month: d.lapse * base as f64,
            minus: None,
        }
    }

    /// Persons active in month `k` (months since [`FIRST_MONTH`]).
    pub fn active(&self, k: i64) -> u64 {
        let t = (k - calibration_offset()) as f64;
        let total = (self.base as f64 * (1.0 + self.growth).powf(t)).round() as u64;
        match &self.minus {
            Some(other) => total.saturating_sub(other.active(k)),
            None => total,
        }
    }

    /// Slots that have lapsed by month `k`.
    pub fn lapsed(&self, k: i64) -> u64 {
        (self.lapse_per_month * k.max(0) as f64).floor() as u64
    }

    /// Slots that have enrolled by month `k`: the active ones start at `lapsed(k)`.
    pub fn enrolled(&self, k: i64) -> u64 {
        self.lapsed(k) + self.active(k)
    }

    /// First month in which `slot` is active.
    pub fn enrolment_month(&self, slot: u64) -> i64 {
        let (mut lo, mut hi) = (0i64, 12 * 40);
        if self.enrolled(lo) > slot {
            return 0;
        }
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if self.enrolled(mid) > slot {
                hi = mid
            } else {
                lo = mid
            }
        }
        hi
    }
}

/// The four pools of one district.
#[derive(Debug, Clone)]
pub struct DistrictModel {
    /// Index into [`DISTRICTS`].
    pub index: usize,
    /// Compulsory SI employees.
    pub compulsory: PoolPath,
    /// Voluntary SI participants.
    pub voluntary: PoolPath,
    /// Other health-insurance holders.
    pub health_only: PoolPath,
    /// Beneficiaries.
    pub beneficiary: PoolPath,
    /// Recipients of the social pension (listed from July 2025).
    pub social_pension: PoolPath,
}

/// Ninh Thuan's active counts in January 2024 at scale 1 (compulsory SI, voluntary SI, health
/// insurance) and its pension-receipt share.
const NINH_THUAN_2024_01: (f64, f64, f64, f64) = (45_600.0, 11_900.0, 561_500.0, 0.41);

/// The calibrated model for every district of [`DISTRICTS`]: old Khanh Hoa's sum to the
/// article's January 2024 figures, Ninh Thuan's to its own.
pub fn districts(scale: f64) -> Vec<DistrictModel> {
    let population = reference::population(CALIBRATION.0, scale);
    let mut models = Vec::with_capacity(DISTRICTS.len());
    for (province, (compulsory, voluntary, health, receipt)) in [
        (
            reference::PROVINCE_CODE,
            (
                COMPULSORY_2024_01,
                VOLUNTARY_2024_01,
                HEALTH_2024_01,
                PENSION_RECEIPT_2024_01,
            ),
        ),
        (reference::NINH_THUAN_CODE, NINH_THUAN_2024_01),
    ] {
        let (indexes, weights) = reference::province_weights(province);
        let split = |total: f64| reference::apportion((total * scale).round() as u64, &weights);
        let compulsory = split(compulsory);
        let voluntary = split(voluntary);
        let health = split(health);
        for (n, &i) in indexes.iter().enumerate() {
            let past = reference::population_past_retirement(&population[i], CALIBRATION.0);
            // Some beneficiaries are below retirement age or receive uncounted benefits.
            let beneficiaries = (past * receipt / 0.93).round() as u64;
            let aged_75: u64 = population[i]
                .iter()
                .map(|ages| ages[75..].iter().sum::<u64>())
                .sum();
            let social = (aged_75 as f64 * SOCIAL_PENSION_SHARE_75).round() as u64;
            let compulsory_path = PoolPath::new(compulsory[n], &COMPULSORY);
            let mut health_only = PoolPath::new(health[n], &HEALTH);
            health_only.lapse_per_month = HEALTH.lapse * (health[n] - compulsory[n]) as f64;
            health_only.minus = Some(Box::new(compulsory_path.clone()));
            models.push(DistrictModel {
                index: i,
                compulsory: compulsory_path,
                voluntary: PoolPath::new(voluntary[n], &VOLUNTARY),
                health_only,
                beneficiary: PoolPath::new(beneficiaries, &BENEFICIARY),
                social_pension: PoolPath::new(social, &SOCIAL_PENSION),
            });
        }
    }
    models.sort_by_key(|m| m.index);
    models
}

/// Months since [`FIRST_MONTH`] of `period`.
pub fn month_index(period: YearMonth) -> i64 {
    month_offset(period)
}

/// SplitMix64 finaliser: a well-mixed 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic draws for one person.
#[derive(Debug, Clone, Copy)]
pub struct Draws {
    state: u64,
}

impl Draws {
    /// Draws for person number `person` under `seed`.
    pub fn new(seed: u64, person: u64) -> Self {
        Self {
            state: mix(seed ^ mix(person)),
        }
    }

    /// The next 64 random bits.
    pub fn next_bits(&mut self) -> u64 {
        self.state = mix(self.state);
        self.state
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_bits() % n }
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_bits() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const FAMILY: [&str; 16] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý",
];
const MIDDLE_MALE: [&str; 6] = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh"];
const MIDDLE_FEMALE: [&str; 5] = ["Thị", "Ngọc", "Thu", "Thanh", "Mỹ"];
const GIVEN: [&str; 30] = [
    "An", "Bình", "Chính", "Dũng", "Hải", "Hòa", "Hùng", "Khánh", "Linh", "Lan", "Mai", "Nga",
    "Nhung", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Việt", "Yến", "Hồng", "Hương",
    "Thủy", "Vĩnh", "Đạt", "Hiếu", "Long", "Nam",
];

/// How precisely the birth date is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BirthPrecision {
    /// `dd/mm/yyyy`.
    Day,
    /// `mm/yyyy`.
    Month,
    /// `yyyy`.
    Year,
}

/// A synthetic person.
#[derive(Debug, Clone)]
pub struct Person {
    /// 10-digit social-insurance code.
    pub person_id: String,
    /// 12-digit personal identification number.
    pub national_id: String,
    /// Full name.
    pub name: String,
    /// Birth date.
    pub birth: NaiveDate,
    /// How the birth date is written.
    pub precision: BirthPrecision,
    /// Sex.
    pub sex: Sex,
    /// Commune code until June 2025.
    pub commune: String,
    /// Commune code from July 2025.
    pub new_commune: String,
    /// Whether the national number appears before the switch to it.
    pub early_national_id: bool,
    /// Whether the social-insurance code is still written after the switch.
    pub keeps_code: bool,
    /// Whether, once the code is no longer written, the personal ID is written in the
    /// social-insurance code's column instead of its own.
    pub id_in_code_column: bool,
    /// Further draws for pool-specific attributes.
    pub draws: Draws,
}

/// Persons are numbered across the districts of their province and pools; the number is
/// scrambled into identifiers, which start with the province code.
fn person_number(district: usize, pool: Pool, slot: u64) -> u64 {
    let within = if district >= reference::KHANH_HOA_DISTRICTS {
        district - reference::KHANH_HOA_DISTRICTS
    } else {
        district
    };
    let slot = match pool {
        Pool::SocialPension => SOCIAL_PENSION_OFFSET + slot,
        _ => slot,
    };
    ((within as u64 * 5 + pool.index()) * POOL_SPAN + slot) % 100_000_000
}

/// Draws of Ninh Thuan's persons are apart from those of Khanh Hoa's with the same number.
const NINH_THUAN_DRAWS: u64 = 1 << 40;

/// An affine bijection of `0..10^digits`, so distinct persons get distinct identifiers.
fn scramble(x: u64, digits: u32) -> u64 {
    let m = 10u64.pow(digits);
    let (a, b) = if digits == 8 {
        (48_271_853, 12_345_679)
    } else {
        (738_219_451, 91_234_567)
    };
    ((a as u128 * (x % m) as u128 + b as u128) % m as u128) as u64
}

/// Age range (years at the calibration month) for each pool.
fn age_range(pool: Pool, sex: Sex, d: &mut Draws) -> f64 {
    match pool {
        Pool::Compulsory | Pool::Invalid => 20.0 + 38.0 * d.unit().powf(1.4),
        Pool::Voluntary => 25.0 + 33.0 * d.unit(),
        Pool::HealthOnly => 90.0 * d.unit().powf(1.15),
        // At the calibration month, 18 months before the lists begin: most are 75 or more by
        // July 2025; a tenth are 70 to 74 then, mostly in poor households.
        Pool::SocialPension => {
            if d.below(10) == 0 {
                68.5 + 5.0 * d.unit()
            } else {
                73.5 + 24.0 * d.unit().powf(1.8)
            }
        }
        Pool::Beneficiary => {
            let r = retirement_age(sex, CALIBRATION.0).as_years();
            if d.below(50) == 0 {
                r - 3.0 * d.unit()
            } else {
                r + 0.5 + (95.0 - r) * d.unit().powf(1.6)
            }
        }
    }
}

/// The person in `slot` of `pool` in district `district`. For health-insurance holders the
/// age is drawn at `enrolled` (months since [`FIRST_MONTH`]), so nobody is insured before
/// birth; other pools draw the age at the calibration month.
pub fn person(seed: u64, district: usize, pool: Pool, slot: u64, enrolled: Option<i64>) -> Person {
    let number = person_number(district, pool, slot);
    let province = DISTRICTS[district].province;
    let salt = if province == reference::PROVINCE_CODE {
        0
    } else {
        NINH_THUAN_DRAWS
    };
    let mut d = Draws::new(seed, number + salt);
    let female_share = match pool {
        Pool::Compulsory => 0.45,
        Pool::Voluntary => 0.55,
        Pool::Beneficiary => 0.55,
        Pool::SocialPension => 0.62,
        _ => 0.51,
    };
    let sex = if d.unit() < female_share {
        Sex::Female
    } else {
        Sex::Male
    };
    let age = age_range(pool, sex, &mut d);
    let anchor = match enrolled {
        Some(k) => YearMonth::new(FIRST_MONTH.0, FIRST_MONTH.1)
            .and_then(|m| m.add_months(k))
            .map(|m| m.first_day()),
        None => NaiveDate::from_ymd_opt(CALIBRATION.0, CALIBRATION.1, 15),
    }
    .unwrap_or_default();
    let birth = anchor - chrono::Duration::days((age * 365.25) as i64);
    let precision = match d.below(100) {
        0..=79 => BirthPrecision::Day,
        80..=94 => BirthPrecision::Month,
        _ => BirthPrecision::Year,
    };
    let middle = match sex {
        Sex::Male => MIDDLE_MALE[d.below(MIDDLE_MALE.len() as u64) as usize],
        Sex::Female => MIDDLE_FEMALE[d.below(MIDDLE_FEMALE.len() as u64) as usize],
    };
    let family = if d.below(100) < 38 {
        FAMILY[0]
    } else {
        FAMILY[d.below(16) as usize]
    };
    let name = format!(
        "{family} {middle} {}",
        GIVEN[d.below(GIVEN.len() as u64) as usize]
    );
    // Slots of a pool take the district's communes in turn, so that every commune has its
    // share of each pool's active persons (the draw is kept for the draws that follow it).
    let communes = DISTRICTS[district].communes;
    let _ = d.below(u64::from(communes));
    let j = (slot % u64::from(communes)) as u32;
    let commune = (DISTRICTS[district].commune_base + j).to_string();
    // Attributes drawn after the first ones: a hash apart, so that adding one leaves the draws
    // of every other attribute as they were.
    let extra = mix(d.state ^ 0x000A_110C_47E5);
    let new_commune = new_commune_of(district, j);
    Person {
        person_id: format!("{province}{:08}", scramble(number, 8)),
        national_id: format!("0{province}{:09}", scramble(number, 9)),
        name,
        birth,
        precision,
        sex,
        commune,
        new_commune,
        early_national_id: d.below(100) < 40,
        keeps_code: d.below(100) < 60,
        id_in_code_column: (extra >> 20) % 100 < 30,
        draws: d,
    }
}

/// The new commune of a person of commune `j` of `district`: the successor with the largest
/// share, the one the warehouse counts the commune's earlier records in, so that a unit of
/// today has the same persons before and after July 2025.
fn new_commune_of(district: usize, j: u32) -> String {
    reference::successors(district, j).remove(0).0
}

/// Whether a Ninh Thuan health-insurance holder moves to Khanh Hoa in June 2025 (listed by
/// both provinces' offices that month, by Khanh Hoa's after), and if so to which district.
pub fn mover_target(district: usize, pool: Pool, slot: u64) -> Option<usize> {
    if district < reference::KHANH_HOA_DISTRICTS || pool != Pool::HealthOnly || slot % 400 != 17 {
        return None;
    }
    // Mostly to the cities.
    const TARGETS: [usize; 8] = [0, 0, 0, 1, 2, 4, 4, 6];
    Some(TARGETS[((slot / 400) % TARGETS.len() as u64) as usize])
}

/// The person who moves from `district` to `target`: the same person, with a commune of the
/// target district.
pub fn moved(mut person: Person, target: usize) -> Person {
    let j = (mix(person.draws.state ^ 0x000B_00E5) % u64::from(DISTRICTS[target].communes)) as u32;
    person.commune = (DISTRICTS[target].commune_base + j).to_string();
    person.new_commune = new_commune_of(target, j);
    person
}

impl Person {
    /// The birth date as the registry writes it.
    pub fn birth_text(&self) -> String {
        match self.precision {
            BirthPrecision::Day => self.birth.format("%d/%m/%Y").to_string(),
            BirthPrecision::Month => self.birth.format("%m/%Y").to_string(),
            BirthPrecision::Year => self.birth.year().to_string(),
        }
    }

    /// (person_id, national_id) as written in `period`: the national number appears for some
    /// before mid-2025, for everyone in June and July 2025, and replaces the code for most
    /// from August 2025 (in the code's column for some).
    pub fn identifiers(&self, period: YearMonth) -> (Option<&str>, Option<&str>) {
        let ym = (period.year(), period.month());
        if ym < (2025, 6) {
            (
                Some(&self.person_id),
                self.early_national_id.then_some(self.national_id.as_str()),
            )
        } else if ym < (2025, 8) || self.keeps_code {
            (Some(&self.person_id), Some(&self.national_id))
        } else if self.id_in_code_column {
            (Some(&self.national_id), None)
        } else {
            (None, Some(&self.national_id))
        }
    }
}

/// The scheme rows a person of `pool` has in the participants extract.
pub fn schemes_of(pool: Pool, person: &Person) -> Vec<Scheme> {
    match pool {
        Pool::Compulsory => {
            // Most employees are also in unemployment insurance.
            let in_ui = mix(person.draws.state ^ 0x55) % 100 < 88;
            if in_ui {
                vec![
                    Scheme::CompulsorySocial,
                    Scheme::Health,
                    Scheme::Unemployment,
                ]
            } else {
                vec![Scheme::CompulsorySocial, Scheme::Health]
            }
        }
        Pool::Voluntary => vec![Scheme::VoluntarySocial],
        Pool::HealthOnly | Pool::Invalid => vec![Scheme::Health],
        Pool::Beneficiary | Pool::SocialPension => Vec::new(),
    }
}
