//! The purpose register and the consent change a request asks for; pure, tested without IO.
//!
//! The register ([`PURPOSES`]) is the one configuration the consent API validates against, the
//! consent check enforces and the records of processing are generated from, so what the
//! airline declares and what Aloft enforces cannot drift apart.

use aloft_kernel::FieldError;
use aloft_kernel::fields::FieldReader;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Whether a purpose is a consent to processing or a subscription to a service message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Processing that needs the passenger's consent (GDPR Art. 6(1)(a)).
    Consent,
    /// A message the passenger subscribes to (newsletter, disruption alerts).
    Subscription,
}

/// One purpose of the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Purpose {
    /// The code (`marketing_email`).
    pub code: &'static str,
    /// Consent or subscription.
    pub kind: Kind,
    /// What the data is used for, in a sentence (shown to passengers and in the register).
    pub description: &'static str,
    /// The channels it may be given for; the first is the default.
    pub channels: &'static [&'static str],
    /// The lawful bases it may rest on.
    pub bases: &'static [&'static str],
    /// Versions of the notice text, oldest first: (version, text). Never edited, only added to.
    pub notices: &'static [(&'static str, &'static str)],
    /// Data categories the purpose uses (records of processing).
    pub categories: &'static [&'static str],
    /// Who receives data for this purpose (records of processing).
    pub recipients: &'static [&'static str],
    /// Whether a law requires this processing, so that it continues while the person's
    /// processing is restricted (Art. 18(2)); every other purpose is then "not allowed".
    pub required_by_law: bool,
}

/// Every purpose Aloft knows. Adding one is adding a line here; nothing else lists them.
pub const PURPOSES: &[Purpose] = &[
    Purpose {
        code: "marketing_email",
        kind: Kind::Consent,
        description: "Offers and news from the airline by e-mail",
        channels: &["email"],
        bases: &["consent"],
        notices: &[(
            "2026-01",
            "We would like to e-mail you offers and news about our flights and partners' services. You can withdraw at any time from any e-mail or your account.",
        )],
        categories: &["contact details", "travel history", "preferences"],
        recipients: &["airline marketing", "e-mail service provider"],
        required_by_law: false,
    },
    Purpose {
        code: "marketing_sms",
        kind: Kind::Consent,
        description: "Offers from the airline by text message",
        channels: &["sms"],
        bases: &["consent"],
        notices: &[(
            "2026-01",
            "We would like to text you offers about our flights. Reply STOP or use your account to withdraw at any time.",
        )],
        categories: &["contact details", "preferences"],
        recipients: &["airline marketing", "SMS gateway"],
        required_by_law: false,
    },
    Purpose {
        code: "marketing_push",
        kind: Kind::Consent,
        description: "Offers from the airline as app notifications",
        channels: &["push"],
        bases: &["consent"],
        notices: &[(
            "2026-01",
            "We would like to send offers as notifications of our app. Turn them off in the app or your account at any time.",
        )],
        categories: &["device identifiers", "preferences"],
        recipients: &["airline marketing", "push notification service"],
        required_by_law: false,
    },
    Purpose {
        code: "partner_sharing",
        kind: Kind::Consent,
        description: "Sharing your profile with partner airlines, hotels and car hire for their offers",
        channels: &["any"],
        bases: &["consent"],
        notices: &[(
            "2026-01",
            "We would like to share your name, contact details and travel preferences with our alliance and travel partners so they can make you offers.",
        )],
        categories: &["identity", "contact details", "preferences"],
        recipients: &["alliance partner airlines", "hotel and car hire partners"],
        required_by_law: false,
    },
    Purpose {
        code: "personalisation",
        kind: Kind::Consent,
        description: "Personalising offers and service from your travel history (profiling)",
        channels: &["any"],
        bases: &["consent"],
        notices: &[(
            "2026-01",
            "We would like to use your travel history and choices to personalise our offers and service to you.",
        )],
        categories: &["travel history", "preferences", "interactions"],
        recipients: &["airline marketing", "airline customer service"],
        required_by_law: false,
    },
    Purpose {
        code: "analytics",
        kind: Kind::Consent,
        description: "Including your data in analyses that improve our network and service",
        channels: &["any"],
        bases: &["consent", "legitimate_interests"],
        notices: &[(
            "2026-01",
            "We would like to include your travel and service data in analyses that improve our routes and service. Results never identify you.",
        )],
        categories: &["travel history", "interactions"],
        recipients: &["airline network planning", "airline customer insights"],
        required_by_law: false,
    },
    Purpose {
        code: "newsletter",
        kind: Kind::Subscription,
        description: "The monthly newsletter",
        channels: &["email"],
        bases: &["consent"],
        notices: &[(
            "2026-01",
            "Subscribe to our monthly newsletter. Unsubscribe from any issue.",
        )],
        categories: &["contact details"],
        recipients: &["airline marketing", "e-mail service provider"],
        required_by_law: false,
    },
    Purpose {
        code: "disruption_alerts",
        kind: Kind::Subscription,
        description: "Alerts about delays, cancellations and gate changes of your flights",
        channels: &["email", "sms", "push"],
        bases: &["contract", "consent"],
        notices: &[(
            "2026-01",
            "We send alerts about delays, cancellations and gate changes of the flights you booked, on the channels you choose.",
        )],
        categories: &["contact details", "bookings"],
        recipients: &[
            "airline operations control",
            "SMS gateway",
            "e-mail service provider",
        ],
        // Regulation (EC) No 261/2004 Art. 5(2) and 14: passengers of a cancelled or delayed
        // flight must be informed; a restriction of processing cannot stop that.
        required_by_law: true,
    },
];

