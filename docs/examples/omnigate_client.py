#!/usr/bin/env python3
"""A client for Omnigate's HTTP API, standard library only: a start for a
helpdesk or a chat system's own (docs/api.md has every endpoint).

  omnigate_client.py calls   [--follow]            print call records as JSON lines, oldest first;
                                                    with --follow, keep printing new ones as calls end
  omnigate_client.py lookup  NUMBER|EMAIL          the screen pop for a customer
  omnigate_client.py event   SOURCE REF ADDRESS SUBJECT
                                                    put a chat or email interaction on the customer's timeline
  omnigate_client.py stream  [--topics calls]       print the live event stream

The API's address and token come from OMNIGATE_URL (default http://127.0.0.1:8080)
and OMNIGATE_TOKEN. The cursor of `calls --follow` is kept in --state (a file),
so a restarted helpdesk job goes on where it stopped without missing a call.
"""
import argparse, json, os, sys, time, urllib.error, urllib.parse, urllib.request


class Omnigate:
    def __init__(self, url=None, token=None):
        self.url = (url or os.environ.get("OMNIGATE_URL", "http://127.0.0.1:8080")).rstrip("/")
        self.token = token or os.environ.get("OMNIGATE_TOKEN", "")

    def request(self, method, path, body=None, accept="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Accept": accept,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            problem = json.loads(error.read() or b"{}")
            raise SystemExit(f"{method} {path}: {error.code} {problem.get('title', '')}: {problem.get('detail', '')}")

    def call_records(self, cursor="0", follow=False, limit=100):
        """Yields (record, cursor) in the order calls ended, each exactly once. The cursor is
        given with a page's last record only (else None): keep it once that record is handled."""
        while True:
            page = self.request("GET", f"/api/v1/calls?limit={limit}&cursor={urllib.parse.quote(cursor)}")
            records = page["records"]
            for index, record in enumerate(records):
                yield record, page["next_cursor"] if index == len(records) - 1 else None
            cursor = page["next_cursor"]
            if not page["more"]:
                if not follow:
                    return
                time.sleep(2)

    def lookup(self, query):
        return self.request("GET", "/api/v1/lookup?q=" + urllib.parse.quote(query))

    def add_events(self, events):
        """Stores events all or nothing; a retry of the same (source, external_ref) is harmless."""
        return self.request("POST", "/api/v1/events", {"events": events})

    def stream(self, topics=None, last_event_id=None):
        """Yields (id, event, data) from the live stream, reconnecting after Last-Event-ID."""
        while True:
            query = f"?topics={topics}" if topics else ""
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
            if last_event_id:
                headers["Last-Event-ID"] = last_event_id
            try:
                with urllib.request.urlopen(urllib.request.Request(self.url + "/api/v1/stream" + query, headers=headers)) as response:
                    event_id, name = None, None
                    for raw in response:
                        line = raw.decode().rstrip("\n")
                        if line.startswith("id: "):
                            event_id = line[4:]
                        elif line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: "):
                            last_event_id = event_id or last_event_id
                            yield event_id, name, json.loads(line[6:])
            except (urllib.error.URLError, ConnectionError):
                time.sleep(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    calls = sub.add_parser("calls")
    calls.add_argument("--follow", action="store_true")
    calls.add_argument("--state", help="a file keeping the cursor between runs")
    lookup = sub.add_parser("lookup")
    lookup.add_argument("query")
    event = sub.add_parser("event")
    for name in ["source", "ref", "address", "subject"]:
        event.add_argument(name)
    stream = sub.add_parser("stream")
    stream.add_argument("--topics")
    a = ap.parse_args()
    api = Omnigate()
    if a.command == "calls":
        cursor = open(a.state).read().strip() if a.state and os.path.exists(a.state) else "0"
        for record, cursor in api.call_records(cursor, follow=a.follow):
            print(json.dumps(record), flush=True)
            if a.state and cursor is not None:
                with open(a.state, "w") as f:
                    f.write(cursor)
    elif a.command == "lookup":
        print(json.dumps(api.lookup(a.query), indent=2))
    elif a.command == "event":
        print(api.add_events([{"source": a.source, "external_ref": a.ref, "address": a.address, "subject": a.subject,
                               "channel": "chat"}]))
    else:
        for event_id, name, data in api.stream(a.topics):
            print(event_id, name, json.dumps(data), flush=True)


if __name__ == "__main__":
    main()
