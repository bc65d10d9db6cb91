-- Segment lists on the facts row (crates/analytics, issue 22: "segment count preview over
-- 1,000,000 customers ≤ 200 ms on PostgreSQL").
--
-- A rule on a route or an airport was an `EXISTS` over `analytics_customer_routes` /
-- `analytics_customer_airports`: PostgreSQL answered it with a hash semi-join whose hash every
-- parallel worker built again, which doubled the count's time over a scan of the facts table
-- alone (BENCHMARKS.md "Segment count preview"). The facts row now carries the same codes
-- between bars (`|FRA-JFK|JFK-FRA|`, upper case, `|` when none), and a rule tests them with
-- `LIKE '%|FRA-JFK|%'` on the row it already reads. The list tables stay (the privacy export
-- lists them; a lookup by code uses their index) and are written in the same transaction.
-- Rules read `consent_allowed` (migration 0047) for consent, not `consent_marketing_email`.
--
-- `previous_tier` with `tier_changed_at` (0030, unfilled until now) is the tier movement
-- analytics sees when it writes a customer's row with another tier than the row held: the tier
-- before the last change and when it changed. Aloft keeps no other tier history (the profile
-- holds the current tier; `customer_changes` names changed fields, not values), so the churn
-- model reads this for "tiers lost in the last 12 months". Unknown (NULL) for changes before
-- this migration.
ALTER TABLE analytics_customer_facts ADD COLUMN routes_list TEXT NOT NULL DEFAULT '|';
ALTER TABLE analytics_customer_facts ADD COLUMN airports_list TEXT NOT NULL DEFAULT '|';
ALTER TABLE analytics_customer_facts ADD COLUMN previous_tier {{key_text}};

UPDATE analytics_customer_facts SET
    routes_list = '|' || COALESCE((SELECT string_agg(UPPER(l.value), '|') FROM analytics_customer_routes l
        WHERE l.customer_id = analytics_customer_facts.customer_id) || '|', ''),
    airports_list = '|' || COALESCE((SELECT string_agg(UPPER(l.value), '|') FROM analytics_customer_airports l
        WHERE l.customer_id = analytics_customer_facts.customer_id) || '|', '');
