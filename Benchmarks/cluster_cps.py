#!/usr/bin/env python3
"""Calls per second through Kamailio in front of 1, 2 and 3 gateways sharing one
PostgreSQL store (scripts/cluster.sh: the same set a trial runs), beside one gateway
called directly on its own SQLite store, in the same run.

Each call: SIPp INVITE -> Kamailio (dispatcher, round robin) -> a gateway answers ->
the caller hangs up after --hold ms -> the call record and the caller's voice event
are written to the store. Per set and offered rate it prints completed and failed
calls, retransmissions, and CPU time per call of the gateways, Kamailio and
PostgreSQL (from /proc). "Clean" means no failed call and no retransmission.
Everything runs on this machine: its cores are shared by SIPp, Kamailio, PostgreSQL
and every gateway, so they are the limit, not the number of gateways.

Usage: Benchmarks/cluster_cps.py [--rates "50 100 200"] [--gateways "1 2 3"] [--seconds 15]
                                 [--hold 2000] [--help]
Needs scripts/setup.sh and a release build (swift build -c release --product omnigate).
"""
import argparse, os, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "Tests/Scenarios/uac-via-proxy.xml")
HZ = os.sysconf("SC_CLK_TCK")
PORT = 27160


def say(text):
    print(f"[cluster-cps] {text}", file=sys.stderr, flush=True)


def cpu_ticks(pattern):
    """utime + stime of every process whose command line contains `pattern`."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if pattern.encode() not in f.read():
                    continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def sipp(target, rate, seconds, hold, port, directory):
    calls = rate * seconds
    stat = os.path.join(directory, f"sipp-{rate}.csv")
    subprocess.run(["sipp", "-sf", SCENARIO, target, "-s", "100", "-i", "127.0.0.1", "-p", str(port),
                    "-r", str(rate), "-m", str(calls), "-d", str(hold), "-l", str(rate * (hold // 1000 + 4)),
                    "-nostdin", "-timeout", f"{seconds + hold // 1000 + 30}s", "-timeout_error",
                    "-trace_stat", "-stf", stat], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(stat) as f:
        lines = f.read().splitlines()
    head, last = lines[0].split(";"), lines[-1].split(";")
    row = dict(zip(head, last))
    return int(row["SuccessfulCall(C)"]), int(row["FailedCall(C)"]), int(row["Retransmissions(C)"])


def measure(label, target, patterns, rates, seconds, hold, directory):
    for rate in rates:
        before = {name: cpu_ticks(p) for name, p in patterns.items()}
        ok, failed, retrans = sipp(target, rate, seconds, hold, PORT + 90, directory)
        cpu = {name: (cpu_ticks(p) - before[name]) / HZ for name, p in patterns.items()}
        per_call = "  ".join(f"{name} {cpu[name] * 1000 / max(1, ok):.2f}" for name in patterns)
        clean = "clean" if failed == 0 and retrans == 0 else "NOT clean"
        print(f"  {label:<28} {rate:>4} calls/s offered: {ok:>5} completed, {failed:>3} failed, {retrans:>4} retrans  "
              f"{clean:<9}  CPU ms/call: {per_call}", flush=True)


def wait_for(log, text, process, seconds=60):
    """Waits until `log` holds `text`; exits with the log when `process` ends first."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        with open(log) as f:
            content = f.read()
        if text in content:
            return
        if process.poll() is not None:
            sys.exit(f"cluster-cps: a process stopped at start:\n{content}")
        time.sleep(0.2)
    sys.exit(f"cluster-cps: '{text}' not seen in {log} within {seconds} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="50 100 200")
    parser.add_argument("--gateways", default="1 2 3")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--hold", type=int, default=2000)
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split()]
    binary = os.path.join(ROOT, ".build/release/omnigate")
    if not os.access(binary, os.X_OK):
        sys.exit("cluster-cps: build first: swift build -c release --product omnigate")
    work = tempfile.mkdtemp(prefix="cluster-cps-")
    os.chmod(work, 0o755)  # PostgreSQL runs as the postgres user when started by root
    plans = os.path.join(work, "Dialplans")
    os.makedirs(plans)
    with open(os.path.join(plans, "extensions.conf"), "w") as f:
        f.write("[from-trunk]\nexten => _[a-z0-9+].,1,Answer()\n same => n,Wait(120)\n")
    print(f"cluster-cps: {os.cpu_count()} cores shared by SIPp, Kamailio, PostgreSQL and the gateways; "
          f"{args.seconds} s per rate, calls held {args.hold} ms")
    try:
        # Baseline: one gateway called directly, on its own SQLite store.
        d = os.path.join(work, "direct")
        os.makedirs(d)
        with open(os.path.join(d, "omnigate.conf"), "w") as f:
            f.write(f"[sip]\nudp = 127.0.0.1:{PORT + 50}\ntcp = off\n"
                    f"[trunk bench]\nmatch = 127.0.0.1\ncontext = from-trunk\n[store]\npath = {d}/store.sqlite\n"
                    f"[dialplan]\npath = {plans}\n[http]\nlisten = off\n")
        gateway = subprocess.Popen([binary, "run", "--config", os.path.join(d, "omnigate.conf")],
                                   stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "gateway.log"), "w"))
        try:
            wait_for(os.path.join(d, "gateway.log"), "omnigate: ready", gateway)
            measure("1 gateway, direct, SQLite", f"127.0.0.1:{PORT + 50}", {"gateway": f"{d}/omnigate.conf"},
                    rates, args.seconds, args.hold, d)
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=30)
        for n in [int(g) for g in args.gateways.split()]:
            d = os.path.join(work, f"set-{n}")
            say(f"starting {n} gateway(s) behind Kamailio on PostgreSQL")
            log = open(os.path.join(work, f"cluster-{n}.log"), "w")
            cluster = subprocess.Popen([os.path.join(ROOT, "scripts/cluster.sh"), "--gateways", str(n), "--port", str(PORT),
                                        "--dir", d, "--dialplans", plans], stdout=log, stderr=log)
            try:
                wait_for(os.path.join(work, f"cluster-{n}.log"), "ready:", cluster)
                time.sleep(2)  # the dispatcher's first probes
                measure(f"{n} gateway(s) behind Kamailio", f"127.0.0.1:{PORT}",
                        {"gateways": f"{d}/gateway-", "kamailio": "kamailio.cfg", "postgres": "postgres"},
                        rates, args.seconds, args.hold, d)
            finally:
                cluster.send_signal(signal.SIGTERM)
                cluster.wait(timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
