#!/usr/bin/env python3
"""SIP call-rate benchmark: Omnigate beside a raw pjsua auto-answer program and
Asterisk, on this machine, in the same run, with the same SIPp command.

For each target and each offered rate, SIPp's built-in `uac` places rate x 10
calls of 1 s (the command ../shared/peers/asterisk/run-bench.sh uses):

    sipp -sn uac 127.0.0.1:5090 -i 127.0.0.1 -p 5070 -r RATE -m RATE*10 -l 2000 -d 1000

and the script prints calls completed and failed, SIPp's INVITE->200 response
time, retransmissions, and the target's CPU time per call (utime+stime from
/proc over the run). Then, on a fresh process, it holds 1,000 concurrent calls
and prints the target's resident memory.

Targets:
  omnigate   .build/release/omnigate run: a trunk, the dialplan Answer() + Wait(30), a call record
             per call in its store (the whole gateway, doing what Asterisk does here, plus records)
  pjsua      .build/release/pjsua-autoanswer (pjsua defaults: the baseline)
  asterisk   Asterisk built from Debian's source by ../shared/peers/asterisk/build.sh
             (Answer + Wait, no CDR: the peer's `nocdr` configuration)

  before     an earlier omnigate binary (--before PATH, its libpjproject in --before-libs DIR), on
             the same job as omnigate: to measure a change against what it changed, in the same run

Usage: Benchmarks/sip_cps.py [--rates "100 300 600 900 1200"] [--targets "omnigate pjsua asterisk"]
                             [--concurrent 1000] [--skip-build] [--before PATH [--before-libs DIR]] [--help]
Needs root for nothing; the Asterisk build (about 3 minutes, once) installs its
build dependencies with apt-get.
"""
import argparse, os, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
HZ = os.sysconf("SC_CLK_TCK")
PORT, SIPP_PORT = 5090, 5070


