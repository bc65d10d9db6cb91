//! Records of processing activities (GDPR Art. 30): purposes, data categories, recipients and
//! retention periods.
//!
//! Why generated rather than written: the register is built at request time from the very
//! constants the system enforces — the purpose register ([`crate::model::PURPOSES`], which the
//! consent API validates against and the consent check enforces), the retention policies
//! ([`crate::retention::POLICIES`], which the daily job applies) and the coverage list
//! ([`crate::coverage::PERSONAL_TABLES`], which export and erasure read), and the partner
//! disclosures from the attributes [`crate::sharing`] and [`crate::dp`] release. Adding a purpose or a
//! policy changes the register in the same commit; there is no second document to forget. Pure.

use serde::Serialize;
use utoipa::ToSchema;

use crate::coverage::{OnErasure, PERSONAL_TABLES};
use crate::model::{Kind, PURPOSES};
use crate::retention::{Action, POLICIES};

/// One purpose of processing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurposeRecord {
    /// The purpose code (`marketing_email`).
    pub purpose: String,
    /// `consent` or `subscription`.
    pub kind: String,
    /// What the data is used for.
    pub description: String,
    /// The lawful bases it may rest on (GDPR Art. 6(1)).
    pub lawful_bases: Vec<String>,
    /// The data categories used.
    pub data_categories: Vec<String>,
    /// Who receives the data.
    pub recipients: Vec<String>,
    /// The channels.
    pub channels: Vec<String>,
    /// The notice version in force.
    pub notice_version: String,
    /// Whether a law requires it, so it continues while processing is restricted (Art. 18(2)).
    pub required_by_law: bool,
}

/// One retention period, as the daily job applies it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionRecord {
    /// The data category.
    pub category: String,
    /// The table.
    pub table: String,
    /// Kept this many months.
    pub months: u32,
    /// `delete` or `clear` (with the columns emptied).
    pub then: String,
    /// Why this period.
    pub reason: String,
}

/// One data category as stored, with what erasure does.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryRecord {
    /// The data category.
    pub category: String,
    /// Where it is kept (`table.column`).
    pub stored_in: String,
    /// The domain it comes from.
    pub source: String,
    /// `deleted`, `pseudonymised` or `kept_ids_only`.
    pub on_erasure: String,
    /// For pseudonymised rows, the law that requires keeping them.
    pub legal_basis: Option<String>,
    /// The retention period in months, when a policy covers it.
    pub retention_months: Option<u32>,
}

/// A disclosure of anonymised or aggregated data to partners, as the code releases it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureRecord {
    /// `k_anonymous` or `dp_counts`.
    pub kind: String,
    /// What is released.
    pub description: String,
    /// The attributes released (generalised).
    pub attributes: Vec<String>,
    /// Whose data: the purpose whose consent is required.
    pub requires_consent: String,
    /// How it is protected.
    pub safeguard: String,
}

/// The register (Art. 30(1)).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordsOfProcessing {
    /// How it was produced.
    pub generated_from: String,
    /// Every purpose.
    pub purposes: Vec<PurposeRecord>,
    /// Every retention period.
    pub retention: Vec<RetentionRecord>,
    /// Every data category and where it lives.
    pub data_categories: Vec<CategoryRecord>,
    /// Every recipient named by a purpose, once.
    pub recipients: Vec<String>,
    /// Anonymised and aggregated releases to partners.
    pub disclosures: Vec<DisclosureRecord>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The register, from what the code enforces.
