#!/usr/bin/env python3
"""HTTP API under load, beside the same calls without it, in one run.

The gateway (release build) carries calls at --rate calls/s for --seconds
(trunk call -> Dial to an agent SIPp UAS -> bridge -> record, on a store of
--contacts contacts and --events events). Phases:

  calls     the calls alone: clean calls, CPU ms per call
  api       the same calls while --clients threads read call-record pages and
            lookups as fast as they can: API requests/s and p50/p99, and
            whether the calls stayed clean
  stream    --subscribers clients on the event stream while calls run: every
            subscriber's count of call.ended events, and the lag from a call's
            end to each subscriber's read, p50/p99
  webhooks  a local receiver answering 200: deliveries/s, and the lag from a
            call's end to its delivery, p50/p99

Usage: Benchmarks/api_load.py [--rate 200] [--seconds 20] [--clients 4] [--subscribers 500]
                              [--contacts 10000] [--events 100000] [--skip-build] [--help]
"""
import argparse, hashlib, http.client, json, os, statistics, subprocess, sys, tempfile, threading, time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_cps import ROOT, HZ, PORT, cpu_ticks, say, stat_row  # noqa: E402

API_PORT, AGENT_PORT, CALLER_PORT, HOOK_PORT = 5180, 5172, 5170, 5181
TOKEN = "bench-token-0123456789abcdefghijklmnop"
SCENARIO = os.path.join(ROOT, "Benchmarks/scenarios/uac-bench-caller.xml")
BINARY = os.path.join(ROOT, ".build/release/omnigate")


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def start_gateway(work, store, webhook=False):
    d = tempfile.mkdtemp(prefix="gateway-", dir=work)
    with open(os.path.join(d, "plan.conf"), "w") as f:
        f.write("[bench]\nexten => service,1,Answer()\n same => n,Dial(PJSIP/agent,30)\n")
    conf = os.path.join(d, "omnigate.conf")
    with open(conf, "w") as f:
        f.write(f"""[general]
log_level = warning
max_calls = 4000
[sip]
udp = 127.0.0.1:{PORT}
tcp = off
[store]
path = {store}
[dialplan]
path = {d}/plan.conf
[http]
listen = 127.0.0.1:{API_PORT}
max_connections = 2000
connections_per_address = 2000
[token bench]
role = admin
sha256 = {hashlib.sha256(TOKEN.encode()).hexdigest()}
[trunk bench]
match = 127.0.0.1
context = bench
[agent agent]
contact = sip:agent@127.0.0.1:{AGENT_PORT}
""")
        if webhook:
            f.write(f"[webhook bench]\nurl = http://127.0.0.1:{HOOK_PORT}/hook\nsecret = bench-secret-0123456789\n")
    log = open(os.path.join(d, "stderr.log"), "w")
    proc = subprocess.Popen([BINARY, "run", "--config", conf], stdout=log, stderr=subprocess.STDOUT, cwd=d)
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", API_PORT, timeout=1)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    sys.exit(f"the gateway did not start; see {log.name}")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_calls(work, rate, seconds, numbers):
    d = tempfile.mkdtemp(prefix="calls-", dir=work)
    calls = rate * seconds
    agent = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(AGENT_PORT), "-m", str(calls), "-nostdin"],
                             cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    subprocess.run(["sipp", "-sf", SCENARIO, f"127.0.0.1:{PORT}", "-s", "service", "-i", "127.0.0.1", "-p", str(CALLER_PORT),
                    "-r", str(rate), "-m", str(calls), "-l", "4000", "-d", "1000", "-inf", numbers, "-nostdin",
                    "-trace_stat", "-stf", "stat.csv"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    try:
        agent.wait(timeout=20)
    except subprocess.TimeoutExpired:
        agent.kill()
    s = stat_row(os.path.join(d, "stat.csv"))
    return int(s["SuccessfulCall(C)"]), int(s["FailedCall(C)"]), int(s["Retransmissions(C)"])


def api_client(stop_at, latencies, errors, numbers):
    c = http.client.HTTPConnection("127.0.0.1", API_PORT, timeout=10)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    cursor, i = "0", 0
    while time.time() < stop_at:
        i += 1
        path = f"/api/v1/calls?limit=100&cursor={cursor}" if i % 2 else f"/api/v1/lookup?q=%2B{numbers[i % len(numbers)][1:]}"
        t0 = time.perf_counter()
        try:
            c.request("GET", path, headers=headers)
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                errors.append(r.status)
            elif i % 2:
                cursor = json.loads(body)["next_cursor"]
        except OSError as e:
            errors.append(str(e))
            c = http.client.HTTPConnection("127.0.0.1", API_PORT, timeout=10)
            continue
        latencies.append((time.perf_counter() - t0) * 1000)


def subscriber(ready, lags, counts, index, stop_at):
    c = http.client.HTTPConnection("127.0.0.1", API_PORT, timeout=30)
    c.request("GET", "/api/v1/stream?topics=calls", headers={"Authorization": f"Bearer {TOKEN}"})
    r = c.getresponse()
    ready.release()
    n, event = 0, None
    while time.time() < stop_at:
        line = r.fp.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "call.ended":
            data = json.loads(line[6:])
            ended = datetime.fromisoformat(data["time"].replace("Z", "+00:00")).timestamp()
            lags.append((time.time() - ended) * 1000)
            n += 1
    counts[index] = n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--subscribers", type=int, default=500)
    ap.add_argument("--contacts", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--skip-build", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="api-bench-")
    if not a.skip_build:
        say("building omnigate (release)")
        subprocess.run(["swift", "build", "-c", "release", "--product", "omnigate"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    store = os.path.join(work, "store.sqlite")
    say(f"filling a store with {a.contacts} contacts and {a.events} events")
    subprocess.run([BINARY, "demo-data", "--contacts", str(a.contacts), "--events", str(a.events), "--store", store],
                   check=True, stderr=subprocess.DEVNULL)
    numbers_file = os.path.join(work, "numbers.csv")
    numbers = [f"+1{201 + (i // 10000) % 799}555{i % 10000:04d}" for i in range(min(a.contacts, 20000))]
    with open(numbers_file, "w") as f:
        f.write("SEQUENTIAL\n" + "".join(f"{n};\n" for n in numbers))
    rows = []

    proc = start_gateway(work, store)
    say(f"calls: {a.rate} calls/s for {a.seconds} s, no API load")
    c0 = cpu_ticks(proc.pid)
    ok, failed, retrans = run_calls(work, a.rate, a.seconds, numbers_file)
    cpu = (cpu_ticks(proc.pid) - c0) / HZ
    rows.append(("calls alone", ok, failed, retrans, 1000 * cpu / max(ok, 1), "-"))

    say(f"api: the same calls with {a.clients} API clients reading pages and lookups")
    latencies, errors = [], []
    stop_at = time.time() + a.seconds + 1
    threads = [threading.Thread(target=api_client, args=(stop_at, latencies, errors, numbers)) for _ in range(a.clients)]
    for t in threads:
        t.start()
    c0, t0 = cpu_ticks(proc.pid), time.time()
    ok, failed, retrans = run_calls(work, a.rate, a.seconds, numbers_file)
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    cpu = (cpu_ticks(proc.pid) - c0) / HZ
    api = f"{len(latencies) / elapsed:.0f} req/s, p50 {pct(latencies, 0.5):.2f} ms, p99 {pct(latencies, 0.99):.2f} ms, {len(errors)} errors"
    rows.append(("calls + API reads", ok, failed, retrans, 1000 * cpu / max(ok, 1), api))

    say(f"stream: {a.subscribers} subscribers while calls run")
    ready = threading.Semaphore(0)
    lags, counts = [], [0] * a.subscribers
    stop_at = time.time() + a.seconds + 30
    subs = [threading.Thread(target=subscriber, args=(ready, lags, counts, i, stop_at), daemon=True) for i in range(a.subscribers)]
    for t in subs:
        t.start()
    for _ in subs:
        ready.acquire()
    rate = max(1, a.rate // 4)
    ok, failed, retrans = run_calls(work, rate, a.seconds, numbers_file)
    deadline = time.time() + 20
    while len(lags) < ok * a.subscribers and time.time() < deadline:
        time.sleep(0.2)
    stream = (f"{len(lags)} of {ok * a.subscribers} call.ended read, lag p50 {pct(lags, 0.5):.1f} ms, p99 {pct(lags, 0.99):.1f} ms")
    rows.append((f"{a.subscribers} stream subscribers ({rate} calls/s)", ok, failed, retrans, float("nan"), stream))
    stop(proc)

    say("webhooks: a local receiver answering 200")
    received = []

    class Hook(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver would

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            record = json.loads(body)["data"]
            received.append((time.time(), datetime.fromisoformat(record["end"].replace("Z", "+00:00")).timestamp()))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proc = start_gateway(work, store, webhook=True)
    time.sleep(2)  # the webhook's cursor starts now
    ok, failed, retrans = run_calls(work, a.rate, a.seconds, numbers_file)
    deadline = time.time() + 60
    while len(received) < ok and time.time() < deadline:
        time.sleep(0.2)
    stop(proc)
    server.shutdown()
    hook_lags = [(got - ended) * 1000 for got, ended in received]
    span = (max(g for g, _ in received) - min(g for g, _ in received)) if received else 0
    hooks = (f"{len(received)} of {ok} delivered, {len(received) / span if span else 0:.0f}/s, "
             f"lag p50 {pct(hook_lags, 0.5):.0f} ms, p99 {pct(hook_lags, 0.99):.0f} ms")
    rows.append(("calls + webhook", ok, failed, retrans, float("nan"), hooks))

    print()
    print(f"{'phase':36} {'ok':>6} {'failed':>6} {'retrans':>7} {'CPU ms/call':>11}  API")
    for name, ok, failed, retrans, cpu, api in rows:
        print(f"{name:36} {ok:>6} {failed:>6} {retrans:>7} {cpu:>11.2f}  {api}")
    print(f"\nwork: {work}")


if __name__ == "__main__":
    main()