/// Every lawful basis of GDPR Art. 6(1).
pub const LAWFUL_BASES: &[&str] = &[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
];

/// The touchpoints consent can come from.
pub const SOURCES: &[&str] = &[
    "web",
    "app",
    "contact_centre",
    "airport",
    "email",
    "partner",
    "source_system",
    "self_service",
    "privacy_request",
];

/// The purpose with code `code`.
pub fn purpose(code: &str) -> Option<&'static Purpose> {
    PURPOSES.iter().find(|p| p.code == code)
}

impl Purpose {
    /// The purpose's bit in a consent mask (`analytics_customer_facts.consent_allowed`):
    /// `1 << i` for the `i`-th purpose of the register. The register only grows at its end, so a
    /// purpose keeps its bit (at most 63 purposes; a test checks).
    pub fn bit(&self) -> i64 {
        let i = PURPOSES
            .iter()
            .position(|p| p.code == self.code)
            .unwrap_or(63);
        1i64 << i
    }

    /// The current notice version.
    pub fn current_notice(&self) -> &'static str {
        self.notices.last().map(|n| n.0).unwrap_or("")
    }

    /// The text of notice `version`, if it exists.
    pub fn notice(&self, version: &str) -> Option<&'static str> {
        self.notices.iter().find(|n| n.0 == version).map(|n| n.1)
    }
}

/// A valid consent change, as one request asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    /// The purpose.
    pub purpose: &'static Purpose,
    /// The channel (one of the purpose's).
    pub channel: &'static str,
    /// Given (`true`) or withdrawn.
    pub granted: bool,
    /// The lawful basis.
    pub lawful_basis: &'static str,
    /// The notice version the passenger saw.
    pub notice_version: &'static str,
    /// The touchpoint.
    pub source: &'static str,
    /// Reference to the evidence.
    pub proof: String,
}

/// The fields of a consent change document.
pub const FIELDS: &[&str] = &[
    "purpose",
    "channel",
    "granted",
    "lawful_basis",
    "notice_version",
    "source",
    "proof",
];

fn one_of(list: &'static [&'static str], s: &str, what: &str) -> Result<&'static str, String> {
    list.iter().copied().find(|x| *x == s).ok_or_else(|| {
        format!(
            "is not a known {what}; expected one of: {}",
            list.join(", ")
        )
    })
}

