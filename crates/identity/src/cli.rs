//! The `aloft resolve` command as a plain function, so the binary only parses flags (with clap)
//! and this crate stays free of a command-line parser.
//!
//! ```no_run
//! use aloft_identity::cli::{ResolveArgs, run};
//! let args = ResolveArgs::new("people.csv", "clusters.csv").with_maps(&["cust_no=loyalty_number"]).unwrap();
//! let summary = run(&args).unwrap();
//! if let Some(warning) = summary.warning() { eprintln!("{warning}"); }
//! println!("{summary}");
//! ```

use std::path::PathBuf;

use crate::cluster::{DobVeto, VetoPolicy};
use crate::csv::{ResolveSummary, parse_mapping, run_resolve_with};
use crate::error::Result;
use crate::resolver::ResolverConfig;

/// Arguments of `aloft resolve INPUT.csv --output CLUSTERS.csv [--map COLUMN=ROLE]…`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveArgs {
    /// The input CSV file (header row required).
    pub input: PathBuf,
    /// Where `record_id,cluster_id` is written.
    pub output: PathBuf,
    /// `(column, role)` overrides from `--map COLUMN=ROLE`.
    pub maps: Vec<(String, String)>,
    /// Compare only rows of different sources (needs a `source` column).
    pub link_only: bool,
    /// When different dates of birth veto a merge.
    pub dob_veto: DobVeto,
    /// Posterior probability from which pairs merge; `None` for the default.
    pub match_probability: Option<f64>,
}

impl ResolveArgs {
    /// Arguments with default settings.
    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> Self {
        Self {
            input: input.into(),
            output: output.into(),
            maps: Vec::new(),
            link_only: false,
            dob_veto: DobVeto::default(),
            match_probability: None,
        }
    }

    /// Adds `COLUMN=ROLE` mappings as typed on the command line.
    pub fn with_maps(mut self, maps: &[&str]) -> Result<Self> {
        for m in maps {
            self.maps.push(parse_mapping(m)?);
        }
        Ok(self)
    }

    /// The resolver settings these arguments ask for.
    pub fn config(&self) -> ResolverConfig {
        let mut config = ResolverConfig {
            link_only: self.link_only,
            veto: VetoPolicy {
                dob: self.dob_veto,
                one_per_source: false,
            },
            ..ResolverConfig::default()
        };
        if let Some(p) = self.match_probability {
            config.match_probability = p;
        }
        config
    }
}

/// Runs `aloft resolve`: reads, resolves, writes, and returns the summary (print it with
/// `Display`; print [`ResolveSummary::warning`] to standard error).
pub fn run(args: &ResolveArgs) -> Result<ResolveSummary> {
    run_resolve_with(&args.input, &args.output, &args.maps, args.config())
}
