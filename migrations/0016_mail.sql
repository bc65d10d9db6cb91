-- Outgoing e-mail (crate `aloft-mail`). A message is rendered when it is queued, in the
-- transaction of the change that causes it, together with its `mail.send` job; the idempotency
-- key (one per causing event) makes queueing the same message twice a no-op. `delivered_at` is
-- stamped once the SMTP server accepted the message (or, without SMTP, once the development
-- catcher kept it: `delivered_via = 'catcher'`); the job checks it before sending, so a retried
-- job never sends a message twice.
CREATE TABLE mail_messages (
    id              {{key_text}} PRIMARY KEY,
    idempotency_key {{key_text}} NOT NULL UNIQUE,
    template        TEXT NOT NULL,
    language        TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT,
    queued_at       TEXT NOT NULL,
    delivered_at    TEXT,
    delivered_via   TEXT CHECK (delivered_via IN ('smtp', 'catcher'))
);
-- The development catcher lists what it kept, newest first.
CREATE INDEX mail_messages_caught ON mail_messages (delivered_at) WHERE delivered_via = 'catcher';
