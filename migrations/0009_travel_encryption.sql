-- Encryption at rest of what people wrote and how they paid (crates/travel/src/sealing.rs).
-- `travel_records.document` now holds the plain part of a record; `sealed` is a JSON object of
-- field name → AES-GCM ciphertext under the customer's data key (interaction subjects and
-- bodies, feedback text, chauffeur addresses, payment references); `digest` is a keyed digest
-- of the whole plaintext document, which is how a re-sent record is recognised. Rows written
-- before this migration have no digest and are converted by the application at start-up
-- (`TravelStore::seal_plaintext_rows`).
ALTER TABLE travel_records ADD COLUMN sealed TEXT;
ALTER TABLE travel_records ADD COLUMN digest TEXT;
-- An interaction's subject shown on its timeline line, encrypted like the record's fields.
ALTER TABLE timeline ADD COLUMN detail TEXT;
