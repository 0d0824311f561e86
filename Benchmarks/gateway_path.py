#!/usr/bin/env python3
"""Whole-path benchmark: trunk call -> dialplan -> screen-pop lookup on a
1,000,000-event store -> agent leg to a SIPp UAS -> bridge -> call record,
at rising call rates, beside Asterisk doing the same job in the same run
(Answer, Dial to the same SIPp UAS, CDR to SQLite).

Per target and offered rate it prints clean calls per second, failures and
retransmissions, the target's CPU time per call, and the time from the caller's
INVITE to the agent's INVITE (p50/p99, from SIPp's message logs: both SIPp
processes stamp messages with the same clock, matched by the caller's number).
Then it holds bridged calls and prints resident memory per bridged call.

Targets: omnigate (this build), noapi (this build, its HTTP API off), before (an earlier build: --before PATH),
agents (this build with --agents N registered agents whose phones re-register
every 60 s while the calls run, the registrations' CPU and memory beside
omnigate's), asterisk.

Usage: Benchmarks/gateway_path.py [--rates "100 200 300"] [--targets "omnigate asterisk"]
                                  [--contacts 100000] [--events 1000000] [--hold 1000]
                                  [--concurrent 300] [--before PATH] [--agents 1000] [--skip-build] [--help]
Asterisk comes from ../shared/peers/asterisk/build.sh plus Benchmarks/asterisk-extend.sh
(app_dial and the bridges); both run once and are reused.
"""
import argparse, datetime, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_cps import ROOT, SHARED, HZ, PORT, Asterisk, Target, cpu_ticks, ms, rss_kb, say, stat_row  # noqa: E402

AGENT_PORT, CALLER_PORT, PHONES_PORT = 5072, 5070, 5074
SCENARIO = os.path.join(ROOT, "Benchmarks/scenarios/uac-bench-caller.xml")
REGISTER = os.path.join(ROOT, "Benchmarks/scenarios/uac-bench-register.xml")


class OmnigatePath(Target):
    store = None
    binary = os.path.join(ROOT, ".build/release/omnigate")

    def extra_config(self):
        return ""

    def command(self, d):
        with open(os.path.join(d, "Dialplans.conf"), "w") as f:
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
path = {self.store}
[dialplan]
path = {d}/Dialplans.conf
[screenpop]
lookup_budget = 50ms
[trunk bench]
match = 127.0.0.1
context = bench
[agent agent]
contact = sip:agent@127.0.0.1:{AGENT_PORT}
""" + self.extra_config())
        return [self.binary, "run", "--config", conf]

    def records(self):
        out = subprocess.run([self.binary, "calls", "--store", self.store, "--format", "csv"],
                             capture_output=True, text=True).stdout
        return max(0, len(out.splitlines()) - 1)


class BeforePath(OmnigatePath):
    """An earlier build of the gateway, on the same job."""


class NoAPIPath(OmnigatePath):
    """This build with its HTTP API off: what the API and its event stream cost a call."""

    def extra_config(self):
        return "[http]\nlisten = off\n"


class AgentsPath(OmnigatePath):
    """This build, with `count` agents whose phones (one SIPp) register, then
    re-register every 60 s while the calls run. OPTIONS qualify is off: the
    SIPp phones would not answer it."""
    count = 1000

    def extra_config(self):
        return "".join(f"[agent phone{i}]\npassword = pw{i}\nqualify_frequency = 0\n" for i in range(self.count))

    def start(self):
        pid = super().start()
        d = tempfile.mkdtemp(prefix="phones-", dir=self.work)
        phones = os.path.join(d, "phones.csv")
        with open(phones, "w") as f:
            f.write("SEQUENTIAL\n" + "".join(f"phone{i};[authentication username=phone{i} password=pw{i}];\n"
                                            for i in range(self.count)))
        common = ["sipp", "-sf", REGISTER, f"127.0.0.1:{PORT}", "-i", "127.0.0.1", "-p", str(PHONES_PORT), "-inf", phones,
                  "-nostdin", "-trace_stat", "-stf", "stat.csv"]
        say(f"agents: registering {self.count} phones")
        subprocess.run(common + ["-r", "200", "-m", str(self.count), "-l", "200"], cwd=d, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300, check=True)
        # From now on every phone re-registers once a minute, for as long as the target runs.
        self.phones = subprocess.Popen(common + ["-r", str(self.count), "-rp", "60000", "-m", str(self.count * 100)],
                                       cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.phones_dir = d
        c0 = cpu_ticks(pid)
        time.sleep(10)
        self.idle_cpu_pct = 100 * (cpu_ticks(pid) - c0) / HZ / 10
        say(f"agents: {self.count} phones re-registering every 60 s: {self.idle_cpu_pct:.1f}% CPU with no calls")
        return pid

    def stop(self):
        if getattr(self, "phones", None):
            self.phones.kill()
            self.phones.wait()
            s = stat_row(os.path.join(self.phones_dir, "stat.csv"))
            say(f"agents: {s['SuccessfulCall(C)']} re-registrations, {s['FailedCall(C)']} failed")
            self.phones = None
        super().stop()


class AsteriskPath(Asterisk):
    def command(self, d):
        cmd = super().command(d)
        etc = os.path.join(d, "etc")
        self.cdr = os.path.join(d, "var/log/cdr.db")
        with open(os.path.join(etc, "extensions.conf"), "w") as f:
            f.write("[general]\nstatic = yes\nwriteprotect = yes\n[bench]\n"
                    "exten => service,1,Answer()\n same => n,Dial(PJSIP/agent,30)\n same => n,Hangup()\n")
        with open(os.path.join(etc, "pjsip.conf"), "a") as f:
            f.write(f"""[agent]
