//! `ansinh generate`.

use std::path::PathBuf;

use ansinh_core::YearMonth;
use ansinh_sample::{Options, generate};
use clap::Args;

use crate::exit::{self, Failure};

/// Options of `ansinh generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output directory: deliveries in the landing layout, plus reference/ and manifest.json.
    #[arg(long)]
    pub out: PathBuf,
    /// First month (YYYY-MM, from 2015-01).
    #[arg(long, default_value = "2024-01")]
    pub from: YearMonth,
    /// Last month (YYYY-MM, up to 2040-12).
    #[arg(long, default_value = "2024-01")]
    pub to: YearMonth,
    /// Multiplier of every count and denominator (1.0 = Khanh Hoa's real size).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Seed of the random draws; the same seed gives the same files.
    #[arg(long, default_value_t = 56)]
    pub seed: u64,
    /// Write every form the contract allows (encodings, delimiters, gzip, XLSX, header
    /// aliases) and mix in a known number of invalid rows, listed in manifest.json.
    #[arg(long)]
    pub messy: bool,
    /// Only this office (repeat for several); all nine by default.
    #[arg(long = "office")]
    pub offices: Vec<String>,
    /// Only this kind (participants or beneficiaries); both by default.
    #[arg(long = "kind")]
    pub kinds: Vec<ansinh_core::DeliveryKind>,
}

/// Runs `ansinh generate`.
pub fn run(args: GenerateArgs) -> Result<u8, Failure> {
    let options = Options {
        out: args.out,
        from: args.from,
        to: args.to,
        scale: args.scale,
        seed: args.seed,
        messy: args.messy,
        offices: args.offices,
        kinds: args.kinds,
    };
    let manifest = generate_with_log(&options)?;
    let rows: u64 = manifest.deliveries.iter().map(|d| d.rows).sum();
    let invalid: usize = manifest.deliveries.iter().map(|d| d.invalid.len()).sum();
    println!(
        "wrote {} deliveries ({rows} valid rows, {invalid} invalid rows) to {}",
        manifest.deliveries.len(),
        options.out.display()
    );
    Ok(exit::SUCCESS)
}

/// Generates with one log line per file.
pub fn generate_with_log(options: &Options) -> Result<ansinh_sample::Manifest, Failure> {
    generate(options, &mut |d| {
        tracing::info!(file = %d.file, rows = d.rows, invalid = d.invalid.len(), "generated");
    })
    .map_err(Failure::from)
}
