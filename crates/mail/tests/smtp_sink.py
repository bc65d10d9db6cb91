"""A real SMTP server on loopback for aloft-mail's tests (aiosmtpd).

Usage: python3 smtp_sink.py PORT OUTFILE [REJECT]

Appends every accepted message to OUTFILE as one JSON line (envelope sender and recipients,
decoded subject, Message-ID, plain-text and HTML parts). With REJECT (e.g. "550 5.7.1 Refused
by policy") every message is refused at DATA with that reply instead. Prints READY once the
server accepts connections, and stops when its standard input closes (the test ended).
"""

import email
import email.policy
import json
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path, reject):
        self.path = path
        self.reject = reject

    async def handle_DATA(self, server, session, envelope):
        if self.reject:
            return self.reject
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "message_id": str(msg["message-id"]),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    reject = sys.argv[3] if len(sys.argv) > 3 else None
    controller = Controller(Sink(path, reject), hostname="127.0.0.1", port=port)
    controller.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
