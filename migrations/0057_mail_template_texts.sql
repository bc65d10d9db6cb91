-- mail_template_texts: the CMP manager's own texts of the shipped mail templates
-- (aloft_mail::editor), per template and language, every version kept. The newest version of
-- a (template, language) applies; a version without a subject returns to the shipped text.
-- Texts hold placeholders, never a passenger's data.
CREATE TABLE mail_template_texts (
    template    TEXT NOT NULL,
    language    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    subject     TEXT,
    text_body   TEXT,
    html_body   TEXT,
    saved_by    TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    PRIMARY KEY (template, language, version)
);
