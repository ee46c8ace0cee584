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

/// `text` with its control characters shown as escapes (`\n`, `\r`, `\u{1b}`), so that a
/// file name or value in a log line or error cannot end the line or drive the terminal.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod escape_tests {
    #[test]
    fn control_characters_cannot_end_or_colour_a_line() {
        assert_eq!(super::escape_controls("568_2024-01.csv"), "568_2024-01.csv");
        assert_eq!(
            super::escape_controls("a\nERROR forged\u{1b}[31m\u{85}"),
            "a\\nERROR forged\\u{1b}[31m\\u{85}"
        );
    }
}
