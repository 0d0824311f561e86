#!/usr/bin/env python3
"""Soak: the whole gateway at --rate calls/s for --minutes (30 by default),
resident memory sampled every 10 s, then --idle seconds without calls.

Each call comes from a customer's number or an unknown one (mixed), reads the
caller's context with CONTACT(), is answered, held --hold ms and hung up by
SIPp, and leaves a call record and a voice event in a store of --contacts
contacts and --events events. It prints one line per sample (minute, RSS MB,
gateway CPU % of one core) and a summary set against baselines measured in the
same run: RSS idle before the load, the mean of the second ten minutes beside
the mean of the last ten (the target: no growth between them), the slope over
the second half, and RSS after the idle period (memory returned: malloc_trim
every 10 s once PJSIP has released each call's transactions, 32 s after its
BYE). It ends by counting call records against SIPp's completed calls.

Usage: Benchmarks/soak.py [--rate 200] [--minutes 30] [--hold 1000] [--idle 90]
                          [--contacts 10000] [--events 100000] [--csv FILE] [--skip-build] [--help]
"""
import argparse, os, random, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_cps import ROOT, HZ, PORT, SIPP_PORT, cpu_ticks, rss_kb, say, stat_row  # noqa: E402

SCENARIO = os.path.join(ROOT, "Benchmarks/scenarios/uac-bench-caller.xml")
PLAN = """[bench]
exten => service,1,Set(SEEN=${CONTACT(interactions)})
 same => n,Answer()
 same => n,Wait(60)
"""


def mean(values):
    return sum(values) / len(values) if values else 0.0


