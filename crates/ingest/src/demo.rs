//! Demo cross-source duplicates: the same demo passengers as other source systems know them, so
//! identity resolution has real work to do in a demo (and the steward's queue has entries).
//!
//! For existing profiles, each source knows a little differently:
//! - the lounge system by loyalty number (a deterministic link);
//! - the partner web shop by reservation name and e-mail in capitals (the e-mail rule);
//! - the voice platform by reservation name with a title, date of birth and phone
//!   (probabilistic);
//! - the chat platform with a typing slip in the surname and the date of birth's day and month
//!   swapped (probabilistic, often uncertain: the review queue).
//!
//! Plus new people nobody knows yet, each arriving first from the booking system and again from
//! chat, so the second record must find the profile the first one created.
//! Deterministic: the same profiles give the same events, and re-loading adds nothing (event ids
//! and source record ids derive from the customer id).

use serde_json::{Value, json};

use aloft_customers::Customer;

fn pnr_name(c: &Customer) -> String {
    format!(
        "{}/{}",
        c.profile.last_name.as_str().to_uppercase().replace(' ', ""),
        c.profile
            .first_name
            .as_str()
            .to_uppercase()
            .replace(' ', "")
    )
}

/// A slip of the keyboard: the two letters after the first swapped (`SILVA` → `SLIVA`).
fn typo(s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() >= 4 {
        c.swap(1, 2);
    }
    c.into_iter().collect()
}

fn interaction(
    id: &str,
    source: &str,
    kind: &str,
    channel: &str,
    at: &str,
    subject: &str,
) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": format!("/{source}"), "type": kind,
        "data": {"source": source, "source_record_id": id, "channel": channel,
                 "direction": "inbound", "occurred_at": at, "subject": subject}
    })
}

/// The duplicate events for these demo profiles (see the module documentation).
pub fn duplicates(customers: &[Customer]) -> Vec<Value> {
    let mut out = Vec::new();
    for (k, c) in customers.iter().enumerate() {
        let id = c.id.to_string();
        let p = &c.profile;
        let dob = p.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string());
        match k % 4 {
            0 => {
                if let Some(l) = &p.loyalty_number {
                    out.push(json!({
                        "specversion": "1.0", "id": format!("demo-lounge-{id}"), "source": "/lounges",
                        "type": "com.airline.lounge.visit", "loyaltynumber": l.as_str(),
                        "data": {"source": "lounge-pass", "source_record_id": format!("demo-lounge-{id}"),
                                 "airport": "LHR", "lounge": "Galleries North",
                                 "entered_at": "2026-10-12T07:30:00Z", "left_at": "2026-10-12T09:05:00Z",
                                 "guests": 0, "access": "loyalty_tier"}
                    }));
                }
            }
            1 => {
                if let Some(e) = &p.email {
                    let mut ev = interaction(
                        &format!("demo-webshop-{id}"),
                        "partners-webshop",
                        "com.airline.email.message",
                        "email",
                        "2026-10-20T18:10:00Z",
                        "Order delivery question",
                    );
                    ev["passengername"] = json!(pnr_name(c));
                    ev["email"] = json!(e.as_str().to_uppercase());
                    out.push(ev);
                }
            }
            2 => {
                let mut ev = interaction(
                    &format!("demo-voice-{id}"),
                    "voice",
                    "com.airline.voice.call",
                    "call",
                    "2026-11-02T09:45:00Z",
                    "Seat and meal for the next trip",
                );
                let title = match p.gender.as_ref().map(|g| format!("{g:?}")) {
                    Some(g) if g.starts_with('F') => "MRS",
                    _ => "MR",
                };
                ev["passengername"] = json!(format!("{}{title}", pnr_name(c)));
                if let Some(d) = &dob {
                    ev["dateofbirth"] = json!(d);
                }
                if let Some(ph) = &p.phone {
                    ev["phone"] = json!(ph.as_str());
                }
                out.push(ev);
            }
            _ => {
                let mut ev = interaction(
                    &format!("demo-chat-{id}"),
                    "chat",
                    "com.airline.chat.session",
                    "chat",
                    "2026-11-15T21:05:00Z",
                    "Baggage allowance",
                );
                ev["passengername"] = json!(format!(
                    "{}/{}",
                    typo(&p.last_name.as_str().to_uppercase().replace(' ', "")),
                    p.first_name.as_str().to_uppercase().replace(' ', "")
                ));
                // Day and month swapped where that still makes a date (a common slip).
                if let Some(d) = p.date_of_birth {
                    let swapped = chrono::NaiveDate::from_ymd_opt(
                        chrono::Datelike::year(&d),
                        chrono::Datelike::day(&d),
                        chrono::Datelike::month(&d),
                    )
                    .unwrap_or(d);
                    ev["dateofbirth"] = json!(swapped.format("%Y-%m-%d").to_string());
                }
                out.push(ev);
            }
        }
    }
    // New people, each known to two systems.
    const NEW: &[(&str, &str, &str, &str)] = &[
        (
            "OKONKWO/ADAEZE",
            "1990-02-14",
            "+2348031234567",
            "adaeze.okonkwo@example.ng",
        ),
        (
            "LINDQVIST/ERIK",
            "1978-07-30",
            "+46701234567",
            "erik.lindqvist@example.se",
        ),
        (
            "FERREIRA/BEATRIZ",
            "1995-11-03",
            "+5511912345678",
            "bia.ferreira@example.br",
        ),
        (
            "NAKAMURA/KENJI",
            "1983-05-21",
            "+819012345678",
            "kenji.n@example.jp",
        ),
        (
            "MOREAU/CAMILLE",
            "2001-09-09",
            "+33612345678",
            "camille.moreau@example.fr",
        ),
    ];
    for (n, (name, dob, phone, email)) in NEW.iter().enumerate() {
        let mut first = json!({
            "specversion": "1.0", "id": format!("demo-new-{n}-booking"), "source": "/gds/amadeus",
            "type": "com.airline.booking.pnr", "passengername": name, "dateofbirth": dob, "email": email,
            "data": {"source": "amadeus", "source_record_id": format!("demo-new-{n}-booking"),
                     "record_locator": format!("DMN{n:03}"), "booked_at": "2026-10-01T10:00:00Z",
                     "segments": [{"flight_number": "BA117", "origin": "LHR", "destination": "JFK",
                        "scheduled_departure_local": "2026-12-20T08:25", "scheduled_arrival_local": "2026-12-20T11:20",
                        "cabin": "economy", "rbd": "Y", "status": "scheduled"}]}
        });
        first["phone"] = json!(phone);
        out.push(first);
        let mut second = interaction(
            &format!("demo-new-{n}-chat"),
            "chat",
            "com.airline.chat.session",
            "chat",
            "2026-11-20T12:00:00Z",
            "Can I add a bag?",
        );
        second["passengername"] = json!(name);
        second["dateofbirth"] = json!(dob);
        second["phone"] = json!(phone);
        out.push(second);
    }
    out
}
