-- The airline's goodwill policy (crates/compensation/src/goodwill.rs, policy.rs): decision
-- tables the CMP manager edits without a deploy. Every saved table is a new version (never
-- edited in place); one version is published at a time; a version is published only after it
-- was simulated against past disruptions (the simulation is kept with it).
CREATE TABLE compensation_goodwill_versions (
    version      BIGINT PRIMARY KEY,
    document     TEXT NOT NULL,
    state        {{key_text}} NOT NULL,
    note         TEXT,
    created_by   TEXT NOT NULL,
    created_at   {{key_text}} NOT NULL,
    simulation   TEXT,
    simulated_at TEXT,
    published_by TEXT,
    published_at TEXT
);

-- What was known of each passenger of a processed disruption when goodwill was decided
-- (tier, kind, delay, whether the law owed compensation): what simulations replay.
CREATE TABLE compensation_goodwill_facts (
    customer_id {{key_text}} NOT NULL,
    flight      {{key_text}} NOT NULL,
    facts       TEXT NOT NULL,
    recorded_at {{key_text}} NOT NULL,
    PRIMARY KEY (customer_id, flight)
);

-- Goodwill given: one benefit kind per passenger and flight, whatever is replayed.
CREATE TABLE compensation_goodwill_awards (
    id          {{key_text}} PRIMARY KEY,
    customer_id {{key_text}} NOT NULL,
    flight      {{key_text}} NOT NULL,
    benefit     {{key_text}} NOT NULL,
    amount      TEXT,
    currency    TEXT,
    rule        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  {{key_text}} NOT NULL,
    UNIQUE (customer_id, flight, benefit)
);
CREATE INDEX compensation_goodwill_awards_customer ON compensation_goodwill_awards (customer_id, created_at);
