"""A webhook receiver as a Stripe integration writes one, run as its own process by the compat tests.

    python tests/compat/stripe_receiver.py <port> <webhook secret> <output file>

Each POST is checked with `stripe.Webhook.construct_event` (the official SDK's verification: the
`Stripe-Signature` header, the timestamp tolerance, then the body parsed as an Event). A verified event is
appended to the output file as one JSON line `{"id", "type", "object"}` and answered 200; anything else
is answered 400 and recorded as `{"error": ...}`.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stripe


def main() -> None:
    port, secret, output = int(sys.argv[1]), sys.argv[2], sys.argv[3]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
            payload = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                event = stripe.Webhook.construct_event(payload, self.headers.get("stripe-signature"), secret)
                line = {"id": event.id, "type": event.type, "object": event.data.object.object}
                status = 200
            except (ValueError, stripe.SignatureVerificationError) as exc:
                line, status = {"error": f"{type(exc).__name__}: {exc}"}, 400
            with open(output, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
