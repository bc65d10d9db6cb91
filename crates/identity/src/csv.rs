//! Reading person records from CSV files and writing cluster assignments: the only module that
//! does IO. Columns are recognised by their header name (case, spaces and punctuation ignored,
//! with common aliases); `COLUMN=ROLE` mappings override or add to that, and columns that are
//! neither recognised nor mapped are named in a warning and ignored — an unknown column is
//! never guessed at, so a national-id or free-text column cannot silently influence matching.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{IdentityError, Result};
use crate::record::PersonRecord;
use crate::resolver::{BatchReport, Resolver, ResolverConfig};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The record id (written back in the output).
    RecordId,
    /// The source system of the row (link mode compares only rows of different sources).
    Source,
    /// Given name.
    GivenName,
    /// Surname.
    Surname,
    /// Whole name, free text or reservation (`SURNAME/GIVENMR`).
    FullName,
    /// Date of birth.
    DateOfBirth,
    /// `true`/`yes`/`1` when the date of birth comes from a travel document.
    DobVerified,
    /// E-mail address.
    Email,
    /// `true`/`yes`/`1` when the e-mail address is verified.
    EmailVerified,
    /// Phone number.
    Phone,
    /// Loyalty number.
    LoyaltyNumber,
    /// Passport number.
    PassportNumber,
    /// Nationality.
    Nationality,
    /// Booking reference (PNR) or ticket number.
    BookingReference,
    /// First address line.
    Address1,
    /// Second address line.
    Address2,
    /// Street number.
    StreetNumber,
    /// Suburb, town or city.
    City,
    /// Postcode.
    Postcode,
    /// State or region.
    State,
    /// Country.
    Country,
    /// Deliberately not used.
    Ignore,
}

/// Roles and the header names (folded to lowercase letters and digits) that mean them.
const ALIASES: &[(Role, &[&str])] = &[
    (
        Role::RecordId,
        &["recordid", "recid", "id", "customerid", "personid"],
    ),
    (Role::Source, &["source", "sourcesystem", "system"]),
    (
        Role::GivenName,
        &[
            "givenname",
            "givennames",
            "firstname",
            "forename",
            "forenames",
            "first",
        ],
    ),
    (
        Role::Surname,
        &["surname", "lastname", "familyname", "last"],
    ),
    (
        Role::FullName,
        &["fullname", "name", "pnrname", "passengername", "paxname"],
    ),
    (
        Role::DateOfBirth,
        &["dateofbirth", "dob", "birthdate", "birthday"],
    ),
    (Role::DobVerified, &["dobverified", "dateofbirthverified"]),
    (Role::Email, &["email", "emailaddress", "mail"]),
    (Role::EmailVerified, &["emailverified"]),
    (
        Role::Phone,
        &["phone", "phonenumber", "telephone", "mobile", "tel"],
    ),
    (
        Role::LoyaltyNumber,
        &[
            "loyaltynumber",
            "loyalty",
            "ffn",
            "frequentflyernumber",
            "frequentflyer",
        ],
    ),
    (
        Role::PassportNumber,
        &["passportnumber", "passport", "passportno", "documentnumber"],
    ),
    (
        Role::Nationality,
        &["nationality", "passportcountry", "issuingcountry"],
    ),
    (
        Role::BookingReference,
        &[
            "bookingreference",
            "pnr",
            "recordlocator",
            "ticketnumber",
            "ticket",
        ],
    ),
    (
        Role::Address1,
        &["address1", "addressline1", "address", "street"],
    ),
    (Role::Address2, &["address2", "addressline2"]),
    (
        Role::StreetNumber,
        &["streetnumber", "housenumber", "streetno"],
    ),
    (Role::City, &["suburb", "city", "town", "locality"]),
    (
        Role::Postcode,
        &["postcode", "zip", "zipcode", "postalcode"],
    ),
    (Role::State, &["state", "region", "province", "county"]),
    (Role::Country, &["country", "countrycode"]),
    (Role::Ignore, &["ignore", "none", "skip"]),
];

fn fold_header(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The role a header name or role name stands for.
pub fn role_for(name: &str) -> Option<Role> {
    let folded = fold_header(name);
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&folded.as_str()))
        .map(|&(role, _)| role)
}

/// Parses `COLUMN=ROLE`.
pub fn parse_mapping(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((column, role)) if !column.trim().is_empty() && !role.trim().is_empty() => {
            Ok((column.trim().to_owned(), role.trim().to_owned()))
        }
        _ => Err(IdentityError::BadMapping(
            text.to_owned(),
            "expected COLUMN=ROLE".into(),
        )),
    }
}

