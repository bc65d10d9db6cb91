-- Customer profiles.
-- `profile` holds the validated profile document (JSON, snake_case, as served by the API).
-- The *_key columns are derived search keys (normalised: case- and accent-folded names,
-- canonical e-mail/phone/document numbers) so that look-ups use plain B-tree indexes on both
-- backends. They are never shown; they are rebuilt from `profile` whenever it changes.
CREATE TABLE customers (
    id             {{key_text}} PRIMARY KEY,
    version        BIGINT NOT NULL,
    profile        TEXT NOT NULL,
    first_name_key {{key_text}} NOT NULL,
    last_name_key  {{key_text}} NOT NULL,
    email_key      {{key_text}},
    phone_key      {{key_text}},
    loyalty_key    {{key_text}},
    passport_key   {{key_text}},
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
-- Name indexes cover the name search (keys + id) so it is answered from the index alone.
CREATE INDEX customers_last_name ON customers (last_name_key, first_name_key, id);
CREATE INDEX customers_first_name ON customers (first_name_key, last_name_key, id);
CREATE INDEX customers_email ON customers (email_key);
CREATE INDEX customers_phone ON customers (phone_key);
CREATE UNIQUE INDEX customers_loyalty ON customers (loyalty_key);
CREATE INDEX customers_passport ON customers (passport_key);