pub fn register() -> RecordsOfProcessing {
    let purposes = PURPOSES
        .iter()
        .map(|p| PurposeRecord {
            purpose: p.code.into(),
            kind: match p.kind {
                Kind::Consent => "consent".into(),
                Kind::Subscription => "subscription".into(),
            },
            description: p.description.into(),
            lawful_bases: strings(p.bases),
            data_categories: strings(p.categories),
            recipients: strings(p.recipients),
            channels: strings(p.channels),
            notice_version: p.current_notice().into(),
            required_by_law: p.required_by_law,
        })
        .collect();
    let retention = POLICIES
        .iter()
        .map(|p| RetentionRecord {
            category: p.category.into(),
            table: p.table.into(),
            months: p.months,
            then: match p.action {
                Action::Delete => "delete".into(),
                Action::Clear { columns } => format!("clear {}", columns.join(", ")),
            },
            reason: p.reason.into(),
        })
        .collect();
    let data_categories = PERSONAL_TABLES
        .iter()
        .map(|t| {
            let (on_erasure, legal_basis) = match t.on_erasure {
                OnErasure::Delete => ("deleted", None),
                OnErasure::Pseudonymise { legal_basis, .. } => {
                    ("pseudonymised", Some(legal_basis.to_owned()))
                }
                OnErasure::KeepIdsOnly => ("kept_ids_only", None),
            };
            CategoryRecord {
                category: t.category.into(),
                stored_in: format!("{}.{}", t.table, t.column),
                source: t.source.into(),
                on_erasure: on_erasure.into(),
                legal_basis,
                retention_months: POLICIES
                    .iter()
                    .find(|p| p.table == t.table && p.customer_column == t.column)
                    .map(|p| p.months),
            }
        })
        .collect();
    let mut recipients: Vec<String> = PURPOSES
        .iter()
        .flat_map(|p| p.recipients.iter().map(|r| (*r).to_owned()))
        .collect();
    recipients.sort();
    recipients.dedup();
    let mut k_attrs: Vec<String> = ["age_band", "region", "travel_frequency"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    k_attrs.extend(
        [
            crate::sharing::Sensitive::MealPreference,
            crate::sharing::Sensitive::Cabin,
        ]
        .iter()
        .map(|s| s.as_str().to_owned()),
    );
    let dp_attrs = [
        crate::dp::Dimension::AgeBand,
        crate::dp::Dimension::Region,
        crate::dp::Dimension::TravelFrequency,
    ]
    .iter()
    .map(|d| d.as_str().to_owned())
    .collect();
    let disclosures = vec![
        DisclosureRecord {
            kind: "k_anonymous".into(),
            description: "Segment-level insights: people per generalised age band, region and travel frequency and per value of one sensitive attribute".into(),
            attributes: k_attrs,
            requires_consent: "partner_sharing".into(),
            safeguard: "k-anonymity with suppression of small groups and distinct l-diversity on the sensitive attribute (k, l chosen per share); each share audited with the released CSV".into(),
        },
        DisclosureRecord {
            kind: "dp_counts".into(),
            description: "Aggregate counts over one dimension with a fixed set of bins".into(),
            attributes: dp_attrs,
            requires_consent: "partner_sharing".into(),
            safeguard: "ε-differential privacy (Laplace mechanism, sensitivity 1); per-partner budget tracked and enforced; each release audited".into(),
        },
    ];
    RecordsOfProcessing {
        disclosures,
        generated_from: "the purpose register, the retention policies and the coverage list the system enforces (crates/privacy: model::PURPOSES, retention::POLICIES, coverage::PERSONAL_TABLES)".into(),
        purposes,
        retention,
        data_categories,
        recipients,
    }
}

fn q(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The register as one CSV table: `section,name,description,lawful_basis,data_categories,
/// recipients,retention,notes` — one line per purpose, retention period and stored category;
/// lists are joined with `; `; values a spreadsheet would run as formulas are defused.
pub fn to_csv(r: &RecordsOfProcessing) -> String {
    let mut out = String::from(
        "section,name,description,lawful_basis,data_categories,recipients,retention,notes\n",
    );
    let mut line = |cells: [&str; 8]| {
        let v: Vec<String> = cells.iter().map(|c| q(c)).collect();
        out.push_str(&v.join(","));
        out.push('\n');
    };
    for p in &r.purposes {
        line([
            "purpose",
            &p.purpose,
            &p.description,
            &p.lawful_bases.join("; "),
            &p.data_categories.join("; "),
            &p.recipients.join("; "),
            "",
            &format!(
                "{}; channels {}; notice {}{}",
                p.kind,
                p.channels.join("/"),
                p.notice_version,
                if p.required_by_law {
                    "; required by law"
                } else {
                    ""
                }
            ),
        ]);
    }
    for p in &r.retention {
        line([
            "retention",
            &p.category,
            &p.reason,
            "",
            &p.category,
            "",
            &format!("{} months", p.months),
            &format!("{}: then {}", p.table, p.then),
        ]);
    }
    for d in &r.disclosures {
        line([
            "disclosure",
            &d.kind,
            &d.description,
            "consent",
            &d.attributes.join("; "),
            "partners (named per share)",
            "",
            &format!("requires {}; {}", d.requires_consent, d.safeguard),
        ]);
    }
    for c in &r.data_categories {
        line([
            "data_category",
            &c.category,
            &format!("stored in {}", c.stored_in),
            c.legal_basis.as_deref().unwrap_or(""),
            &c.category,
            "",
            &c.retention_months
                .map(|m| format!("{m} months"))
                .unwrap_or_default(),
            &format!("source {}; on erasure {}", c.source, c.on_erasure),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_purpose_and_every_retention_policy_is_in_the_register() {
        let r = register();
        let csv = to_csv(&r);
        for p in PURPOSES {
            let rec = r.purposes.iter().find(|x| x.purpose == p.code).unwrap();
            assert_eq!(rec.recipients.len(), p.recipients.len());
            assert!(
                csv.contains(&format!("\"purpose\",\"{}\"", p.code)),
                "{}",
                p.code
            );
            for rcp in p.recipients {
                assert!(r.recipients.iter().any(|x| x == rcp));
            }
        }
        for p in POLICIES {
            assert!(
                r.retention
                    .iter()
                    .any(|x| x.table == p.table && x.months == p.months)
            );
            assert!(csv.contains(&format!("\"retention\",\"{}\"", p.category)));
        }
        assert_eq!(r.data_categories.len(), PERSONAL_TABLES.len());
        assert_eq!(
            csv.lines().count(),
            1 + PURPOSES.len() + POLICIES.len() + r.disclosures.len() + PERSONAL_TABLES.len()
        );
        assert_eq!(q("=cmd"), "\"'=cmd\"");
    }
}
