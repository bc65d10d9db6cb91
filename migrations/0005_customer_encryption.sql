-- Encryption of customers' sensitive fields at rest (see crates/customers/src/sealing.rs).
-- `data_key`: the customer's data key wrapped by the master key (`<key id>:<base64>`); destroying
-- it makes `sealed` unreadable (crypto-shredding). `sealed`: JSON object of field name → AES-GCM
-- ciphertext. From now on `email_key`, `phone_key`, `loyalty_key` and `passport_key` hold blind
-- indexes (keyed HMAC), not the values; rows written before this migration are converted by the
-- application at start-up (`CustomerStore::seal_plaintext_rows`).
ALTER TABLE customers ADD COLUMN data_key TEXT;
ALTER TABLE customers ADD COLUMN sealed TEXT;