/// The roles of a file's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlan {
    /// Role per column (`None`: unrecognised and ignored).
    pub roles: Vec<Option<Role>>,
    /// Headers of unrecognised columns.
    pub unrecognised: Vec<String>,
}

/// Decides the role of every column from its header and the `(column, role)` mappings.
pub fn plan_columns(headers: &[&str], maps: &[(String, String)]) -> Result<ColumnPlan> {
    let mut roles: Vec<Option<Role>> = headers.iter().map(|h| role_for(h)).collect();
    for (column, role_name) in maps {
        let role = role_for(role_name).ok_or_else(|| {
            IdentityError::BadMapping(format!("{column}={role_name}"), "unknown role".into())
        })?;
        let position = headers
            .iter()
            .position(|h| h.trim() == column.trim())
            .or_else(|| {
                headers
                    .iter()
                    .position(|h| fold_header(h) == fold_header(column))
            })
            .ok_or_else(|| {
                IdentityError::BadMapping(format!("{column}={role_name}"), "no such column".into())
            })?;
        roles[position] = Some(role);
    }
    let unrecognised = headers
        .iter()
        .zip(&roles)
        .filter(|(_, r)| r.is_none())
        .map(|(h, _)| h.trim().to_owned())
        .collect();
    Ok(ColumnPlan {
        roles,
        unrecognised,
    })
}

fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "y" | "t" | "verified"
    )
}

/// Records read from one file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOutcome {
    /// The records, in file order.
    pub records: Vec<PersonRecord>,
    /// Headers of ignored, unrecognised columns.
    pub unrecognised: Vec<String>,
}

/// Reads a CSV file with a header row into records. Rows without a record-id column get their
/// row number (from 1) as id; rows without a source column get `default_source`. Surrounding
/// whitespace of every value is trimmed (the FEBRL files pad after commas).
pub fn read_records(
    path: &Path,
    default_source: &str,
    maps: &[(String, String)],
) -> Result<ReadOutcome> {
    let csv_error = |source| IdentityError::Csv {
        path: path.to_owned(),
        source,
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .trim(::csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .map_err(csv_error)?;
    let headers = reader.headers().map_err(csv_error)?.clone();
    let header_list: Vec<&str> = headers.iter().collect();
    let plan = plan_columns(&header_list, maps)?;
    let identifying = plan.roles.iter().flatten().any(|r| {
        !matches!(
            r,
            Role::RecordId | Role::Source | Role::Ignore | Role::DobVerified | Role::EmailVerified
        )
    });
    if !identifying {
        return Err(IdentityError::NothingToMatch(path.to_owned()));
    }
    let mut records = Vec::new();
    for (row, result) in reader.records().enumerate() {
        let row_values = result.map_err(csv_error)?;
        let mut record = PersonRecord::new(default_source, (row + 1).to_string());
        for (value, role) in row_values.iter().zip(&plan.roles) {
            let Some(role) = role else { continue };
            if value.is_empty() {
                continue;
            }
            let v = Some(value.to_owned());
            let a = &mut record.address;
            match role {
                Role::RecordId => record.record_id = value.to_owned(),
                Role::Source => record.source = value.to_owned(),
                Role::GivenName => record.given_name = v,
                Role::Surname => record.surname = v,
                Role::FullName => record.full_name = v,
                Role::DateOfBirth => record.date_of_birth = v,
                Role::DobVerified => record.dob_verified = truthy(value),
                Role::Email => record.email = v,
                Role::EmailVerified => record.email_verified = truthy(value),
                Role::Phone => record.phone = v,
                Role::LoyaltyNumber => record.loyalty_number = v,
                Role::PassportNumber => record.passport_number = v,
                Role::Nationality => record.nationality = v,
                Role::BookingReference => record.booking_reference = v,
                Role::Address1 => a.line1 = v,
                Role::Address2 => a.line2 = v,
                Role::StreetNumber => a.street_number = v,
                Role::City => a.city = v,
                Role::Postcode => a.postcode = v,
                Role::State => a.state = v,
                Role::Country => a.country = v,
                Role::Ignore => {}
            }
        }
        records.push(record);
    }
    Ok(ReadOutcome {
        records,
        unrecognised: plan.unrecognised,
    })
}

/// What a resolve run did.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolveSummary {
    /// Input rows (each written to the output).
    pub rows: usize,
    /// Distinct clusters (golden profiles) in the output.
    pub clusters: usize,
    /// Candidate pairs compared.
    pub pairs_compared: usize,
    /// Pairs merged or stopped by a veto.
    pub pairs_accepted: usize,
    /// Accepted pairs stopped by a veto.
    pub pairs_vetoed: usize,
    /// Headers of ignored, unrecognised columns.
    pub unrecognised: Vec<String>,
    /// Wall-clock time of reading, matching and writing.
    pub elapsed: Duration,
    /// The batch report.
    pub report: BatchReport,
}

impl ResolveSummary {
    /// The warning about unrecognised columns, if there are any.
    pub fn warning(&self) -> Option<String> {
        (!self.unrecognised.is_empty()).then(|| {
            format!(
                "warning: ignored unrecognised column(s): {} (use --map COLUMN=ROLE to use one, or COLUMN=ignore to silence this)",
                self.unrecognised.join(", ")
            )
        })
    }
}

impl std::fmt::Display for ResolveSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        write!(
            f,
            "{} records → {} profiles; {} candidate pairs compared, {} accepted, {} vetoed; {:.3} s ({:.0} records/s)",
            self.rows,
            self.clusters,
            self.pairs_compared,
            self.pairs_accepted,
            self.pairs_vetoed,
            secs,
            self.rows as f64 / secs.max(1e-9)
        )
    }
}

