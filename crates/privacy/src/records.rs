//! Records of processing activities (GDPR Art. 30): purposes, data categories, recipients and
//! retention periods.
//!
//! Why generated rather than written: the register is built at request time from the very
//! constants the system enforces — the purpose register ([`crate::model::PURPOSES`], which the
//! consent API validates against and the consent check enforces), the retention policies
//! ([`crate::retention::POLICIES`], which the daily job applies) and the coverage list
//! ([`crate::coverage::PERSONAL_TABLES`], which export and erasure read), and the partner
//! disclosures from the attributes [`crate::sharing`] and [`crate::dp`] release. Adding a purpose or a
//! policy changes the register in the same commit; there is no second document to forget. Pure:
//! the caller passes the registered partners ([`crate::sharing::partners`]), which are the
//! recipients of `partner_sharing` by name, with their agreement.
//!
//! Built from the same constants is not the same as consistent with them: a legal basis can
//! say "kept 10 years" while no policy deletes anything, a purpose can name a recipient no code
//! sends to. So the register also carries [`ConsistencyCheck`]s — every retention period a
//! legal basis states compared with the policy the retention job applies to that table, and
//! every recipient of every purpose with the path by which that purpose's data reaches it
//! ([`RECIPIENT_PATHS`]) — and shows the
//! ones that fail, rather than hiding them. The integration test compares the register with the
//! retention job's own dry-run report.

use serde::Serialize;
use utoipa::ToSchema;

use crate::coverage::{OnErasure, PERSONAL_TABLES};
use crate::model::{Kind, PURPOSES};
use crate::retention::{Action, POLICIES};
use crate::sharing::Partner;

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

/// One recipient of one purpose, with how that purpose's data reaches it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientRecord {
    /// The recipient.
    pub recipient: String,
    /// The purpose naming it.
    pub purpose: String,
    /// How the purpose's data reaches it in this system; none when no code path discloses it.
    pub path: Option<String>,
}

/// A comparison of what the register states with what the system enforces.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsistencyCheck {
    /// `stated_retention_enforced` or `recipient_has_path`.
    pub check: String,
    /// What it is about (`compensation payments (compensation_proposals)`).
    pub subject: String,
    /// What is stated.
    pub stated: String,
    /// What is enforced.
    pub enforced: String,
    /// Whether the two agree.
    pub consistent: bool,
}

/// How each purpose's data reaches each recipient it names: `(purpose, recipient, path)`, the
/// path being the code that discloses it. `None` says no path exists (yet); the register
/// reports it as an inconsistency. A unit test checks every recipient of every purpose is
/// listed here. The text names the code; that the code does what it says is tested there.
pub const RECIPIENT_PATHS: &[(&str, &str, Option<&str>)] = &[
    ("marketing_email", "airline marketing", Some(AUDIENCES)),
    (
        "marketing_email",
        "e-mail service provider",
        Some(
            "audience CSV with e-mail addresses for marketing_email (crates/analytics audience.rs)",
        ),
    ),
    ("marketing_sms", "airline marketing", Some(AUDIENCES)),
    (
        "marketing_sms",
        "SMS gateway",
        Some("audience CSV with phone numbers for marketing_sms (crates/analytics audience.rs)"),
    ),
    ("marketing_push", "airline marketing", Some(AUDIENCES)),
    (
        "marketing_push",
        "push notification service",
        Some(
            "audiences of customer ids for marketing_push over NATS (crates/analytics audience.rs)",
        ),
    ),
    (
        "partner_sharing",
        "alliance partner airlines",
        Some(PARTNERS),
    ),
    (
        "partner_sharing",
        "hotel and car hire partners",
        Some(PARTNERS),
    ),
    (
        "personalisation",
        "airline marketing",
        Some("next-best-action offers from the travel history (crates/analytics nba.rs)"),
    ),
    (
        "personalisation",
        "airline customer service",
        Some("next-best-action suggestions on the customer page (crates/analytics nba.rs)"),
    ),
    ("analytics", "airline network planning", Some(ANALYSES)),
    ("analytics", "airline customer insights", Some(ANALYSES)),
    ("newsletter", "airline marketing", Some(AUDIENCES)),
    (
        "newsletter",
        "e-mail service provider",
        Some("audience CSV with e-mail addresses for newsletter (crates/analytics audience.rs)"),
    ),
    (
        "disruption_alerts",
        "airline operations control",
        Some(
            "the subscription and its channels as aloft.consent.changed to operations control's webhook endpoint (crates/webhooks, consent family), and GET /api/v1/customers/{id}/consents",
        ),
    ),
    // Aloft sends no alert itself: operations control's alerting system does, through these
    // providers, with the channels it received as above.
    ("disruption_alerts", "SMS gateway", Some(ALERTS)),
    ("disruption_alerts", "e-mail service provider", Some(ALERTS)),
];

