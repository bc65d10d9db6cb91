-- The "at risk" work queue (crates/cases, `Cases::at_risk`) lists open cases by resolution due
-- time, then id. With the id in the index the database walks it in that order and stops after
-- one page, instead of sorting every open case when many share a due time (a disruption opens
-- thousands at once).
CREATE INDEX cases_open_due_id ON cases (is_open, resolution_due, id);
