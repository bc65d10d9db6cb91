-- The audit sequence number of a merge's own audit record (on the survivor). Unmerge keeps the
-- fields edited on the survivor after the merge, found as `customer.update` audit records with a
-- higher sequence number: the audit chain's order is the same for every application host,
-- where comparing their clocks is not. NULL for merges made before this column (unmerge then
-- compares times).
ALTER TABLE identity_merges ADD COLUMN audit_seq BIGINT;
