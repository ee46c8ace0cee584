//! Column builders for the canonical record batches of each delivery kind.

use std::sync::Arc;

use ansinh_core::{DeliveryKind, YearMonth, schema};
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
};

use chrono::NaiveDate;

use crate::error::Result;
use crate::parse::date32;
use crate::validate::{ParticipantFields, Person};

/// Column builders for one batch of either kind.
pub(crate) struct BatchBuilder {
    kind: DeliveryKind,
    period: String,
    office: String,
    len: usize,
    person: StringBuilder,
    person_id_key: StringBuilder,
    national_id_key: StringBuilder,
    birth_month: Date32Builder,
    birth_precision: StringBuilder,
    sex: StringBuilder,
    scheme_or_benefit: StringBuilder,
    status: Int32Builder,
    district: StringBuilder,
    commune: StringBuilder,
    employer: StringBuilder,
    amount: Int64Builder,
    month: Date32Builder,
    hi_group: StringBuilder,
    poor: BooleanBuilder,
    line: Int64Builder,
}

impl BatchBuilder {
    pub(crate) fn new(
        kind: DeliveryKind,
        period: YearMonth,
        office: &str,
        capacity: usize,
    ) -> Self {
        let strings = || StringBuilder::with_capacity(capacity, capacity * 8);
        Self {
            kind,
            period: period.to_string(),
            office: office.to_string(),
            len: 0,
            person: StringBuilder::with_capacity(capacity, capacity * 32),
            person_id_key: StringBuilder::with_capacity(capacity, capacity * 32),
            national_id_key: StringBuilder::with_capacity(capacity, capacity * 32),
            birth_month: Date32Builder::with_capacity(capacity),
            birth_precision: strings(),
            sex: strings(),
            scheme_or_benefit: strings(),
            status: Int32Builder::with_capacity(capacity),
            district: strings(),
            commune: strings(),
            employer: strings(),
            amount: Int64Builder::with_capacity(capacity),
            month: Date32Builder::with_capacity(capacity),
            hi_group: strings(),
            poor: BooleanBuilder::with_capacity(capacity),
            line: Int64Builder::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `person` is the code's pseudonym when the row has the code, else the number's; the
    /// staging models resolve it across both.
    pub(crate) fn push_person(
        &mut self,
        person_id_key: Option<&str>,
        national_id_key: Option<&str>,
        person: &Person,
        district: &str,
        commune: &str,
    ) {
        self.len += 1;
        self.person
            .append_value(person_id_key.or(national_id_key).unwrap_or_default());
        self.person_id_key.append_option(person_id_key);
        self.national_id_key.append_option(national_id_key);
        self.birth_month.append_value(date32(person.birth_month));
        self.birth_precision.append_value(person.precision);
        self.sex.append_value(person.sex.code());
        self.district
            .append_option((!district.is_empty()).then_some(district));
        self.commune.append_value(commune);
    }

    pub(crate) fn participant(&mut self, p: ParticipantFields) {
        self.scheme_or_benefit.append_value(p.scheme.code());
        self.status.append_value(i32::from(p.status.code()));
        self.employer.append_option(p.employer.as_deref());
        self.amount.append_option(p.contribution_base);
        self.month.append_option(p.paid_through.map(date32));
        self.hi_group.append_option(p.hi_group);
        self.line.append_value(p.line as i64);
    }

    pub(crate) fn beneficiary(&mut self, benefit: &str, amount: i64, start: NaiveDate, line: u64) {
        self.scheme_or_benefit.append_value(benefit);
        self.amount.append_value(amount);
        self.month.append_value(date32(start));
        self.line.append_value(line as i64);
    }

    pub(crate) fn social_pension(
        &mut self,
        benefit: &str,
        poor: bool,
        amount: i64,
        start: NaiveDate,
        line: u64,
    ) {
        self.scheme_or_benefit.append_value(benefit);
        self.poor.append_value(poor);
        self.amount.append_value(amount);
        self.month.append_value(date32(start));
        self.line.append_value(line as i64);
    }

    pub(crate) fn finish(&mut self) -> Result<RecordBatch> {
        let n = self.len;
        self.len = 0;
        let constant = |value: &str| -> ArrayRef {
            let mut b = StringBuilder::with_capacity(n, n * value.len());
            for _ in 0..n {
                b.append_value(value);
            }
            Arc::new(b.finish())
        };
        let mut columns: Vec<ArrayRef> = vec![
            constant(&self.period),
            constant(&self.office),
            Arc::new(self.person.finish()),
            Arc::new(self.person_id_key.finish()),
            Arc::new(self.national_id_key.finish()),
            Arc::new(self.birth_month.finish()),
            Arc::new(self.birth_precision.finish()),
            Arc::new(self.sex.finish()),
        ];
        let schema = match self.kind {
            DeliveryKind::Participants => {
                columns.extend([
                    Arc::new(self.scheme_or_benefit.finish()) as ArrayRef,
                    Arc::new(self.status.finish()),
                    Arc::new(self.district.finish()),
                    Arc::new(self.commune.finish()),
                    Arc::new(self.employer.finish()),
                    Arc::new(self.amount.finish()),
                    Arc::new(self.month.finish()),
                    Arc::new(self.hi_group.finish()),
                    Arc::new(self.line.finish()),
                ]);
                schema::participants()
            }
            DeliveryKind::Beneficiaries => {
                columns.extend([
                    Arc::new(self.scheme_or_benefit.finish()) as ArrayRef,
                    Arc::new(self.amount.finish()),
                    Arc::new(self.month.finish()),
                    Arc::new(self.district.finish()),
                    Arc::new(self.commune.finish()),
                    Arc::new(self.line.finish()),
                ]);
                schema::beneficiaries()
            }
            DeliveryKind::SocialPensions => {
                columns.extend([
                    Arc::new(self.scheme_or_benefit.finish()) as ArrayRef,
                    Arc::new(self.poor.finish()),
                    Arc::new(self.amount.finish()),
                    Arc::new(self.month.finish()),
                    Arc::new(self.district.finish()),
                    Arc::new(self.commune.finish()),
                    Arc::new(self.line.finish()),
                ]);
                schema::social_pensions()
            }
        };
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}
