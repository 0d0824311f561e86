#!/usr/bin/env python3
"""The agent console under load: from a caller's INVITE to the screen pop rendered in the agent's browser,
p50/p99, at 50 calls/s with 20 consoles open (20 agents logged in, tabs of one headless Chromium), beside
the time from the caller's INVITE to the agent's INVITE in the same run.

Two phases on one gateway (this build, release): first the calls with no console open (the gateway rings
agents at once: the baseline), then the same calls with the 20 consoles open (each agent's ring waits for its
console to show the pop, [screenpop] console_wait at most). Calls go through Queue(support), 20 agents,
least recent first, to one SIPp UAS that answers for every agent; each call comes from its own customer
number (a contact with history in the store), so the agent's INVITE is matched to its call by that number,
and the pop to it by the call's uniqueid (X-Omnigate-Call). Times: SIPp's message logs (caller INVITE sent,
agent INVITE received) and the browser's clock (performance.timeOrigin + now() when the pop was in the page);
one machine, one clock.

The consoles are tabs of one headless Chromium (each on its own host, agentNN.localhost, so each keeps its
own session cookie), as 20 agents' browsers would each be on their own machines; --separate-browsers starts a
Chromium per console instead (on 2 cores, 20 of them take most of the machine at 50 calls/s).

Usage: Benchmarks/console_pops.py [--rate 50] [--seconds 20] [--consoles 20] [--hold 200] [--separate-browsers] [--skip-build]
Needs scripts/setup.sh (SIPp, chromium, chromium-driver, python3-selenium).
"""
import argparse, datetime, json, os, re, shutil, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway_path import stamps  # noqa: E402

SIP_PORT, HTTP_PORT, AGENT_PORT, CALLER_PORT = 5160, 8180, 5172, 5170
SCENARIO = os.path.join(ROOT, "Benchmarks/scenarios/uac-bench-caller.xml")
DRIVER = os.path.join(ROOT, "Tests/ConsoleTests/browser/console_driver.py")


def say(message):
    print(f"[console-pops] {message}", file=sys.stderr, flush=True)


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def agent_calls(log):
    """Caller number -> the call's uniqueid, from the X-Omnigate-Call header of each INVITE the agents' UAS received."""
    result = {}
    text = open(log, errors="replace").read()
    for block in text.split("----------------------------------------------- ")[1:]:
        if "message received" not in "\n".join(block.split("\n", 2)[:2]) or "\nINVITE " not in block:
            continue
        number = re.search(r"\nFrom:[^\n]*sip:([+0-9]+)@", block)
        call = re.search(r"\nX-Omnigate-Call:\s*(\S+)", block)
        if number and call:
            result.setdefault(number.group(1), call.group(1))
    return result


