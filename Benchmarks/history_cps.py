#!/usr/bin/env python3
"""Calls per second from one repeating number with a long history, beside calls
from fresh numbers, in the same run on the same gateway and store.

The store holds a contact whose number has --history events (1,000,000 by
default; other programs' events, written as the store contract says, with plain
SQL). Each call runs a dialplan that reads the caller's context the way routing
does (CONTACT(interactions), CONTACT(last_agent), CONTACT(open_items)), answers,
holds --hold ms and is hung up by SIPp; every call also writes its record and a
voice event onto that same history, so it keeps growing during the run.

Phases alternate, --rounds times: SIPp offers --rate calls/s for --seconds from
the repeating number, then from fresh numbers (each call a number never seen).
For each phase it prints calls completed per second, failures, and the
gateway's CPU time per call (utime+stime from /proc). Target: the two within
10 % of each other. With --compare BINARY, a second omnigate binary (an older
build, say) runs the same phases on the same kind of store (made by that binary,
so in its own schema), for a before/after.

Usage: Benchmarks/history_cps.py [--history 1000000] [--rate 100] [--seconds 20] [--rounds 2]
                                 [--hold 1000] [--compare BINARY] [--skip-build] [--help]
"""
import argparse, os, random, shutil, signal, sqlite3, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_cps import ROOT, HZ, PORT, SIPP_PORT, cpu_ticks, say, stat_row  # noqa: E402

SCENARIO = os.path.join(ROOT, "Benchmarks/scenarios/uac-bench-caller.xml")
REPEATING = "+14155559000"
PLAN = """[bench]
exten => service,1,Set(SEEN=${CONTACT(interactions)})
 same => n,Set(LAST=${CONTACT(last_agent)})
 same => n,Set(OPEN=${CONTACT(open_items)})
 same => n,Answer()
 same => n,Wait(30)
"""


