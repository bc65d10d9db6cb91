-- The consent mask on each segment member's row (crates/analytics, issue 21: "consent check adds
-- ≤ 1 ms to an audience query over 1,000,000 customers").
--
-- An audience is a saved segment's members released for a purpose. The split read each member's
-- `analytics_customer_facts.consent_allowed` (migration 0047) through a join on the key: a
-- lookup per member, 2.6 s for a million on SQLite, where listing the members alone reads one
-- index range. The member row now carries the same mask, kept equal to the facts row's in the
-- same transactions (written with the member row; set again wherever the facts row's mask is
-- written: analytics' fact writes and privacy's consent and restriction changes), and the index
-- below holds it between the segment and the customer. The audience of a purpose is then a
-- handful of ranges of that index, one per mask value that has the purpose's bit (the values
-- present are found by skipping through the index), so the consent check costs a few index
-- seeks, not a test per member.
ALTER TABLE analytics_segment_members ADD COLUMN consent_allowed BIGINT NOT NULL DEFAULT 0;

UPDATE analytics_segment_members SET consent_allowed = COALESCE((SELECT f.consent_allowed
    FROM analytics_customer_facts f WHERE f.customer_id = analytics_segment_members.customer_id), 0);

CREATE INDEX analytics_segment_members_consent
    ON analytics_segment_members (segment_id, consent_allowed, customer_id);
