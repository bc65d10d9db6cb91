-- Case management (crates/cases). Instants are RFC 3339 UTC text.
--
-- case_workflows: every version of the workflow definition (JSON of model::Workflow); a case
-- keeps the version it was opened under, so a new version never strands an open case.
CREATE TABLE case_workflows (
    version     BIGINT PRIMARY KEY,
    definition  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

-- cases: one row per case. `matter` (customer|category|booking) is unique among open cases
-- (`is_open` = 1 until a terminal state): a second request about the same matter links to the
-- open case instead of duplicating it, also under concurrent requests. `clocks` is the JSON of
-- the SLA clocks; the *_due columns are their due instants while running (NULL while paused),
-- kept for the work-queue ordering and the SLA sweep. `sla_flags` lists the warnings and
-- breaches already raised (`resolution:warning`), so each is raised once.
CREATE TABLE cases (
    id                    {{key_text}} PRIMARY KEY,
    customer_id           {{key_text}} NOT NULL,
    category              TEXT NOT NULL,
    subject               TEXT NOT NULL,
    description           TEXT NOT NULL,
    channel               TEXT NOT NULL,
    booking_reference     TEXT,
    matter                {{key_text}} NOT NULL,
    state                 TEXT NOT NULL,
    is_open               INTEGER NOT NULL,
    workflow_version      BIGINT NOT NULL,
    priority              TEXT NOT NULL,
    priority_rank         INTEGER NOT NULL,
    priority_reasons      TEXT NOT NULL,
    queue                 {{key_text}} NOT NULL,
    assignee              {{key_text}},
    language              TEXT,
    opened_at             TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    last_agent_action_at  TEXT NOT NULL,
    first_responded_at    TEXT,
    resolved_at           TEXT,
    closed_at             TEXT,
    clocks                TEXT NOT NULL,
    first_response_due    TEXT,
    next_response_due     TEXT,
    resolution_due        TEXT,
    sla_flags             TEXT NOT NULL,
    csat                  INTEGER,
    version               BIGINT NOT NULL
);
CREATE UNIQUE INDEX cases_open_matter ON cases (matter) WHERE is_open = 1;
CREATE INDEX cases_customer ON cases (customer_id, opened_at);
CREATE INDEX cases_queue ON cases (queue, is_open, priority_rank, opened_at, id);
CREATE INDEX cases_assignee ON cases (assignee, is_open, priority_rank, opened_at, id);
CREATE INDEX cases_resolution_due ON cases (is_open, resolution_due);

-- case_entries: a case's own timeline (opened, messages, transitions, assignments, escalations).
-- `body` holds a message's text; `detail` a JSON object of the entry's facts.
CREATE TABLE case_entries (
    id        {{bigserial_pk}},
    case_id   {{key_text}} NOT NULL,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    author    TEXT,
    body      TEXT,
    detail    TEXT NOT NULL
);
CREATE INDEX case_entries_case ON case_entries (case_id, id);

-- case_agents: who takes cases from which queues (space-separated), in which languages, how
-- many at once; round-robin gives the next case to the one given one longest ago.
CREATE TABLE case_agents (
    agent_id          {{key_text}} PRIMARY KEY,
    queues            TEXT NOT NULL,
    languages         TEXT NOT NULL,
    capacity          BIGINT NOT NULL,
    available         INTEGER NOT NULL,
    last_assigned_at  TEXT
);
