-- The consent check on the row (crates/privacy, issue 21: "consent check adds ≤ 1 ms to an
-- audience query over 1,000,000 customers").
--
-- `consent_allowed` is a bit mask over the purpose register (bit i = the i-th purpose of
-- `aloft_privacy::PURPOSES`: marketing_email 1, marketing_sms 2, marketing_push 4,
-- partner_sharing 8, personalisation 16, analytics 32, newsletter 64, disruption_alerts 128):
-- a bit is set when the customer's consent to that purpose is given now on some channel and,
-- for every purpose a law does not require, their processing is not restricted (Art. 18).
-- A segment or audience query tests its own row's column instead of probing the consent state
-- and the restrictions for every row. Kept current in the transaction of every consent change,
-- restriction and lifting (privacy), and computed by the same SQL whenever analytics writes a
-- facts row (`aloft_privacy::store::allowed_mask_sql`); a PostgreSQL advisory lock orders the
-- two writers. Backfilled here with that expression.
ALTER TABLE analytics_customer_facts ADD COLUMN consent_allowed BIGINT NOT NULL DEFAULT 0;

UPDATE analytics_customer_facts SET consent_allowed =
    (CAST(COALESCE((SELECT SUM(DISTINCT CASE pcs.purpose WHEN 'marketing_email' THEN 1 WHEN 'marketing_sms' THEN 2 WHEN 'marketing_push' THEN 4 WHEN 'partner_sharing' THEN 8 WHEN 'personalisation' THEN 16 WHEN 'analytics' THEN 32 WHEN 'newsletter' THEN 64 WHEN 'disruption_alerts' THEN 128 ELSE 0 END)
        FROM privacy_consent_state pcs
        WHERE pcs.customer_id = analytics_customer_facts.customer_id AND pcs.granted = 1), 0) AS BIGINT)
     & CASE WHEN EXISTS (SELECT 1 FROM privacy_restrictions prs
        WHERE prs.customer_id = analytics_customer_facts.customer_id AND prs.lifted_at IS NULL)
        THEN 128 ELSE -1 END);
