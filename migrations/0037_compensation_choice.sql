-- The passenger's choice of how compensation is paid (crates/compensation/src/portal.rs): money
-- by default; a travel voucher or miles only with the passenger's agreement (Regulation (EC)
-- No 261/2004, Art. 7(3)), which the signed-in passenger gives by choosing — recorded with its
-- instant. The executive's approval pays as chosen.
ALTER TABLE compensation_proposals ADD COLUMN preferred_method TEXT;
ALTER TABLE compensation_proposals ADD COLUMN method_agreed_at TEXT;
