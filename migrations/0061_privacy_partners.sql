-- Registered partners for anonymised insight sharing (crates/privacy, sharing.rs and dp.rs).
--
-- `privacy_partners`: the partners the privacy officer has registered — who they are, whom to
-- contact, and the legal agreement (data-sharing agreement) the disclosures rest on. Shares and
-- differentially private releases must name one of them, so a new spelling of a partner's name
-- can no longer open a fresh privacy budget: `name_key` is the name in lower case with its
-- spacing collapsed, and it is unique.
--
-- `privacy_partner_shares.partner_id`: the registered partner of a share, release or budget
-- grant. The privacy budget is counted per `partner_id`. Releases written before this migration
-- (free-text partners, no id) are attached to a partner when it is registered under the same
-- name up to case and spacing, so what was spent keeps counting; their budget rows are not.
CREATE TABLE privacy_partners (
    id            {{key_text}} PRIMARY KEY,
    name          TEXT NOT NULL,
    name_key      {{key_text}} NOT NULL UNIQUE,
    contact       TEXT NOT NULL,
    agreement_ref TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL
);
ALTER TABLE privacy_partner_shares ADD COLUMN partner_id TEXT;
CREATE INDEX privacy_partner_shares_partner_id ON privacy_partner_shares (partner_id, kind);
