-- Every name-search branch excludes the rows earlier branches matched (`AND NOT (…)`), and since
-- migration 0022 those conditions name both spellings' keys. So that each branch is still
-- answered from its index alone (no row lookup per candidate: the plain-key branches were
-- five times slower without it), every name index carries all four keys and the id.
DROP INDEX customers_last_name;
DROP INDEX customers_first_name;
DROP INDEX customers_last_name_plain;
DROP INDEX customers_first_name_plain;
CREATE INDEX customers_last_name ON customers (last_name_key, first_name_key, last_name_plain_key, first_name_plain_key, id);
CREATE INDEX customers_first_name ON customers (first_name_key, last_name_key, last_name_plain_key, first_name_plain_key, id);
CREATE INDEX customers_last_name_plain ON customers (last_name_plain_key, first_name_plain_key, last_name_key, first_name_key, id);
CREATE INDEX customers_first_name_plain ON customers (first_name_plain_key, last_name_plain_key, last_name_key, first_name_key, id);
