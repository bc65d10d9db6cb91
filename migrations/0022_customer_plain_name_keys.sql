-- Name search keys as a keyboard without umlauts spells them ("Müller" → muller), beside the
-- ICAO-folded keys in first_name_key/last_name_key ("Müller" → mueller, as a PNR spells it), so
-- that "Müller", "Mueller", "Muller" and "mull" all find Müller (aloft_vocab::fold,
-- customers::model::name_key_variants). NULL marks a row written before this migration: start-up
-- re-derives both keys of such rows from the profile (CustomerStore::seal_plaintext_rows).
ALTER TABLE customers ADD COLUMN first_name_plain_key {{key_text}};
ALTER TABLE customers ADD COLUMN last_name_plain_key {{key_text}};
-- Cover the plain-spelling name search like customers_last_name/customers_first_name do.
CREATE INDEX customers_last_name_plain ON customers (last_name_plain_key, first_name_plain_key, id);
CREATE INDEX customers_first_name_plain ON customers (first_name_plain_key, last_name_plain_key, id);