/// Writes `record_id,cluster_id` for every record and its golden id.
pub fn write_clusters(path: &Path, records: &[PersonRecord], report: &BatchReport) -> Result<()> {
    let io_error = |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::create(path).map_err(io_error)?;
    let mut writer = ::csv::Writer::from_writer(BufWriter::new(file));
    let csv_error = |source| IdentityError::Csv {
        path: path.to_owned(),
        source,
    };
    writer
        .write_record(["record_id", "cluster_id"])
        .map_err(csv_error)?;
    for (record, golden) in records.iter().zip(&report.assignments) {
        writer
            .write_record([record.record_id.as_str(), golden.to_string().as_str()])
            .map_err(csv_error)?;
    }
    writer.flush().map_err(io_error)
}

/// Runs the matcher over one CSV file with the given settings and writes the clusters.
pub fn run_resolve_with(
    input: &Path,
    output: &Path,
    maps: &[(String, String)],
    config: ResolverConfig,
) -> Result<ResolveSummary> {
    let start = Instant::now();
    let source = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("input");
    let outcome = read_records(input, source, maps)?;
    let mut resolver = Resolver::new(config);
    let report = resolver.resolve_batch(&outcome.records)?;
    write_clusters(output, &outcome.records, &report)?;
    let mut clusters = report.assignments.clone();
    clusters.sort_unstable();
    clusters.dedup();
    Ok(ResolveSummary {
        rows: outcome.records.len(),
        clusters: clusters.len(),
        pairs_compared: report.pairs_compared,
        pairs_accepted: report.pairs_accepted,
        pairs_vetoed: report.pairs_vetoed,
        unrecognised: outcome.unrecognised,
        elapsed: start.elapsed(),
        report,
    })
}

/// Runs the matcher over `input` with default settings and writes `record_id,cluster_id` for
/// every input row to `output`. `maps` are `(column, role)` overrides.
pub fn run_resolve(
    input: &Path,
    output: &Path,
    maps: &[(String, String)],
) -> Result<ResolveSummary> {
    run_resolve_with(input, output, maps, ResolverConfig::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_recognised_with_aliases() {
        let plan = plan_columns(
            &[
                "rec_id",
                " Given Name",
                "SURNAME",
                "DOB",
                "soc_sec_id",
                "E-Mail",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            plan.roles,
            vec![
                Some(Role::RecordId),
                Some(Role::GivenName),
                Some(Role::Surname),
                Some(Role::DateOfBirth),
                None,
                Some(Role::Email)
            ]
        );
        assert_eq!(plan.unrecognised, vec!["soc_sec_id".to_owned()]);
    }

    #[test]
    fn mappings_override_and_are_checked() {
        let maps = vec![
            ("cust_no".to_owned(), "loyalty_number".to_owned()),
            ("soc_sec_id".to_owned(), "ignore".to_owned()),
        ];
        let plan = plan_columns(&["cust_no", "soc_sec_id"], &maps).unwrap();
        assert_eq!(
            plan.roles,
            vec![Some(Role::LoyaltyNumber), Some(Role::Ignore)]
        );
        assert!(plan.unrecognised.is_empty());
        assert!(plan_columns(&["a"], &[("a".into(), "shoe_size".into())]).is_err());
        assert!(plan_columns(&["a"], &[("b".into(), "email".into())]).is_err());
        assert!(parse_mapping("x").is_err());
        assert_eq!(
            parse_mapping("x = email").unwrap(),
            ("x".into(), "email".into())
        );
    }
}
