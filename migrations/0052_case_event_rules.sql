-- case_event_rules: every version of the rules that open cases from other domains' events
-- (aloft_cases::rules; JSON list of EventRule). The newest is in force; none stored means the
-- shipped set. Kept whole so an audit can say which rule opened which case.
CREATE TABLE case_event_rules (
    version     BIGINT PRIMARY KEY,
    definition  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);