const ALERTS: &str = "by operations control's alerting system (outside Aloft), on the channels the passenger chose, received as above";

const AUDIENCES: &str = "audiences of consenting segment members (crates/analytics audience.rs: CSV download and the marketing platform over NATS)";
const PARTNERS: &str = "anonymised shares and differentially private counts to registered partners only (crates/privacy sharing.rs, dp.rs)";
const ANALYSES: &str =
    "insights dashboards and the analytics lake export (crates/insights, crates/lake)";

/// The retention period a legal basis states (`… kept 10 years`, `… kept 6 months`), in months.
pub fn stated_months(text: &str) -> Option<u32> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(3).find_map(|w| {
        if w[0] != "kept" {
            return None;
        }
        let n: u32 = w[1].parse().ok()?;
        match w[2].trim_end_matches([',', '.', ';', ')']) {
            "year" | "years" => Some(n * 12),
            "month" | "months" => Some(n),
            _ => None,
        }
    })
}

/// Every stated retention period compared with the policy on the same table, and every
/// recipient with its path.
pub fn checks(recipients: &[RecipientRecord]) -> Vec<ConsistencyCheck> {
    let mut out = Vec::new();
    for t in PERSONAL_TABLES {
        let OnErasure::Pseudonymise { legal_basis, .. } = t.on_erasure else {
            continue;
        };
        let Some(months) = stated_months(legal_basis) else {
            continue;
        };
        let policy = POLICIES.iter().find(|p| p.table == t.table);
        out.push(ConsistencyCheck {
            check: "stated_retention_enforced".into(),
            subject: format!("{} ({})", t.category, t.table),
            stated: format!("{months} months: {legal_basis}"),
            enforced: match policy {
                Some(p) => format!("{} months ({})", p.months, p.category),
                None => format!("no retention policy applies to {}", t.table),
            },
            consistent: policy.is_some_and(|p| p.months == months),
        });
    }
    for r in recipients {
        out.push(ConsistencyCheck {
            check: "recipient_has_path".into(),
            subject: format!("{} ({})", r.recipient, r.purpose),
            stated: format!("recipient of {}", r.purpose),
            enforced: r
                .path
                .clone()
                .unwrap_or_else(|| "no code path discloses data to this recipient".into()),
            consistent: r.path.is_some(),
        });
    }
    out
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
    /// Every recipient with its purposes and the path data takes to it.
    pub recipient_paths: Vec<RecipientRecord>,
    /// Anonymised and aggregated releases to partners.
    pub disclosures: Vec<DisclosureRecord>,
    /// What the register states compared with what the system enforces; the inconsistent ones
    /// are to be fixed, not hidden.
    pub consistency: Vec<ConsistencyCheck>,
}