def slope(points):
    """Least-squares slope of (x, y) points."""
    n = len(points)
    if n < 2:
        return 0.0
    mx, my = mean([x for x, _ in points]), mean([y for _, y in points])
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--hold", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=90)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--csv", help="also write the samples to this CSV file")
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    binary = os.path.join(ROOT, ".build/release/omnigate")
    if not args.skip_build:
        say("building omnigate (release)")
        subprocess.run(["swift", "build", "-c", "release", "--product", "omnigate"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="soak-")
    try:
        store = os.path.join(work, "store.sqlite")
        say(f"demo store: {args.contacts:,} contacts, {args.events:,} events")
        subprocess.run([binary, "demo-data", "--contacts", str(args.contacts), "--events", str(args.events), "--store", store],
                       check=True, stderr=subprocess.DEVNULL)
        # Callers: three in four are customers (national format, as a trunk sends them), one in four unknown.
        rng = random.Random(11)
        calls = int(args.rate * args.minutes * 60)
        with open(os.path.join(work, "callers.csv"), "w") as f:
            f.write("SEQUENTIAL\n")
            for i in range(min(calls, 200_000)):
                if rng.random() < 0.75:
                    n = rng.randrange(args.contacts)
                    f.write(f"+1{201 + n // 10_000 % 799}555{n % 10_000:04d};\n")
                else:
                    f.write(f"+1212{200 + i // 10_000 % 800}{i % 10_000:04d};\n")
        with open(os.path.join(work, "bench.conf"), "w") as f:
            f.write(PLAN)
        conf = os.path.join(work, "omnigate.conf")
        with open(conf, "w") as f:
            f.write(f"[general]\nlog_level = warning\nmax_calls = 4000\n[sip]\nudp = 127.0.0.1:{PORT}\ntcp = off\n"
                    f"[store]\npath = {store}\n[dialplan]\npath = {work}/bench.conf\n[trunk bench]\nmatch = 127.0.0.1\ncontext = bench\n")
        log = open(os.path.join(work, "omnigate.log"), "w")
        proc = subprocess.Popen([binary, "run", "--config", conf], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=work)
        time.sleep(3)
        if proc.poll() is not None:
            sys.exit(f"omnigate exited at start; see {log.name}")
        idle_before = rss_kb(proc.pid) / 1024
        print(f"soak: {args.rate} calls/s for {args.minutes:g} min ({calls:,} calls, {args.hold} ms hold), then {args.idle} s idle; "
              f"RSS every 10 s; {os.cpu_count()} cores, shared machine")
        print(f"RSS idle before the load: {idle_before:.1f} MB")
        print(f"{'minute':>7} {'RSS MB':>8} {'CPU %':>6}")
        sipp_dir = tempfile.mkdtemp(prefix="sipp-", dir=work)
        sipp = subprocess.Popen(["sipp", "-sf", SCENARIO, f"127.0.0.1:{PORT}", "-i", "127.0.0.1", "-p", str(SIPP_PORT), "-s", "service",
                                 "-inf", os.path.join(work, "callers.csv"), "-r", str(args.rate), "-m", str(calls),
                                 "-l", str(args.rate * 5), "-d", str(args.hold), "-nostdin", "-trace_stat",
                                 "-stf", os.path.join(sipp_dir, "stat.csv"), "-fd", "10"],
                                stdout=open(os.path.join(work, "sipp.out"), "w"), stderr=subprocess.STDOUT, cwd=sipp_dir)
        start = time.time()
        samples = []  # (seconds since start, RSS MB, CPU %)
        last_cpu, last_t = cpu_ticks(proc.pid), start
        while sipp.poll() is None or time.time() - start < 10:
            time.sleep(10 - (time.time() - start) % 10)
            now, cpu = time.time(), cpu_ticks(proc.pid)
            sample = (now - start, rss_kb(proc.pid) / 1024, 100 * (cpu - last_cpu) / HZ / (now - last_t))
            last_cpu, last_t = cpu, now
            samples.append(sample)
            print(f"{sample[0] / 60:>7.2f} {sample[1]:>8.1f} {sample[2]:>6.1f}", flush=True)
        load_end = time.time()
        if load_end - start < args.minutes * 60 - 30:
            with open(os.path.join(work, "sipp.out"), errors="replace") as f:
                tail = f.read()[-3000:]
            print(f"SIPp stopped after {(load_end - start) / 60:.1f} min (exit {sipp.returncode}); its last output:\n{tail}", flush=True)
        idle_samples = []
        while time.time() - load_end < args.idle:
            time.sleep(10)
            idle_samples.append((time.time() - load_end, rss_kb(proc.pid) / 1024))
            print(f"   idle +{idle_samples[-1][0]:>3.0f} s {idle_samples[-1][1]:>8.1f}", flush=True)
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        row = stat_row(os.path.join(sipp_dir, "stat.csv"))
        records = subprocess.run([binary, "calls", "--store", store, "--format", "csv"], capture_output=True, text=True).stdout
        if args.csv:
            with open(args.csv, "w") as f:
                f.write("seconds,rss_mb,cpu_percent\n" + "".join(f"{t:.0f},{r:.1f},{c:.1f}\n" for t, r, c in samples))
        minutes = args.minutes
        second = [r for t, r, _ in samples if minutes / 3 * 60 <= t < 2 * minutes / 3 * 60]
        last = [r for t, r, _ in samples if t >= 2 * minutes / 3 * 60 and t <= minutes * 60]
        half = [(t / 60, r) for t, r, _ in samples if minutes / 2 * 60 <= t <= minutes * 60]
        peak = max(r for _, r, _ in samples)
        print(f"summary ({load_end - start:.0f} s of load):")
        print(f"  RSS idle before the load           {idle_before:8.1f} MB")
        print(f"  RSS mean, minutes {minutes / 3:g}-{2 * minutes / 3:g}          {mean(second):8.1f} MB")
        print(f"  RSS mean, minutes {2 * minutes / 3:g}-{minutes:g}          {mean(last):8.1f} MB   "
              f"({mean(last) - mean(second):+.1f} MB, {100 * (mean(last) - mean(second)) / max(1, mean(second)):+.1f} % from the second ten)")
        print(f"  slope over the second half         {slope(half):+8.2f} MB/min")
        print(f"  RSS peak                           {peak:8.1f} MB")
        if idle_samples:
            print(f"  RSS after {idle_samples[-1][0]:.0f} s idle               {idle_samples[-1][1]:8.1f} MB   "
                  f"({idle_samples[-1][1] - idle_before:+.1f} MB from idle before)")
        print(f"  calls completed {int(row['SuccessfulCall(C)']):,}, failed {int(row['FailedCall(C)']):,}, "
              f"retransmissions {int(row['Retransmissions(C)']):,}; call records {max(0, len(records.splitlines()) - 1):,}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
