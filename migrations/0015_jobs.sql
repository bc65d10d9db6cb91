-- Scheduled and delayed work (kernel `jobs`): each row runs once across every Aloft process
-- sharing the database. A runner claims due rows by setting a lease (owner + expiry) and
-- extends it while the job runs; a row whose lease expired (its process died) is claimed again.
-- `dedupe_key` makes enqueueing the same logical job twice a no-op (NULLs never conflict).
-- `attempts` counts claims, and fences a runner's outcome: only the claim that is still current
-- may finish the row.
CREATE TABLE jobs (
    id           {{key_text}} PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedupe_key   {{key_text}} UNIQUE,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'running', 'done', 'failed')),
    run_at       TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    finished_at  TEXT
);
-- What a runner looks for: due pending rows, and running rows whose lease ran out.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