/// How a registered partner is named as a recipient: its name and the agreement.
pub fn partner_recipient(p: &Partner) -> String {
    format!(
        "{} (registered partner; agreement {})",
        p.name, p.agreement_ref
    )
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The register, from what the code enforces and the registered `partners`.
pub fn register(partners: &[Partner]) -> RecordsOfProcessing {
    let purposes: Vec<PurposeRecord> = PURPOSES
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
            recipients: {
                let mut r = strings(p.recipients);
                if p.code == "partner_sharing" {
                    r.extend(partners.iter().map(partner_recipient));
                }
                r
            },
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
    let mut recipients: Vec<String> = purposes
        .iter()
        .flat_map(|p| p.recipients.iter().cloned())
        .collect();
    recipients.sort();
    recipients.dedup();
    let recipient_paths: Vec<RecipientRecord> = purposes
        .iter()
        .flat_map(|p| {
            p.recipients.iter().map(|r| RecipientRecord {
                recipient: r.clone(),
                purpose: p.purpose.clone(),
                path: RECIPIENT_PATHS
                    .iter()
                    .find(|(pu, x, _)| *pu == p.purpose && x == r)
                    .and_then(|(_, _, path)| *path)
                    .or_else(|| {
                        (p.purpose == "partner_sharing"
                            && partners.iter().any(|x| partner_recipient(x) == *r))
                        .then_some(PARTNERS)
                    })
                    .map(str::to_owned),
            })
        })
        .collect();
    let consistency = checks(&recipient_paths);
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
        generated_from: "the purpose register, the retention policies and the coverage list the system enforces (crates/privacy: model::PURPOSES, retention::POLICIES, coverage::PERSONAL_TABLES) and the registered partners (privacy_partners)".into(),
        purposes,
        retention,
        data_categories,
        recipients,
        recipient_paths,
        consistency,
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
            "registered partners (see partner_sharing)",
            "",
            &format!("requires {}; {}", d.requires_consent, d.safeguard),
        ]);
    }
    for c in &r.consistency {
        line([
            "check",
            &c.check,
            &c.subject,
            "",
            "",
            "",
            &c.stated,
            &format!(
                "{}; enforced: {}",
                if c.consistent {
                    "consistent"
                } else {
                    "NOT CONSISTENT"
                },
                c.enforced
            ),
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
        let r = register(&[]);
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
            1 + PURPOSES.len()
                + POLICIES.len()
                + r.disclosures.len()
                + r.consistency.len()
                + PERSONAL_TABLES.len()
        );
        assert_eq!(q("=cmd"), "\"'=cmd\"");
    }

    fn partner() -> Partner {
        Partner {
            id: "p1".into(),
            name: "Star Hotels".into(),
            contact: "dpo@star.example".into(),
            agreement_ref: "DSA-2026-07".into(),
            created_at: "2026-12-01T00:00:00.000000Z".into(),
            created_by: "u1".into(),
        }
    }

    #[test]
    fn registered_partners_are_recipients_of_partner_sharing_with_a_path() {
        let r = register(&[partner()]);
        let ps = r
            .purposes
            .iter()
            .find(|p| p.purpose == "partner_sharing")
            .unwrap();
        let named = partner_recipient(&partner());
        assert!(ps.recipients.contains(&named), "{:?}", ps.recipients);
        for p in r.purposes.iter().filter(|p| p.purpose != "partner_sharing") {
            assert!(!p.recipients.contains(&named), "{}", p.purpose);
        }
        let rec = r
            .recipient_paths
            .iter()
            .find(|x| x.recipient == named)
            .unwrap();
        assert_eq!(rec.purpose, "partner_sharing");
        assert!(rec.path.as_deref().unwrap().contains("dp.rs"));
        assert!(to_csv(&r).contains("Star Hotels (registered partner; agreement DSA-2026-07)"));
    }

    #[test]
    fn every_recipient_is_listed_with_a_path_or_reported() {
        for p in PURPOSES {
            for rcp in p.recipients {
                assert!(
                    RECIPIENT_PATHS
                        .iter()
                        .any(|(pu, x, _)| *pu == p.code && x == rcp),
                    "recipient {rcp} of {} has no entry in RECIPIENT_PATHS",
                    p.code
                );
            }
        }
        for (pu, x, _) in RECIPIENT_PATHS {
            assert!(
                crate::model::purpose(pu).is_some_and(|p| p.recipients.contains(x)),
                "{pu} does not name {x}"
            );
        }
        let r = register(&[]);
        assert_eq!(
            r.recipient_paths.len(),
            PURPOSES.iter().map(|p| p.recipients.len()).sum::<usize>()
        );
        for rec in &r.recipient_paths {
            let c = r
                .consistency
                .iter()
                .find(|c| {
                    c.check == "recipient_has_path"
                        && c.subject == format!("{} ({})", rec.recipient, rec.purpose)
                })
                .unwrap();
            assert_eq!(c.consistent, rec.path.is_some(), "{}", rec.recipient);
        }
        // The newsletter's subscribers leave through audiences (its e-mail list).
        assert!(
            r.consistency
                .iter()
                .any(|c| c.subject == "e-mail service provider (newsletter)" && c.consistent)
        );
    }

    #[test]
    fn a_stated_retention_period_is_compared_with_the_policy_on_its_table() {
        assert_eq!(stated_months("payments kept 10 years"), Some(120));
        assert_eq!(stated_months("closed cases kept 6 years"), Some(72));
        assert_eq!(stated_months("kept 18 months; then removed"), Some(18));
        assert_eq!(stated_months("proof text removed"), None);
        let r = register(&[]);
        for t in PERSONAL_TABLES {
            let OnErasure::Pseudonymise { legal_basis, .. } = t.on_erasure else {
                continue;
            };
            let Some(m) = stated_months(legal_basis) else {
                continue;
            };
            let c = r
                .consistency
                .iter()
                .find(|c| c.subject == format!("{} ({})", t.category, t.table))
                .unwrap_or_else(|| panic!("{} is not checked", t.table));
            let enforced = POLICIES.iter().any(|p| p.table == t.table && p.months == m);
            assert_eq!(c.consistent, enforced, "{}", t.table);
        }
        // Closed cases: stated 6 years, enforced 72 months.
        assert!(
            r.consistency
                .iter()
                .any(|c| c.subject.ends_with("(cases)") && c.consistent)
        );
    }
}
