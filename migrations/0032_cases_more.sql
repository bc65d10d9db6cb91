-- Case management, second part (crates/cases): irregular operations, macros.
--
-- cases.flight: the flight a case is about (`LH400 2026-07-01`), set by irregular operations
-- (and on an open case a disruption was linked to), so a second disruption of the same flight
-- links instead of opening again.
ALTER TABLE cases ADD COLUMN flight {{key_text}};
CREATE INDEX cases_customer_open ON cases (customer_id, is_open);

-- case_disruptions: a flight disruption reported to case management, once per flight and kind
-- (a replay finds the row). Processing is a `cases.disruption` job enqueued in the same
-- transaction (dedupe key per disruption); `state` is `queued` until it has run, then `done`
-- with its counts.
CREATE TABLE case_disruptions (
    id             {{key_text}} PRIMARY KEY,
    flight         {{key_text}} NOT NULL,
    kind           {{key_text}} NOT NULL,
    delay_minutes  BIGINT,
    document       TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    state          TEXT NOT NULL,
    passengers     BIGINT NOT NULL DEFAULT 0,
    opened         BIGINT NOT NULL DEFAULT 0,
    linked         BIGINT NOT NULL DEFAULT 0,
    finished_at    TEXT,
    UNIQUE (flight, kind)
);

-- case_disruption_passengers: what a disruption did for each affected passenger (`opened` a
-- case or `linked` to their open one). The key makes processing exactly once per passenger,
-- also when a job is retried after a crash part-way through.
CREATE TABLE case_disruption_passengers (
    disruption_id  {{key_text}} NOT NULL,
    customer_id    {{key_text}} NOT NULL,
    case_id        {{key_text}} NOT NULL,
    outcome        TEXT NOT NULL,
    PRIMARY KEY (disruption_id, customer_id)
);

-- case_macros: canned replies agents insert into a reply (kept by the CMP manager).
CREATE TABLE case_macros (
    id          {{key_text}} PRIMARY KEY,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
