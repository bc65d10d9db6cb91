//! The duplicate warning when an agent creates a customer: before a new profile is stored, the
//! profiles that resemble it (same surname, e-mail, phone or loyalty number, within the agent's
//! row scope) are scored by the identity resolver — the same Fellegi–Sunter model that links
//! source records — and the likely matches are shown with the evidence, so the agent opens the
//! existing profile instead of creating a second one. The agent may still create the new profile
//! (namesakes exist); nothing is merged here.

use aloft_identity::{Decision, PersonRecord, Resolver, ResolverConfig};

use crate::model::Profile;
use crate::storage::{Customer, CustomerQuery, CustomerStore, Reader};

/// How many existing profiles are compared at most.
const CANDIDATES: u32 = 25;

/// A profile that may be the same person as the one being created.
#[derive(Debug, Clone)]
pub struct PossibleDuplicate {
    /// The existing profile.
    pub customer: Customer,
    /// Posterior probability that it is the same person.
    pub probability: f64,
    /// The fields that agreed, for the agent to judge ("last name exact, e-mail exact").
    pub evidence: String,
}

/// The identity resolver's view of a profile (the fields it compares).
fn person(source: &str, id: &str, p: &Profile) -> PersonRecord {
    let mut r =
        PersonRecord::new(source, id).with_name(p.first_name.as_str(), p.last_name.as_str());
    r.date_of_birth = p.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string());
    r.email = p.email.as_ref().map(ToString::to_string);
    r.phone = p.phone.as_ref().map(ToString::to_string);
    r.loyalty_number = p.loyalty_number.as_ref().map(ToString::to_string);
    r.passport_number = p.passport_number.as_ref().map(|v| v.as_str().to_owned());
    r.nationality = p.nationality.as_ref().map(ToString::to_string);
    r
}

/// Scores `existing` profiles against `new` (pure): those the resolver would merge or send to
/// review, strongest first.
pub fn score(new: &Profile, existing: &[Customer]) -> Vec<PossibleDuplicate> {
    let config = ResolverConfig::default();
    let mut resolver = Resolver::new(config);
    for c in existing {
        // Each existing profile in its own cluster: a resolve error (a malformed value) only
        // drops that candidate.
        let _ = resolver.resolve(&person("existing", &c.id.to_string(), &c.profile));
    }
    let mut out = Vec::new();
    let Ok(resolution) = resolver.resolve(&person("new", "new", new)) else {
        return out;
    };
    let describe = |e: &aloft_identity::model::Explanation| {
        e.fields
            .iter()
            .filter(|f| f.weight > 0.0)
            .map(|f| format!("{} {}", f.field.name().replace('_', " "), f.level))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let found = |record_id: &str| existing.iter().find(|c| c.id.to_string() == record_id);
    match &resolution.decision {
        Decision::New => {}
        Decision::Matched { explanation, .. } => {
            for member in resolver.members(resolution.golden_id) {
                if let Some(c) = (member.source == "existing")
                    .then(|| found(&member.record_id))
                    .flatten()
                {
                    out.push(PossibleDuplicate {
                        customer: c.clone(),
                        probability: explanation.probability,
                        evidence: describe(explanation),
                    });
                }
            }
        }
        Decision::Review { candidates } => {
            for cand in candidates {
                if let Some(c) = found(&cand.record.record_id) {
                    out.push(PossibleDuplicate {
                        customer: c.clone(),
                        probability: cand.explanation.probability,
                        evidence: describe(&cand.explanation),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    out
}

/// The existing profiles, visible to `reader`, that may be the same person as `new`.
pub async fn possible_duplicates(
    store: &CustomerStore,
    reader: Reader<'_>,
    new: &Profile,
) -> Result<Vec<PossibleDuplicate>, crate::storage::CustomerError> {
    let base = CustomerQuery {
        limit: CANDIDATES,
        ..Default::default()
    };
    let mut queries = vec![CustomerQuery {
        name: Some(new.last_name.to_string()),
        ..base.clone()
    }];
    if let Some(e) = &new.email {
        queries.push(CustomerQuery {
            email: Some(e.to_string().to_lowercase()),
            ..base.clone()
        });
    }
    if let Some(p) = &new.phone {
        queries.push(CustomerQuery {
            phone: Some(p.to_string()),
            ..base.clone()
        });
    }
    if let Some(l) = &new.loyalty_number {
        queries.push(CustomerQuery {
            loyalty_number: Some(l.to_string()),
            ..base
        });
    }
    let mut existing: Vec<Customer> = Vec::new();
    for q in queries {
        for c in store.search(&q, reader).await?.items {
            if c.merged_into.is_none() && !existing.iter().any(|e| e.id == c.id) {
                existing.push(c);
            }
        }
    }
    Ok(score(new, &existing))
}
