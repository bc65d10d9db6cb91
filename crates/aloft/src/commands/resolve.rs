//! `aloft resolve`: identity resolution over a file, one cluster id per row.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub(crate) struct ResolveCliArgs {
    /// Input CSV with a header row. Columns are recognised by name (record_id/rec_id,
    /// given_name, surname, full_name/pnr_name, date_of_birth/dob, email, phone,
    /// loyalty_number, passport_number, nationality, address_1, address_2, street_number,
    /// suburb/city, postcode, state, country); others are named in a warning.
    input: PathBuf,
    /// Where to write `record_id,cluster_id`.
    #[arg(long)]
    output: PathBuf,
    /// Map a column to a role, e.g. `--map cust_no=loyalty_number` or `--map ssn=ignore` (repeatable).
    #[arg(long = "map", value_name = "COLUMN=ROLE")]
    maps: Vec<String>,
    /// Link records of different sources only (needs a `source` column).
    #[arg(long)]
    link_only: bool,
    /// When different dates of birth forbid a merge: `verified` (both from a travel document),
    /// `always`, or `never` (they only weigh against it).
    #[arg(long, value_enum, default_value_t = DobVetoArg::Verified)]
    dob_veto: DobVetoArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DobVetoArg {
    /// Only dates read from travel documents veto.
    Verified,
    /// Any clearly different dates veto.
    Always,
    /// Dates only weigh.
    Never,
}

/// Runs `aloft resolve`.
pub(crate) fn run(args: ResolveCliArgs) -> anyhow::Result<()> {
    let maps: Vec<&str> = args.maps.iter().map(String::as_str).collect();
    let mut resolve =
        aloft_identity::cli::ResolveArgs::new(&args.input, &args.output).with_maps(&maps)?;
    resolve.link_only = args.link_only;
    resolve.dob_veto = match args.dob_veto {
        DobVetoArg::Verified => aloft_identity::cluster::DobVeto::WhenVerified,
        DobVetoArg::Always => aloft_identity::cluster::DobVeto::Always,
        DobVetoArg::Never => aloft_identity::cluster::DobVeto::Never,
    };
    let summary = aloft_identity::cli::run(&resolve)?;
    if let Some(warning) = summary.warning() {
        eprintln!("{warning}");
    }
    println!("{summary}");
    Ok(())
}