def make_store(binary, directory, history):
    """A store made by `binary` itself (its own schema) whose repeating number has `history` events."""
    store = os.path.join(directory, "store.sqlite")
    contacts = os.path.join(directory, "contacts.csv")
    with open(contacts, "w") as f:
        f.write(f"id,name,tier,phone\nregular,Repeat Caller,gold,{REPEATING}\n")
    subprocess.run([binary, "import", "contacts", contacts, "--store", store], check=True, stderr=subprocess.DEVNULL)
    say(f"writing {history:,} events onto {REPEATING}'s history (plain SQL, as another program would)")
    db = sqlite3.connect(store)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    rng = random.Random(7)
    now = int(time.time() * 1000)
    channels = ["chat", "email", "voice", "sms", "note", "social"]
    done = 0
    while done < history:
        n = min(50_000, history - done)
        rows = [("regular", REPEATING, rng.choice(channels), "in", now - rng.randrange(180 * 86_400_000), "History",
                 "open" if rng.random() < 0.08 else "closed", f"agent{rng.randrange(40)}" if rng.random() < 0.25 else None,
                 "history") for _ in range(n)]
        with db:
            db.executemany("INSERT INTO events (contact_id, address, channel, direction, occurred_at, subject, status, agent, source) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        done += n
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return store


class Gateway:
    def __init__(self, binary, store, work):
        self.binary, self.store, self.work = binary, store, work

    def start(self):
        with open(os.path.join(self.work, "bench.conf"), "w") as f:
            f.write(PLAN)
        conf = os.path.join(self.work, "omnigate.conf")
        with open(conf, "w") as f:
            f.write(f"[general]\nlog_level = warning\nmax_calls = 4000\n[sip]\nudp = 127.0.0.1:{PORT}\ntcp = off\n"
                    f"[store]\npath = {self.store}\n[dialplan]\npath = {self.work}/bench.conf\n"
                    f"[trunk bench]\nmatch = 127.0.0.1\ncontext = bench\n")
        self.log = open(os.path.join(self.work, "stderr.log"), "w")
        self.proc = subprocess.Popen([self.binary, "run", "--config", conf], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.work)
        # Ready when a call goes through (the log is at warning level: no "ready" line).
        for _ in range(200):
            if self.proc.poll() is not None:
                sys.exit(f"{self.binary} exited at start; see {self.log.name}")
            probe = subprocess.run(["sipp", "-sn", "uac", f"127.0.0.1:{PORT}", "-i", "127.0.0.1", "-p", str(SIPP_PORT), "-m", "1",
                                    "-d", "10", "-nostdin", "-timeout", "2s", "-timeout_error"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.work)
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        sys.exit(f"{self.binary} did not answer a call within 40 s")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def phase(gateway, numbers, rate, seconds, hold, work, label):
    """SIPp offers `rate` calls/s for `seconds`; returns (completed per second, failed, CPU ms per call)."""
    calls = rate * seconds
    injection = os.path.join(work, f"{label}.csv")
    with open(injection, "w") as f:
        f.write("SEQUENTIAL\n" + "".join(f"{n};\n" for n in numbers(calls)))
    d = tempfile.mkdtemp(prefix=label + "-", dir=work)
    before = cpu_ticks(gateway.proc.pid)
    start = time.time()
    subprocess.run(["sipp", "-sf", SCENARIO, f"127.0.0.1:{PORT}", "-i", "127.0.0.1", "-p", str(SIPP_PORT), "-s", "service",
                    "-inf", injection, "-r", str(rate), "-m", str(calls), "-l", str(rate * 4), "-d", str(hold), "-nostdin",
                    "-timeout", f"{seconds * 3 + 30}s", "-trace_stat", "-stf", os.path.join(d, "stat.csv")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)
    elapsed = time.time() - start - hold / 1000
    used = cpu_ticks(gateway.proc.pid) - before
    row = stat_row(os.path.join(d, "stat.csv"))
    ok, failed = int(row["SuccessfulCall(C)"]), int(row["FailedCall(C)"])
    return ok / elapsed, failed, used * 1000 / HZ / max(1, ok)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--hold", type=int, default=1000)
    parser.add_argument("--compare", help="another omnigate binary to run the same phases, on a copy of the store")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    if not args.skip_build:
        say("building omnigate (release)")
        subprocess.run(["swift", "build", "-c", "release", "--product", "omnigate"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="history-cps-")
    try:
        fresh_counter = [0]

        def fresh(n):
            # Numbers no one has called from: +1 212 NXX XXXX across exchanges 200-999.
            out = []
            for _ in range(n):
                i = fresh_counter[0]
                fresh_counter[0] += 1
                out.append(f"+1212{200 + i // 10_000 % 800}{i % 10_000:04d}")
            return out

        targets = [("omnigate", os.path.join(ROOT, ".build/release/omnigate"))]
        if args.compare:
            targets.append(("compare", os.path.abspath(args.compare)))
        print(f"calls/s from one number with {args.history:,} events beside fresh numbers; offered {args.rate}/s for "
              f"{args.seconds} s per phase, {args.hold} ms hold, {os.cpu_count()} cores (shared machine: compare within a run)")
        print(f"{'binary':<10} {'round':>5}  {'caller':<10} {'completed/s':>11} {'failed':>6} {'CPU ms/call':>11}")
        for name, binary in targets:
            d = tempfile.mkdtemp(prefix=name + "-", dir=work)
            gateway = Gateway(binary, make_store(binary, d, args.history), d)
            gateway.start()
            results = {"repeating": [], "fresh": []}
            for r in range(1, args.rounds + 1):
                for caller, numbers in [("fresh", fresh), ("repeating", lambda n: [REPEATING] * n)]:
                    cps, failed, cpu = phase(gateway, numbers, args.rate, args.seconds, args.hold, d, f"{caller}-{r}")
                    results[caller].append((cps, cpu))
                    print(f"{name:<10} {r:>5}  {caller:<10} {cps:>11.1f} {failed:>6} {cpu:>11.2f}", flush=True)
            gateway.stop()
            rep = sum(c for c, _ in results["repeating"]) / len(results["repeating"])
            fre = sum(c for c, _ in results["fresh"]) / len(results["fresh"])
            rep_cpu = sum(c for _, c in results["repeating"]) / len(results["repeating"])
            fre_cpu = sum(c for _, c in results["fresh"]) / len(results["fresh"])
            print(f"{name:<10} mean   repeating {rep:.1f}/s ({rep_cpu:.2f} ms CPU/call) vs fresh {fre:.1f}/s ({fre_cpu:.2f} ms): "
                  f"{100 * (rep - fre) / fre:+.1f} % calls/s, {100 * (rep_cpu - fre_cpu) / fre_cpu:+.1f} % CPU per call")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
