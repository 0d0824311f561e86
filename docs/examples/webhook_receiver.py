#!/usr/bin/env python3
"""A webhook receiver for Omnigate, standard library only: a start for a
helpdesk's own, and the one the tests run.

It checks each delivery's signature as docs/api.md says (HMAC-SHA256 with the
webhook's secret over "<Omnigate-Timestamp>.<body>", hex, in
"Omnigate-Signature: v1=<hex>"), refuses stale timestamps (replays), and
appends one JSON line per request to --log: the event id, the attempt, whether
the signature was valid, the status answered and the event. It answers the
status in --status-file (200 when there is none), so a test can make it fail.

Usage: webhook_receiver.py --port 8099 --secret SECRET --log deliveries.jsonl [--status-file F]
"""
import argparse, hashlib, hmac, json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 300  # seconds a timestamp may be off: older deliveries are refused as replays


def verify(secret, timestamp, body, header):
    """True when `header` (Omnigate-Signature) signs `timestamp` and `body` with `secret`."""
    if not header.startswith("v1=") or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[3:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--status-file")
    a = ap.parse_args()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep connections alive: a connection per delivery limits the rate

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            valid = verify(a.secret, self.headers.get("Omnigate-Timestamp", ""), body, self.headers.get("Omnigate-Signature", ""))
            status = 200
            if a.status_file and os.path.exists(a.status_file):
                status = int(open(a.status_file).read().strip() or "200")
            if not valid:
                status = 401
            try:
                event = json.loads(body)
            except ValueError:
                event = None
            with open(a.log, "a") as f:
                f.write(json.dumps({"event_id": self.headers.get("Omnigate-Event-Id"), "attempt": self.headers.get("Omnigate-Attempt"),
                                    "valid": valid, "status": status, "event": event}) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"listening on 127.0.0.1:{a.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
