//! The contract's fields and the headers each one accepts.

use ansinh_core::DeliveryKind;

/// A field of the extract contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Field {
    /// 10-digit social-insurance code.
    PersonId,
    /// 12-digit personal identification number.
    NationalId,
    /// Full name: read to recognise the column, never stored.
    FullName,
    /// Birth date.
    BirthDate,
    /// Sex.
    Sex,
    /// Scheme code.
    Scheme,
    /// Status code.
    Status,
    /// District code.
    DistrictCode,
    /// Commune code.
    CommuneCode,
    /// Employer code.
    EmployerCode,
    /// Contribution base.
    ContributionBase,
    /// Paid-through month.
    PaidThrough,
    /// Health-insurance group.
    HiGroup,
    /// Benefit code.
    BenefitType,
    /// Monthly benefit amount.
    MonthlyAmount,
    /// First month of the benefit.
    StartMonth,
    /// Poor or near-poor household (social pensions). The last field: the validator's
    /// layout has one slot per field up to it.
    PoorHousehold,
}

impl Field {
    /// The field's name in the contract (and in rejects).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Accepted headers, as written in the contract. Matching is case-insensitive after NFC
    /// normalisation and trimming.
    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Self::PersonId => &["Mã số BHXH", "ma_so_bhxh", "MaSoBHXH"],
            Self::NationalId => &["Số định danh cá nhân", "so_dinh_danh", "CCCD"],
            Self::FullName => &["Họ và tên", "ho_ten", "HoTen"],
            Self::BirthDate => &["Ngày sinh", "ngay_sinh", "NgaySinh"],
            Self::Sex => &["Giới tính", "gioi_tinh", "GioiTinh"],
            Self::Scheme => &["Loại hình", "loai_hinh"],
            Self::Status => &["Trạng thái", "trang_thai"],
            Self::DistrictCode => &["Mã huyện", "ma_huyen"],
            Self::CommuneCode => &["Mã xã", "ma_xa"],
            Self::EmployerCode => &["Mã đơn vị", "ma_don_vi"],
            Self::ContributionBase => &["Mức đóng", "muc_dong"],
            Self::PaidThrough => &["Đóng đến tháng", "dong_den_thang"],
            Self::HiGroup => &["Mã đối tượng", "ma_doi_tuong"],
            // Offices' extracts say "chế độ", the social-pension lists "trợ cấp".
            Self::BenefitType => &["Loại chế độ", "loai_che_do", "Loại trợ cấp", "loai_tro_cap"],
            Self::MonthlyAmount => &["Số tiền", "so_tien"],
            Self::StartMonth => &["Hưởng từ tháng", "huong_tu_thang"],
            Self::PoorHousehold => &["Hộ nghèo", "ho_ngheo"],
        }
    }

    /// Whether `header` (already normalised with [`normalise_header`]) names this field.
    pub fn accepts(self, header: &str) -> bool {
        self.headers().iter().any(|h| normalise_header(h) == header)
    }
}

/// The fields a delivery of `kind` carries, in the contract's order.
pub fn fields_of(kind: DeliveryKind) -> &'static [Field] {
    use Field::*;
    match kind {
        DeliveryKind::Participants => &[
            PersonId,
            NationalId,
            FullName,
            BirthDate,
            Sex,
            Scheme,
            Status,
            DistrictCode,
            CommuneCode,
            EmployerCode,
            ContributionBase,
            PaidThrough,
            HiGroup,
        ],
        DeliveryKind::Beneficiaries => &[
            PersonId,
            NationalId,
            FullName,
            BirthDate,
            Sex,
            BenefitType,
            MonthlyAmount,
            StartMonth,
            DistrictCode,
            CommuneCode,
        ],
        DeliveryKind::SocialPensions => &[
            NationalId,
            PersonId,
            FullName,
            BirthDate,
            Sex,
            CommuneCode,
            BenefitType,
            PoorHousehold,
            MonthlyAmount,
            StartMonth,
        ],
    }
}

/// Columns whose absence refuses a file of `kind` (identifiers are checked separately: one
/// of the two must be present). `district_required` is true for periods before 2025-07.
pub fn required_columns(kind: DeliveryKind, district_required: bool) -> Vec<Field> {
    use Field::*;
    let mut fields = match kind {
        DeliveryKind::Participants => vec![BirthDate, Sex, Scheme, Status, CommuneCode],
        DeliveryKind::Beneficiaries => {
            vec![
                BirthDate,
                Sex,
                BenefitType,
                MonthlyAmount,
                StartMonth,
                CommuneCode,
            ]
        }
        // Every field of the lists but the code and the name; the commune alone places a
        // row, in any month.
        DeliveryKind::SocialPensions => {
            return fields_of(kind)
                .iter()
                .copied()
                .filter(|f| !matches!(f, PersonId | FullName))
                .collect();
        }
    };
    if district_required {
        fields.push(DistrictCode);
    }
    fields
}

/// Normalises a header cell for matching: NFC, trimmed, lower-case.
pub fn normalise_header(header: &str) -> String {
    crate::nfc(header.trim().trim_start_matches('\u{feff}')).to_lowercase()
}

/// The field a header names, among the fields of `kind`.
pub fn field_for_header(kind: DeliveryKind, header: &str) -> Option<Field> {
    let normalised = normalise_header(header);
    fields_of(kind)
        .iter()
        .copied()
        .find(|f| f.accepts(&normalised))
}

/// How many cells of `row` name a field of either kind: used to find the header row.
pub fn known_header_count(row: &[String]) -> usize {
    row.iter()
        .filter(|cell| {
            let n = normalise_header(cell);
            DeliveryKind::ALL
                .iter()
                .any(|k| fields_of(*k).iter().any(|f| f.accepts(&n)))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    /// docs/contract.md is what offices are given: it must name every header the loader
    /// accepts, for every kind, and every reason a row is rejected for.
    #[test]
    fn contract_lists_every_header_and_reason() {
        use strum::IntoEnumIterator;
        let contract = include_str!("../../../docs/contract.md");
        for kind in DeliveryKind::ALL {
            assert!(
                contract.contains(&format!("_{}.<csv|csv.gz|xlsx>", kind.name())),
                "docs/contract.md lacks the file name of {kind}"
            );
            for field in fields_of(kind) {
                for header in field.headers() {
                    assert!(
                        contract.contains(&format!("`{header}`")),
                        "docs/contract.md lacks the header {header:?} of {}",
                        field.name()
                    );
                }
            }
        }
        for reason in crate::RejectReason::iter() {
            assert!(
                contract.contains(&format!("| `{}` |", reason.code())),
                "docs/contract.md lacks the reject reason {}",
                reason.code()
            );
        }
    }

    #[test]
    fn headers_match_in_any_case_and_normal_form() {
        let nfd: String = "Mã Số BHXH".nfd().collect();
        assert_eq!(
            field_for_header(DeliveryKind::Participants, &nfd),
            Some(Field::PersonId)
        );
        assert_eq!(
            field_for_header(DeliveryKind::Participants, "  MASOBHXH "),
            Some(Field::PersonId)
        );
        assert_eq!(
            field_for_header(DeliveryKind::Participants, "Ghi chú"),
            None
        );
        assert_eq!(
            field_for_header(DeliveryKind::Participants, "Số tiền"),
            None
        );
        assert_eq!(
            field_for_header(DeliveryKind::Beneficiaries, "so_tien"),
            Some(Field::MonthlyAmount)
        );
    }
}