def say(msg):
    print(f"[sip-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stat_row(path):
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    head, last = lines[0].split(";"), lines[-1].split(";")
    return dict(zip(head, last))


def ms(sipp_time):
    # SIPp prints hh:mm:ss:microseconds
    h, m, s, us = (int(x) for x in sipp_time.split(":"))
    return ((h * 60 + m) * 60 + s) * 1000 + us / 1000


class Target:
    def __init__(self, name, work):
        self.name, self.work, self.proc = name, work, None

    env = None

    def start(self):
        d = tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.work)
        self.log = open(os.path.join(d, "stderr.log"), "w")
        self.proc = subprocess.Popen(self.command(d), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=d, env=self.env)
        self.wait_ready()
        return self.proc.pid

    def wait_ready(self):
        # Ready when the SIP port answers an OPTIONS.
        for _ in range(200):
            if self.proc.poll() is not None:
                sys.exit(f"{self.name} exited during start-up; see {self.log.name}")
            r = subprocess.run(["sipp", "-sn", "uac", f"127.0.0.1:{PORT}", "-i", "127.0.0.1", "-p", str(SIPP_PORT),
                                "-m", "1", "-d", "10", "-nostdin", "-timeout", "2s", "-timeout_error"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.work)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        sys.exit(f"{self.name} did not answer a call within 40 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Omnigate(Target):
    """The whole gateway on the same job as Asterisk's: a trunk, Answer() and Wait(), a call record per call."""
    binary = os.path.join(ROOT, ".build/release/omnigate")

    def command(self, d):
        with open(os.path.join(d, "bench.conf"), "w") as f:
            f.write("[bench]\nexten => service,1,Answer()\n same => n,Wait(30)\n same => n,Hangup()\n")
        conf = os.path.join(d, "omnigate.conf")
        with open(conf, "w") as f:
            f.write(f"[general]\nlog_level = warning\nmax_calls = 4000\n[sip]\nudp = 127.0.0.1:{PORT}\ntcp = off\n"
                    f"[store]\npath = {d}/store.sqlite\n[dialplan]\npath = {d}/bench.conf\n"
                    f"[trunk bench]\nmatch = 127.0.0.1\ncontext = bench\n")
        return [self.binary, "run", "--config", conf]


class Before(Omnigate):
    """An earlier build of the gateway, on the same job."""


class Pjsua(Target):
    def command(self, d):
        return [os.path.join(ROOT, ".build/release/pjsua-autoanswer"), "--port", str(PORT)]


class Asterisk(Target):
    """Asterisk with the peer's `nocdr` configuration (../shared/peers/asterisk/run-bench.sh)."""
    # build.sh's own default WORK, so a build made by hand is found too.
    prefix = os.environ.get("ASTERISK_WORK", os.path.join(os.environ.get("TMPDIR", "/tmp"), "peer-asterisk")) + "/install"

    def command(self, d):
        etc, var = os.path.join(d, "etc"), os.path.join(d, "var")
        for sub in ["lib", "run", "log", "spool", "agi"]:
            os.makedirs(os.path.join(var, sub), exist_ok=True)
        os.makedirs(etc)
        p = self.prefix
        files = {
            "asterisk.conf": f"""[directories]
astetcdir => {etc}
astmoddir => {p}/lib/asterisk/modules
astvarlibdir => {var}/lib
astdbdir => {var}/lib
astkeydir => {var}/lib
astdatadir => {p}/share/asterisk
astagidir => {var}/agi
astspooldir => {var}/spool
astrundir => {var}/run
astlogdir => {var}/log
astsbindir => {p}/sbin
[options]
verbose = 0
debug = 0
maxfiles = 20000
hideconnect = yes
transmit_silence = no
""",
            "modules.conf": "[modules]\nautoload = no\n" + "".join(f"load => {m}.so\n" for m in [
                "res_pjproject", "res_sorcery_config", "res_sorcery_memory", "res_sorcery_astdb", "res_pjsip",
                "res_pjsip_pubsub", "res_pjsip_session", "res_pjsip_authenticator_digest", "res_pjsip_sdp_rtp",
                "res_pjsip_endpoint_identifier_ip", "res_rtp_asterisk", "res_timing_timerfd", "chan_pjsip",
                "pbx_config"]),
            "logger.conf": "[general]\n[logfiles]\nmessages.log => error,warning\n",
            "rtp.conf": "[general]\nrtpstart = 10000\nrtpend = 20000\n",
            "cdr.conf": "[general]\nenable = no\n",
            "extensions.conf": "[general]\nstatic = yes\nwriteprotect = yes\n[bench]\n"
                               "exten => service,1,Answer()\n same => n,Wait(30)\n same => n,Hangup()\n",
            "pjsip.conf": f"""[global]
type = global
user_agent = Asterisk-bench
[transport-udp]
type = transport
protocol = udp
bind = 127.0.0.1:{PORT}
[sipp]
type = endpoint
context = bench
disallow = all
allow = ulaw
direct_media = no
[sipp-identify]
type = identify
endpoint = sipp
match = 127.0.0.1
""",
        }
        for name, text in files.items():
            with open(os.path.join(etc, name), "w") as f:
                f.write(text)
        return [f"{p}/sbin/asterisk", "-C", os.path.join(etc, "asterisk.conf"), "-f", "-n", "-q"]


def run_rate(target, pid, rate, work):
    d = tempfile.mkdtemp(prefix=f"rate{rate}-", dir=work)
    calls = rate * 10
    cmd = ["sipp", "-sn", "uac", f"127.0.0.1:{PORT}", "-i", "127.0.0.1", "-p", str(SIPP_PORT), "-r", str(rate),
           "-m", str(calls), "-l", "2000", "-d", "1000", "-trace_stat", "-stf", "stat.csv", "-nostdin"]
    c0, t0 = cpu_ticks(pid), time.time()
    subprocess.run(cmd, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    wall = time.time() - t0
    time.sleep(2)  # let the last BYEs finish before sampling CPU
    c1 = cpu_ticks(pid)
    s = stat_row(os.path.join(d, "stat.csv"))
    ok = int(s["SuccessfulCall(C)"])
    cpu_s = (c1 - c0) / HZ
    return {
        "target": target.name, "rate": rate, "cps": float(s["CallRate(C)"]), "ok": ok,
        "failed": int(s["FailedCall(C)"]), "resp_ms": ms(s["ResponseTime1(C)"]),
        "retrans": int(s["Retransmissions(C)"]), "cpu_pct": 100 * cpu_s / (wall + 2),
        "cpu_ms_call": 1000 * cpu_s / max(ok, 1), "rss_mb": rss_kb(pid) / 1024,
    }


def concurrent_rss(target, work, n):
    pid = target.start()
    base = rss_kb(pid)
    d = tempfile.mkdtemp(prefix="concurrent-", dir=work)
    hold = 12000
    p = subprocess.Popen(["sipp", "-sn", "uac", f"127.0.0.1:{PORT}", "-i", "127.0.0.1", "-p", str(SIPP_PORT),
                          "-r", "250", "-m", str(n), "-l", str(n), "-d", str(hold), "-trace_stat", "-stf", "stat.csv",
                          "-fd", "1", "-nostdin"], cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(n / 250 + 3)  # all calls placed and answered, none ended yet
    peak = rss_kb(pid)
    p.wait(timeout=120)
    target.stop()
    s = stat_row(os.path.join(d, "stat.csv"))
    return base, peak, int(s["SuccessfulCall(C)"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="100 300 600 900 1200")
    ap.add_argument("--targets", default="omnigate pjsua asterisk")
    ap.add_argument("--concurrent", type=int, default=1000)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--before", help="an earlier omnigate binary, measured as target 'before'")
    ap.add_argument("--before-libs", help="the directory of that binary's libpjproject")
    a = ap.parse_args()
    if a.before:
        Before.binary = os.path.abspath(a.before)
        if a.before_libs:
            Before.env = dict(os.environ, LD_LIBRARY_PATH=os.path.abspath(a.before_libs))
    rates = [int(r) for r in a.rates.split()]
    names = a.targets.split()
    work = tempfile.mkdtemp(prefix="sip-bench-")
    if not a.skip_build:
        say("building omnigate and pjsua-autoanswer (release)")
        subprocess.run(["swift", "build", "-c", "release", "--product", "omnigate"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["swift", "build", "-c", "release", "--product", "pjsua-autoanswer"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    if "asterisk" in names and not os.path.exists(Asterisk.prefix + "/sbin/asterisk"):
        build = os.path.join(SHARED, "peers/asterisk/build.sh")
        if not os.path.exists(build):
            say(f"no {build}: Asterisk is not measured (../shared is not beside this clone)")
            names.remove("asterisk")
        else:
            say("building Asterisk from Debian's source (about 3 minutes, once)")
            env = dict(os.environ, WORK=os.path.dirname(Asterisk.prefix))
            subprocess.run(["bash", build], env=env, check=True, stdout=subprocess.DEVNULL)
    classes = {"omnigate": Omnigate, "before": Before, "pjsua": Pjsua, "asterisk": Asterisk}
    rows, memory = [], []
    for name in names:
        target = classes[name](name, work)
        say(f"{name}: starting")
        pid = target.start()
        for rate in rates:
            say(f"{name}: {rate} calls/s offered, {rate * 10} calls")
            row = run_rate(target, pid, rate, work)
            rows.append(row)
            say(f"{name}: {row['ok']} ok, {row['failed']} failed, {row['cps']:.0f} cps, "
                f"{row['cpu_ms_call']:.2f} ms CPU/call, {row['retrans']} retransmissions")
        target.stop()
        if a.concurrent:
            say(f"{name}: holding {a.concurrent} concurrent calls")
            base, peak, ok = concurrent_rss(classes[name](name, work), work, a.concurrent)
            memory.append((name, base, peak, ok))
    print()
    print(f"{'target':9} {'offered':>7} {'cps':>7} {'ok':>6} {'failed':>6} {'resp ms':>8} {'retrans':>8} "
          f"{'CPU %':>6} {'CPU ms/call':>11} {'RSS MB':>7}")
    for r in rows:
        print(f"{r['target']:9} {r['rate']:>7} {r['cps']:>7.1f} {r['ok']:>6} {r['failed']:>6} {r['resp_ms']:>8.0f} "
              f"{r['retrans']:>8} {r['cpu_pct']:>6.1f} {r['cpu_ms_call']:>11.2f} {r['rss_mb']:>7.0f}")
    if memory:
        print()
        print(f"{'target':9} {'calls up':>8} {'RSS idle MB':>11} {'RSS MB':>7} {'KB per call':>11}")
        for name, base, peak, ok in memory:
            print(f"{name:9} {ok:>8} {base / 1024:>11.0f} {peak / 1024:>7.0f} {(peak - base) / max(ok, 1):>11.0f}")
    print(f"\nclean = 0 failed and 0 retransmissions; SIPp response time has millisecond resolution.\nwork: {work}")


if __name__ == "__main__":
    main()
