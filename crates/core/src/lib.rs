//! Domain types of `ansinh`: periods, schemes, benefits, deliveries, the statutory retirement
//! age, canonical Arrow schemas and the configuration. No I/O happens here.

pub mod class;
pub mod columns;
pub mod config;
pub mod domain;
pub mod encoding;
pub mod error;
pub mod period;
pub mod retirement;
pub mod schema;

pub use class::{Classify, ErrorClass, failpoint};
pub use config::{Config, IngestConfig, ModelsConfig, RunConfig, ServeConfig, StorageConfig};
pub use domain::{BenefitType, Delivery, DeliveryKind, Scheme, Sex, Status};
pub use domain::{DELIVERY_EXTENSIONS, delivery_extension};
pub use encoding::TextEncoding;
pub use error::{Error, Result};
pub use period::YearMonth;
pub use retirement::{RetirementAge, retirement_age};
