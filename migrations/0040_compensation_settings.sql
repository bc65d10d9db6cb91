-- Compensation processing's settings as the CMP manager sets them (crates/compensation): the
-- amounts up to which a proposal is approved without a person, per currency, and the minimum
-- connection time. Every change is a new version (who, when); the newest applies, read by
-- every instance at the start of each processing.
CREATE TABLE compensation_settings (
    version    BIGINT PRIMARY KEY,
    document   TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at {{key_text}} NOT NULL
);