/// Reads a consent change, naming every bad field by JSON pointer. Source and proof are
/// required: consent nobody can prove was given is not consent.
pub fn parse_change(doc: &Value) -> Result<ConsentChange, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(FIELDS);
    let codes: Vec<&str> = PURPOSES.iter().map(|p| p.code).collect();
    let purpose = r.req("purpose", |s| {
        purpose(s).ok_or_else(|| {
            format!(
                "is not a known purpose; expected one of: {}",
                codes.join(", ")
            )
        })
    });
    let channel = r.opt("channel", |s| Ok(s.to_owned()));
    let granted = match r.get("granted") {
        Some(Value::Bool(b)) => Some(*b),
        None | Some(Value::Null) => {
            r.fail("granted", "is required");
            None
        }
        Some(_) => {
            r.fail("granted", "must be true (given) or false (withdrawn)");
            None
        }
    };
    let basis = r.opt("lawful_basis", |s| one_of(LAWFUL_BASES, s, "lawful basis"));
    let notice = r.opt("notice_version", |s| Ok(s.to_owned()));
    let source = r.req("source", |s| one_of(SOURCES, s, "source"));
    let proof = r.req("proof", |s| {
        let t = s.trim();
        if t.is_empty() || t.len() > 500 {
            Err("must be a reference to the evidence, 1 to 500 characters".into())
        } else {
            Ok(t.to_owned())
        }
    });
    let mut channel_ok = None;
    let mut basis_ok = None;
    let mut notice_ok = None;
    if let Some(p) = purpose {
        channel_ok = match channel {
            None => Some(p.channels[0]),
            Some(c) => match p.channels.iter().copied().find(|x| *x == c) {
                Some(c) => Some(c),
                None => {
                    r.fail(
                        "channel",
                        format!(
                            "is not a channel of {}; expected one of: {}",
                            p.code,
                            p.channels.join(", ")
                        ),
                    );
                    None
                }
            },
        };
        basis_ok = match basis {
            None => Some(p.bases[0]),
            Some(b) if p.bases.contains(&b) => Some(b),
            Some(b) => {
                r.fail(
                    "lawful_basis",
                    format!(
                        "{b} is not a basis {} may rest on; expected one of: {}",
                        p.code,
                        p.bases.join(", ")
                    ),
                );
                None
            }
        };
        notice_ok = match notice {
            None => Some(p.current_notice()),
            Some(v) => match p.notices.iter().find(|n| n.0 == v) {
                Some(n) => Some(n.0),
                None => {
                    let versions: Vec<&str> = p.notices.iter().map(|n| n.0).collect();
                    r.fail(
                        "notice_version",
                        format!(
                            "is not a notice version of {}; expected one of: {}",
                            p.code,
                            versions.join(", ")
                        ),
                    );
                    None
                }
            },
        };
    }
    match (
        purpose, channel_ok, granted, basis_ok, notice_ok, source, proof,
    ) {
        (
            Some(purpose),
            Some(channel),
            Some(granted),
            Some(lawful_basis),
            Some(notice_version),
            Some(source),
            Some(proof),
        ) if errors.is_empty() => Ok(ConsentChange {
            purpose,
            channel,
            granted,
            lawful_basis,
            notice_version,
            source,
            proof,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointers(v: Value) -> Vec<String> {
        parse_change(&v)
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    #[test]
    fn a_complete_change_is_read_with_defaults_from_the_register() {
        let c = parse_change(&json!({"purpose": "marketing_email", "granted": true,
            "source": "web", "proof": "form 8842"}))
        .unwrap();
        assert_eq!(c.channel, "email");
        assert_eq!(c.lawful_basis, "consent");
        assert_eq!(c.notice_version, "2026-01");
        assert!(c.granted);
    }

    #[test]
    fn unknown_purpose_missing_source_and_proof_are_each_named() {
        assert_eq!(
            pointers(json!({"purpose": "telepathy", "granted": true})),
            ["/purpose", "/source", "/proof"]
        );
        assert_eq!(
            pointers(
                json!({"purpose": "marketing_sms", "channel": "email", "granted": "yes",
                "source": "pigeon", "proof": " ", "notice_version": "1999", "colour": 1})
            ),
            [
                "/colour",
                "/granted",
                "/source",
                "/proof",
                "/channel",
                "/notice_version"
            ]
        );
        assert_eq!(
            pointers(
                json!({"purpose": "marketing_email", "lawful_basis": "contract",
                "granted": false, "source": "web", "proof": "x"})
            ),
            ["/lawful_basis"]
        );
    }

    #[test]
    fn every_purpose_has_a_channel_a_basis_and_a_notice() {
        for p in PURPOSES {
            assert!(
                !p.channels.is_empty() && !p.bases.is_empty() && !p.notices.is_empty(),
                "{}",
                p.code
            );
            assert!(p.bases.iter().all(|b| LAWFUL_BASES.contains(b)));
            assert!(p.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }
}
