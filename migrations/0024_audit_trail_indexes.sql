-- The audit page shows the trail newest first by instant and filters it by date range, action,
-- actor and record; the sign-in anomalies view counts actions over the last hours and days.
-- Each filter walks one of these indexes in the page's order (keyset paging: instant, seq).
CREATE INDEX audit_log_time ON audit_log (occurred_at, seq);
CREATE INDEX audit_log_action_time ON audit_log (action, occurred_at, seq);
CREATE INDEX audit_log_actor_time ON audit_log (actor_id, occurred_at, seq);
CREATE INDEX audit_log_resource_time ON audit_log (resource_id, occurred_at, seq);