type = endpoint
context = bench
disallow = all
allow = ulaw
direct_media = no
aors = agent
[agent]
type = aor
contact = sip:agent@127.0.0.1:{AGENT_PORT}
""")
        with open(os.path.join(etc, "cdr.conf"), "w") as f:
            f.write("[general]\nenable = yes\n")
        with open(os.path.join(etc, "cdr_sqlite3_custom.conf"), "w") as f:
            f.write(f"[{self.cdr}]\ntable = cdr\n"
                    "columns = calldate, clid, src, dst, dcontext, channel, dstchannel, lastapp, duration, billsec, disposition, uniqueid\n"
                    "fields = start, clid, src, dst, dcontext, channel, dstchannel, lastapp, duration, billsec, disposition, uniqueid\n"
                    "busy_timeout = 1000\n")
        with open(os.path.join(etc, "modules.conf"), "a") as f:
            for m in ["app_dial", "bridge_simple", "bridge_native_rtp", "bridge_builtin_features", "res_cdrel_custom",
                      "cdr_sqlite3_custom", "func_cdr"]:
                f.write(f"load => {m}.so\n")
        return cmd

    def records(self):
        if not os.path.exists(self.cdr):
            return 0
        out = subprocess.run(["sqlite3", "-cmd", ".timeout 20000", self.cdr, "select count(*) from cdr"],
                             capture_output=True, text=True).stdout.strip()
        return int(out or 0)


def stamps(log, direction):
    """INVITE times in a SIPp message log, by the caller number in From."""
    result = {}
    stamp = None
    want = f"message {direction}"
    with open(log, errors="replace") as f:
        block = []
        for line in f:
            if line.startswith("----------------------------------------------- "):
                if block:
                    handle(block, stamp, want, result)
                stamp, block = line[48:].strip(), []
            else:
                block.append(line)
        if block:
            handle(block, stamp, want, result)
    return result


def invite_times(log):
    """Times of every INVITE received in a SIPp message log."""
    times, stamp = [], None
    with open(log, errors="replace") as f:
        previous = ""
        for line in f:
            if line.startswith("----------------------------------------------- "):
                stamp = line[48:].strip()
            elif line.startswith("INVITE ") and "message received" in previous and stamp:
                times.append(datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp())
            if line.strip():
                previous = line
    return times


def handle(block, stamp, want, result):
    if not block or want not in block[0]:
        return
    text = "".join(block)
    if "\nINVITE " not in text:
        return
    m = re.search(r"\nFrom:[^\n]*sip:([+0-9]+)@", text)
    if m and stamp:
        t = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        result.setdefault(m.group(1), t)


def run_rate(target, pid, rate, args, numbers, work):
    d = tempfile.mkdtemp(prefix=f"rate{rate}-", dir=work)
    calls = rate * args.seconds
    agent = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(AGENT_PORT), "-m", str(calls),
                              "-nostdin", "-trace_msg", "-message_file", "agent.log", "-timeout", "120s"],
                             cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    cmd = ["sipp", "-sf", SCENARIO, f"127.0.0.1:{PORT}", "-s", "service", "-i", "127.0.0.1", "-p", str(CALLER_PORT),
           "-r", str(rate), "-m", str(calls), "-l", "4000", "-d", str(args.hold), "-inf", numbers,
           "-trace_stat", "-stf", "stat.csv", "-trace_msg", "-message_file", "caller.log", "-nostdin"]
    c0, t0 = cpu_ticks(pid), time.time()
    subprocess.run(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    wall = time.time() - t0
    time.sleep(2)
    c1 = cpu_ticks(pid)
    try:
        agent.wait(timeout=20)
    except subprocess.TimeoutExpired:
        agent.kill()
    s = stat_row(os.path.join(d, "stat.csv"))
    ok = int(s["SuccessfulCall(C)"])
    sent = stamps(os.path.join(d, "caller.log"), "sent")
    received = stamps(os.path.join(d, "agent.log"), "received")
    delays = sorted((received[n] - sent[n]) * 1000 for n in sent if n in received)
    if len(delays) < 0.9 * len(sent):
        # The agent leg does not show the caller's number (Asterisk sends it as
        # Anonymous here): pair the n-th INVITE sent with the n-th received.
        pairs = zip(sorted(sent.values()), sorted(invite_times(os.path.join(d, "agent.log"))))
        delays = sorted((b - a) * 1000 for a, b in pairs)
    p = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))] if delays else float("nan")
    cpu_s = (c1 - c0) / HZ
    return {"target": target.name, "rate": rate, "cps": float(s["CallRate(C)"]), "ok": ok, "failed": int(s["FailedCall(C)"]),
            "retrans": int(s["Retransmissions(C)"]), "resp_ms": ms(s["ResponseTime1(C)"]), "cpu_ms_call": 1000 * cpu_s / max(ok, 1),
            "cpu_pct": 100 * cpu_s / (wall + 2), "p50": p(0.5), "p99": p(0.99), "matched": len(delays)}


def bridged_rss(target, args, numbers, work):
    pid = target.start()
    time.sleep(1)
    base = rss_kb(pid)
    d = tempfile.mkdtemp(prefix="bridged-", dir=work)
    n = args.concurrent
    agent = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(AGENT_PORT), "-m", str(n), "-nostdin"],
                             cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    caller = subprocess.Popen(["sipp", "-sf", SCENARIO, f"127.0.0.1:{PORT}", "-s", "service", "-i", "127.0.0.1", "-p",
                               str(CALLER_PORT), "-r", "100", "-m", str(n), "-l", str(n), "-d", "15000", "-inf", numbers,
                               "-nostdin"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(n / 100 + 3)
    peak = rss_kb(pid)
    caller.wait(timeout=120)
    agent.wait(timeout=60)
    target.stop()
    return base, peak, n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="100 200 300")
    ap.add_argument("--targets", default="omnigate asterisk")
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--hold", type=int, default=1000, help="ms each call is held")
    ap.add_argument("--seconds", type=int, default=10, help="how long each rate is offered")
    ap.add_argument("--concurrent", type=int, default=300)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--before", help="an earlier omnigate binary, measured as target 'before' (same libpjproject)")
    ap.add_argument("--agents", type=int, default=1000, help="registered agents for target 'agents'")
    a = ap.parse_args()
    if a.before:
        BeforePath.binary = os.path.abspath(a.before)
    AgentsPath.count = a.agents
    work = tempfile.mkdtemp(prefix="gateway-bench-")
    names = a.targets.split()
    if not a.skip_build:
        say("building omnigate (release)")
        subprocess.run(["swift", "build", "-c", "release", "--product", "omnigate"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    if "asterisk" in names:
        build = os.path.join(SHARED, "peers/asterisk/build.sh")
        if not os.path.exists(Asterisk.prefix + "/sbin/asterisk"):
            if not os.path.exists(build):
                say("../shared is not beside this clone: Asterisk is not measured")
                names.remove("asterisk")
            else:
                say("building Asterisk from Debian's source (about 3 minutes, once)")
                subprocess.run(["bash", build], env=dict(os.environ, WORK=os.path.dirname(Asterisk.prefix)), check=True,
                               stdout=subprocess.DEVNULL)
        if "asterisk" in names:
            subprocess.run(["bash", os.path.join(ROOT, "Benchmarks/asterisk-extend.sh")], check=True,
                           env=dict(os.environ, ASTERISK_WORK=os.path.dirname(Asterisk.prefix)))
    store = os.path.join(work, "store.sqlite")
    say(f"filling a store with {a.contacts} contacts and {a.events} events")
    t0 = time.time()
    # Made by the oldest build measured, so every build can open it (a newer one migrates it).
    maker = BeforePath.binary if "before" in names else OmnigatePath.binary
    subprocess.run([maker, "demo-data", "--contacts", str(a.contacts), "--events",
                    str(a.events), "--store", store], check=True, stderr=subprocess.DEVNULL)
    say(f"store ready in {time.time() - t0:.0f} s ({os.path.getsize(store) / 1e6:.0f} MB)")
    numbers = os.path.join(work, "numbers.csv")
    with open(numbers, "w") as f:
        f.write("SEQUENTIAL\n")
        for i in range(min(a.contacts, 20000)):
            f.write(f"+1{201 + (i // 10000) % 799}555{i % 10000:04d};\n")
    OmnigatePath.store = store
    classes = {"omnigate": OmnigatePath, "noapi": NoAPIPath, "before": BeforePath, "agents": AgentsPath, "asterisk": AsteriskPath}
    rows, memory, loaded = [], [], []
    for index, name in enumerate(names):
        target = classes[name](name, work)
        # Each run its own copy of the store: a newer build migrates the file, which an older one then refuses.
        target.store = os.path.join(work, f"store-{index}-{name}.sqlite")
        for suffix in ["", "-wal"]:
            if os.path.exists(store + suffix):
                shutil.copyfile(store + suffix, target.store + suffix)
        say(f"{name}: starting")
        try:
            pid = target.start()
        except BaseException:
            target.stop()  # nothing left holding the port (or the phones running) for the next run
            raise
        for rate in [int(r) for r in a.rates.split()]:
            say(f"{name}: {rate} calls/s offered, {rate * a.seconds} bridged calls")
            row = run_rate(target, pid, rate, a, numbers, work)
            rows.append(row)
            say(f"{name}: {row['ok']} ok, {row['failed']} failed, {row['retrans']} retrans, {row['cpu_ms_call']:.2f} ms CPU/call, "
                f"INVITE->agent INVITE p50 {row['p50']:.2f} ms p99 {row['p99']:.2f} ms")
        time.sleep(3)
        loaded.append((name, rss_kb(pid), getattr(target, "idle_cpu_pct", None)))
        records = target.records()
        target.stop()
        say(f"{name}: {records} call records written")
        if a.concurrent:
            say(f"{name}: holding {a.concurrent} bridged calls")
            holder = classes[name](name, work)
            holder.store = target.store  # its own copy again, never the shared one (a newer build would migrate it)
            memory.append((name,) + bridged_rss(holder, a, numbers, work))
    print()
    print(f"{'target':9} {'offered':>7} {'cps':>7} {'ok':>6} {'failed':>6} {'retrans':>7} {'resp ms':>7} {'CPU %':>6} "
          f"{'CPU ms/call':>11} {'INVITE->agent p50':>17} {'p99':>8}")
    for r in rows:
        print(f"{r['target']:9} {r['rate']:>7} {r['cps']:>7.1f} {r['ok']:>6} {r['failed']:>6} {r['retrans']:>7} {r['resp_ms']:>7.0f} "
              f"{r['cpu_pct']:>6.1f} {r['cpu_ms_call']:>11.2f} {r['p50']:>14.2f} ms {r['p99']:>5.2f} ms")
    print()
    print(f"{'target':9} {'RSS after the rates MB':>22} {'CPU % with no calls':>19}")
    for name, rss, idle in loaded:
        print(f"{name:9} {rss / 1024:>22.0f} {'-' if idle is None else f'{idle:.1f}':>19}")
    if memory:
        print()
        print(f"{'target':9} {'bridged calls':>13} {'RSS idle MB':>11} {'RSS MB':>7} {'KB per bridged call':>19}")
        for name, base, peak, n in memory:
            print(f"{name:9} {n:>13} {base / 1024:>11.0f} {peak / 1024:>7.0f} {(peak - base) / n:>19.0f}")
    print(f"\nclean = every call completed with 0 failures and 0 retransmissions. work: {work}")


if __name__ == "__main__":
    main()
