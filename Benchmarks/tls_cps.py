#!/usr/bin/env python3
"""Calls per second over TLS beside UDP (and TCP), on the same gateway, in the same run.

Debian's SIPp has no TLS, so the calls come from `call-load` (Benchmarks/CallLoad):
Omnigate's own SIP engine as a caller, over every transport alike. For each
transport and offered rate it places rate x 10 calls of 1 s into a gateway doing
Asterisk's job (a trunk, Answer() and Wait(), a call record per call) and prints
calls completed and failed, INVITE->200 p50/p99, and the gateway's CPU time per
call (utime+stime from /proc over the run). The caller's CPU is not counted.

Usage: Benchmarks/tls_cps.py [--rates "100 300"] [--transports "udp tcp tls"] [--skip-build] [--help]
"""
import argparse, os, signal, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")
UDP, TLS = 5190, 5191


def say(msg):
    print(f"[tls-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def certificates(d):
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "req.csr", "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "cert.pem",
        "-days", "2", "-extfile", "san.cnf")
    return os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")


def start_gateway(d, cert, key):
    with open(os.path.join(d, "bench.conf"), "w") as f:
        f.write("[bench]\nexten => service,1,Answer()\n same => n,Wait(30)\n same => n,Hangup()\n")
    conf = os.path.join(d, "omnigate.conf")
    with open(conf, "w") as f:
        f.write(f"[general]\nlog_level = warning\nmax_calls = 4000\n[sip]\nudp = 127.0.0.1:{UDP}\ntcp = 127.0.0.1:{UDP}\n"
                f"tls = 127.0.0.1:{TLS}\ntls_certificate = {cert}\ntls_private_key = {key}\n"
                f"[store]\npath = {d}/store.sqlite\n[dialplan]\npath = {d}/bench.conf\n"
                f"[trunk bench]\nmatch = 127.0.0.1\ncontext = bench\n")
    log = open(os.path.join(d, "gateway.log"), "w")
    proc = subprocess.Popen([os.path.join(ROOT, ".build/release/omnigate"), "run", "--config", conf],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=d)
    # Ready when it answers an OPTIONS over UDP.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    probe.settimeout(0.2)
    port = probe.getsockname()[1]
    for n in range(100):
        if proc.poll() is not None:
            sys.exit(f"the gateway exited during start-up; see {log.name}")
        probe.sendto((f"OPTIONS sip:127.0.0.1:{UDP} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKready{n}\r\n"
                      f"From: <sip:bench@127.0.0.1>;tag={n}\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ready-{n}\r\n"
                      f"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", UDP))
        try:
            if probe.recv(4096).startswith(b"SIP/2.0 200"):
                return proc
        except socket.timeout:
            pass
    sys.exit(f"the gateway did not answer within 20 s; see {log.name}")


def run_rate(pid, transport, rate, cert, key):
    target = {"udp": f"sip:service@127.0.0.1:{UDP}", "tcp": f"sip:service@127.0.0.1:{UDP};transport=tcp",
              "tls": f"sip:service@127.0.0.1:{TLS};transport=tls"}[transport]
    c0, t0 = cpu_ticks(pid), time.time()
    out = subprocess.run([os.path.join(ROOT, ".build/release/call-load"), "--target", target, "--rate", str(rate),
                          "--calls", str(rate * 10), "--hold", "1000", "--certificate", cert, "--key", key],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=600).stdout
    wall = time.time() - t0
    time.sleep(2)  # the last BYEs and records
    cpu = (cpu_ticks(pid) - c0) / HZ
    words = out.split()
    fields = dict(zip(words[0::2], words[1::2]))
    ok = int(fields.get("completed", 0))
    return {"transport": transport, "rate": rate, "ok": ok, "failed": int(fields.get("failed", 0)),
            "p50": float(fields.get("setup_p50_ms", 0)), "p99": float(fields.get("setup_p99_ms", 0)),
            "cpu_pct": 100 * cpu / (wall + 2), "cpu_ms_call": 1000 * cpu / max(ok, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="100 300")
    ap.add_argument("--transports", default="udp tcp tls")
    ap.add_argument("--skip-build", action="store_true")
    a = ap.parse_args()
    if not a.skip_build:
        say("building omnigate and call-load (release)")
        for product in ["omnigate", "call-load"]:
            subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="tls-bench-")
    cert, key = certificates(work)
    rows = []
    for transport in a.transports.split():
        d = tempfile.mkdtemp(prefix=f"{transport}-", dir=work)
        gateway = start_gateway(d, cert, key)
        for rate in [int(r) for r in a.rates.split()]:
            say(f"{transport}: {rate} calls/s offered, {rate * 10} calls")
            row = run_rate(gateway.pid, transport, rate, cert, key)
            rows.append(row)
            say(f"{transport}: {row['ok']} ok, {row['failed']} failed, {row['cpu_ms_call']:.2f} ms CPU/call")
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(30)
    print()
    print(f"{'transport':9} {'offered':>7} {'ok':>6} {'failed':>6} {'p50 ms':>7} {'p99 ms':>7} {'CPU %':>6} {'CPU ms/call':>11}")
    for r in rows:
        print(f"{r['transport']:9} {r['rate']:>7} {r['ok']:>6} {r['failed']:>6} {r['p50']:>7.2f} {r['p99']:>7.2f} "
              f"{r['cpu_pct']:>6.1f} {r['cpu_ms_call']:>11.2f}")
    print(f"\nINVITE->200 from the caller's side; CPU is the gateway's only.\nwork: {work}")


if __name__ == "__main__":
    main()