def run_calls(work, phase, args, numbers):
    d = os.path.join(work, phase)
    os.makedirs(d)
    calls = args.rate * args.seconds
    agent = subprocess.Popen(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(AGENT_PORT), "-m", str(calls), "-nostdin",
                              "-trace_msg", "-message_file", "agent.log", "-timeout", "300s"],
                             cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    subprocess.run(["sipp", "-sf", SCENARIO, f"127.0.0.1:{SIP_PORT}", "-s", "service", "-i", "127.0.0.1", "-p", str(CALLER_PORT),
                    "-r", str(args.rate), "-m", str(calls), "-l", "2000", "-d", str(args.hold), "-inf", numbers,
                    "-trace_stat", "-stf", "stat.csv", "-trace_msg", "-message_file", "caller.log", "-nostdin", "-timeout", "300s"],
                   cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    try:
        agent.wait(timeout=30)
    except subprocess.TimeoutExpired:
        agent.kill()
    time.sleep(2)
    live = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{HTTP_PORT}/health", timeout=5).read()).get("live_calls")
    say(f"{phase}: live calls 2 s after the last call: {live}")
    sent = stamps(os.path.join(d, "caller.log"), "sent")
    received = stamps(os.path.join(d, "agent.log"), "received")
    return d, sent, received, agent_calls(os.path.join(d, "agent.log"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--hold", type=int, default=200, help="ms each call stays bridged")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--separate-browsers", action="store_true",
                        help="a Chromium per console (default: the consoles are tabs of one Chromium, each on its own NAME.localhost)")
    args = parser.parse_args()
    for tool in ["sipp", "/usr/bin/chromium", "/usr/bin/chromedriver"]:
        if not shutil.which(tool):
            sys.exit(f"console_pops: {tool} is missing: run scripts/setup.sh")
    binary = os.path.join(ROOT, ".build/release/omnigate")
    if not args.skip_build:
        say("building (release) ...")
        subprocess.run(["swift", "build", "-c", "release", "--product", "omnigate"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)

    work = tempfile.mkdtemp(prefix="console-pops-")
    calls = args.rate * args.seconds
    # A customer per call (both phases), each with a little history on two channels.
    with open(os.path.join(work, "contacts.csv"), "w") as f:
        f.write("id,name,tier,company,phone\n")
        for i in range(2 * calls):
            f.write(f"c-{i},Customer {i},{'gold' if i % 5 == 0 else 'standard'},Company {i % 40},+1202{5000000 + i}\n")
    with open(os.path.join(work, "events.jsonl"), "w") as f:
        for i in range(2 * calls):
            f.write(f'{{"source":"chat","channel":"chat","time":"2026-11-20T10:00:00Z","address":"+1202{5000000 + i}",'
                    f'"subject":"Order {i}","external_ref":"c{i}"}}\n')
    store = os.path.join(work, "store.sqlite")
    for kind, name in [("contacts", "contacts.csv"), ("events", "events.jsonl")]:
        subprocess.run([binary, "import", kind, os.path.join(work, name), "--store", store], check=True, stdout=subprocess.DEVNULL)
    numbers = {}
    for phase, offset in [("baseline", 0), ("consoles", calls)]:
        numbers[phase] = os.path.join(work, f"numbers-{phase}.csv")
        with open(numbers[phase], "w") as f:
            f.write("SEQUENTIAL\n" + "".join(f"+1202{5000000 + offset + i};\n" for i in range(calls)))

    agents = [f"agent{i:02d}" for i in range(1, args.consoles + 1)]
    os.makedirs(os.path.join(work, "Dialplans"))
    with open(os.path.join(work, "Dialplans/extensions.conf"), "w") as f:
        f.write("[bench]\nexten => service,1,Answer()\n same => n,Queue(support)\n same => n,Hangup()\n")
    with open(os.path.join(work, "omnigate.conf"), "w") as f:
        f.write(f"[general]\nlog_level = warning\nmax_calls = 4000\n[sip]\nudp = 127.0.0.1:{SIP_PORT}\ntcp = off\n"
                f"[http]\nlisten = 127.0.0.1:{HTTP_PORT}\nconnections_per_address = 256\n[store]\npath = {store}\n[trunk bench]\nmatch = 127.0.0.1\ncontext = bench\n"
                f"[queue support]\nstrategy = leastrecent\nwrapup = 0s\nring_timeout = 10s\n")
        for name in agents:
            f.write(f"[agent {name}]\ncontact = sip:{name}@127.0.0.1:{AGENT_PORT}\npassword = pw-{name}\nqualify_frequency = 0\nqueues = support\n")
    gateway = subprocess.Popen([binary, "run", "--config", os.path.join(work, "omnigate.conf")], cwd=work,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    browser = None
    try:
        # Keep reading its log, so a full pipe never holds the gateway up; ready when /health answers.
        threading.Thread(target=lambda: [None for _ in gateway.stderr], daemon=True).start()
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{HTTP_PORT}/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or gateway.poll() is not None:
                    sys.exit("console_pops: the gateway did not start")
                time.sleep(0.05)
        say(f"phase 1: {calls} calls at {args.rate}/s, no console open")
        _, sent_a, received_a, _ = run_calls(work, "baseline", args, numbers["baseline"])
        base = [(received_a[n] - sent_a[n]) * 1000 for n in sent_a if n in received_a]

        say(f"phase 2: {args.consoles} consoles logging in")
        directory = os.path.join(work, "browser")
        os.makedirs(directory)
        browser = subprocess.Popen(["/usr/bin/python3", DRIVER, "--base", f"http://127.0.0.1:{HTTP_PORT}", "--dir", directory,
                                    "--scenario", "pops", "--agents", ",".join(agents),
                                    "--passwords", ",".join(f"{name}=pw-{name}" for name in agents), "--timeout", "600"]
                                   + ([] if args.separate_browsers else ["--tabs"]),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in browser.stdout:
            if line.startswith("FAIL"):
                sys.exit("console_pops: " + line)
            if line.strip() == "STEP available":
                break
        say(f"phase 2: {calls} calls at {args.rate}/s with {args.consoles} consoles open")
        _, sent_b, received_b, call_ids = run_calls(work, "consoles", args, numbers["consoles"])
        open(os.path.join(directory, "go-collect"), "w").close()
        rendered = {}
        for line in browser.stdout:
            if line.startswith("DATA rendered "):
                for pops in json.loads(line[len("DATA rendered "):]).values():
                    rendered.update(pops)
            if line.strip() == "STEP done":
                break
        say(f"pops rendered in the browsers: {len(rendered)}; agent INVITEs with a call id: {len(call_ids)}")
        with_consoles = [(received_b[n] - sent_b[n]) * 1000 for n in sent_b if n in received_b]
        to_pop, margin = [], []
        for number, sent in sent_b.items():
            call = call_ids.get(number)
            if call in rendered:
                to_pop.append(rendered[call] - sent * 1000)
                if number in received_b:
                    margin.append(received_b[number] * 1000 - rendered[call])
        late = sum(1 for m in margin if m < 0)
        print(f"\nConsole pops: {calls} calls per phase at {args.rate} calls/s, {args.consoles} agents, hold {args.hold} ms "
              f"({datetime.date.today()})\n")
        print("| phase | calls to an agent | INVITE -> agent INVITE p50 / p99 | INVITE -> pop in the browser p50 / p99 | pop ahead of the agent's INVITE p50 / min |")
        print("|---|---|---|---|---|")
        print(f"| no console open | {len(base)} / {len(sent_a)} | {percentile(base, 50):.2f} / {percentile(base, 99):.2f} ms | - | - |")
        print(f"| {args.consoles} consoles open | {len(with_consoles)} / {len(sent_b)} | {percentile(with_consoles, 50):.2f} / "
              f"{percentile(with_consoles, 99):.2f} ms | {percentile(to_pop, 50):.2f} / {percentile(to_pop, 99):.2f} ms "
              f"({len(to_pop)} pops) | {percentile(margin, 50):.2f} / {min(margin) if margin else float('nan'):.2f} ms "
              f"({late} after the INVITE) |")
    finally:
        if browser and browser.poll() is None:
            browser.terminate()
            try:
                browser.wait(timeout=30)
            except subprocess.TimeoutExpired:
                browser.kill()
        gateway.terminate()
        try:
            gateway.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gateway.kill()
        if not os.environ.get("OMNIGATE_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"kept {work}")


if __name__ == "__main__":
    main()
