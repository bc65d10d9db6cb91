-- Analytics and personalisation (crates/analytics): the facts segments are evaluated on.
--
-- `analytics_customer_facts` holds one row per customer with the segmentable facts derived from
-- the profile, travel history, interactions, sentiment, cases and consent — pseudonymous codes,
-- counts and instants only (no name, contact or document), so a segment rule compiles to one
-- indexed query on one table. Instants are RFC 3339 UTC text; money is in minor units of the
-- reporting currency (`spend_12m_minor`), never float. Booleans are 0/1.
CREATE TABLE analytics_customer_facts (
    customer_id             {{key_text}} PRIMARY KEY,
    home_airport            {{key_text}},
    nationality             {{key_text}},
    age_band                {{key_text}},
    language                {{key_text}},
    tier                    {{key_text}},
    tier_changed_at         {{key_text}},
    flights_12m             BIGINT NOT NULL DEFAULT 0,
    flights_90d             BIGINT NOT NULL DEFAULT 0,
    last_flight_at          {{key_text}},
    main_cabin              {{key_text}},
    spend_12m_minor         BIGINT NOT NULL DEFAULT 0,
    disruptions_12m         BIGINT NOT NULL DEFAULT 0,
    meal_preference         {{key_text}},
    seat_preference         {{key_text}},
    interactions_90d        BIGINT NOT NULL DEFAULT 0,
    negative_90d            BIGINT NOT NULL DEFAULT 0,
    last_sentiment          {{key_text}},
    open_cases              BIGINT NOT NULL DEFAULT 0,
    consent_marketing_email BIGINT NOT NULL DEFAULT 0,
    updated_at              TEXT NOT NULL
);
CREATE INDEX analytics_facts_tier ON analytics_customer_facts (tier, flights_12m);
CREATE INDEX analytics_facts_home ON analytics_customer_facts (home_airport);
CREATE INDEX analytics_facts_last_flight ON analytics_customer_facts (last_flight_at);

-- Per-customer lists a rule matches with EXISTS: routes (`FRA-JFK`) and airports flown in the
-- last 24 months.
CREATE TABLE analytics_customer_routes (
    customer_id {{key_text}} NOT NULL,
    value       {{key_text}} NOT NULL,
    PRIMARY KEY (customer_id, value)
);
CREATE INDEX analytics_customer_routes_value ON analytics_customer_routes (value, customer_id);
CREATE TABLE analytics_customer_airports (
    customer_id {{key_text}} NOT NULL,
    value       {{key_text}} NOT NULL,
    PRIMARY KEY (customer_id, value)
);
CREATE INDEX analytics_customer_airports_value ON analytics_customer_airports (value, customer_id);

-- Saved segments (the rule as validated JSON) and their current members; `version` bumps on
-- every edit of the rule.
CREATE TABLE analytics_segments (
    id         {{key_text}} PRIMARY KEY,
    name       TEXT NOT NULL,
    rule       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE analytics_segment_members (
    segment_id  {{key_text}} NOT NULL,
    customer_id {{key_text}} NOT NULL,
    entered_at  TEXT NOT NULL,
    PRIMARY KEY (segment_id, customer_id)
);
CREATE INDEX analytics_segment_members_customer ON analytics_segment_members (customer_id);
