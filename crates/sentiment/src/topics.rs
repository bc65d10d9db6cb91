//! Airline topics by keyword, so an agent can see why a text carries a topic.

use serde::{Deserialize, Serialize};

/// What a text is about. Fixed list: segments and dashboards filter by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topic {
    /// Late departure or arrival, waiting.
    Delay,
    /// A cancelled flight.
    Cancellation,
    /// Checked or cabin bags: lost, late, damaged.
    Baggage,
    /// Crew, agents, service manner.
    Staff,
    /// Seats, legroom, seat assignment.
    Seat,
    /// Meals and drinks on board or in the lounge.
    Food,
    /// Refunds, compensation, vouchers.
    Refund,
    /// Reservations, tickets, changes, check-in, the website and app.
    Booking,
    /// Miles, tiers, status, the programme.
    Loyalty,
}

impl Topic {
    /// All topics, in the order [`topics`] reports them.
    pub const ALL: [Topic; 9] = [
        Topic::Delay,
        Topic::Cancellation,
        Topic::Baggage,
        Topic::Staff,
        Topic::Seat,
        Topic::Food,
        Topic::Refund,
        Topic::Booking,
        Topic::Loyalty,
    ];

    /// The wire name (`delay`, `cancellation`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Delay => "delay",
            Topic::Cancellation => "cancellation",
            Topic::Baggage => "baggage",
            Topic::Staff => "staff",
            Topic::Seat => "seat",
            Topic::Food => "food",
            Topic::Refund => "refund",
            Topic::Booking => "booking",
            Topic::Loyalty => "loyalty",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == s)
    }

    fn keywords(self) -> &'static [&'static str] {
        match self {
            Topic::Delay => &[
                "delay",
                "delayed",
                "delays",
                "late",
                "later",
                "waited",
                "waiting",
                "wait",
                "punctual",
                "ontime",
                "misconnect",
                "misconnected",
                "missed",
                "tarmac",
            ],
            Topic::Cancellation => &[
                "cancel",
                "cancelled",
                "canceled",
                "cancellation",
                "cancellations",
                "stranded",
                "overbooked",
                "bumped",
                "denied",
            ],
            Topic::Baggage => &[
                "bag",
                "bags",
                "baggage",
                "luggage",
                "suitcase",
                "suitcases",
                "carousel",
                "backpack",
                "stroller",
                "pram",
                "pir",
                "overhead",
            ],
            Topic::Staff => &[
                "staff",
                "crew",
                "agent",
                "agents",
                "attendant",
                "attendants",
                "steward",
                "stewardess",
                "pilot",
                "captain",
                "purser",
                "employee",
                "employees",
                "rude",
                "friendly",
                "courteous",
                "attentive",
                "unhelpful",
                "helpful",
            ],
            Topic::Seat => &[
                "seat", "seats", "seating", "legroom", "aisle", "recline", "reclined", "armrest",
                "cramped", "spacious", "bed", "flatbed",
            ],
            Topic::Food => &[
                "food",
                "meal",
                "meals",
                "snack",
                "snacks",
                "drink",
                "drinks",
                "coffee",
                "tea",
                "menu",
                "vegetarian",
                "vegan",
                "halal",
                "kosher",
                "breakfast",
                "lunch",
                "dinner",
                "catering",
                "delicious",
                "tasty",
                "inedible",
                "stale",
                "wine",
            ],
            Topic::Refund => &[
                "refund",
                "refunds",
                "refunded",
                "reimburse",
                "reimbursed",
                "reimbursement",
                "compensation",
                "compensate",
                "compensated",
                "voucher",
                "vouchers",
                "chargeback",
                "eu261",
                "claim",
            ],
            Topic::Booking => &[
                "booking",
                "bookings",
                "booked",
                "book",
                "reservation",
                "reservations",
                "ticket",
                "tickets",
                "pnr",
                "itinerary",
                "rebook",
                "rebooked",
                "rebooking",
                "website",
                "app",
                "checkin",
                "check",
                "boarding",
            ],
            Topic::Loyalty => &[
                "miles",
                "mile",
                "points",
                "tier",
                "status",
                "gold",
                "silver",
                "platinum",
                "loyalty",
                "frequent",
                "flyer",
                "lounge",
                "membership",
                "member",
                "upgrade",
                "upgraded",
            ],
        }
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The topics a text mentions, in [`Topic::ALL`] order, each once.
pub fn topics(text: &str) -> Vec<Topic> {
    let mut found = [false; 9];
    for word in crate::words(text) {
        for (i, topic) in Topic::ALL.iter().enumerate() {
            if !found[i] && topic.keywords().contains(&word.as_str()) {
                found[i] = true;
            }
        }
    }
    Topic::ALL
        .into_iter()
        .zip(found)
        .filter_map(|(t, f)| f.then_some(t))
        .collect()
}
