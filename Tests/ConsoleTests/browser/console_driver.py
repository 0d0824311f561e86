#!/usr/bin/python3
"""Drives the agent console in headless Chromium (Debian's chromium, chromium-driver and python3-selenium) for
the console's browser tests and benchmark. One scenario per run; it prints one line per step:

    STEP name                  a step done (the Swift test waits for these)
    DATA name {json}           something measured or read from the page
    FAIL message               the scenario could not go on (then it exits 1)

A scenario that must wait for the test (a call placed, a reply sent) waits for a file named go-NAME in --dir.
Every wait is bounded (--timeout seconds). Nothing here talks to another host than the gateway on loopback.

    console_driver.py --base http://127.0.0.1:PORT --dir DIR --scenario agent-call --agent alice --password s3cret
"""
import argparse
import json
import os
import re
import signal
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

# The contrast check (WCAG 2.1 AA, 1.4.3): every visible element with text of its own, its computed colour against
# the first opaque background behind it; 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). Disabled controls
# are exempt, as WCAG says. Returns the failures.
CONTRAST_JS = r"""
function parse(c) { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
  const p = m[1].split(',').map((x) => parseFloat(x)); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; }
function lum(c) { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); }
function background(el) { for (let n = el; n; n = n.parentElement) { const c = parse(getComputedStyle(n).backgroundColor);
  if (c && c.a > 0.99) return c; } return { r: 255, g: 255, b: 255, a: 1 }; }
const failures = []; let checked = 0;
for (const el of document.querySelectorAll('body *')) {
  const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || el.closest('[hidden]') || el.closest('.visually-hidden') || el.disabled) continue;
  const style = getComputedStyle(el); const box = el.getBoundingClientRect();
  if (style.visibility === 'hidden' || style.display === 'none' || box.width === 0 || box.height === 0) continue;
  const fg = parse(style.color); const bg = background(el); if (!fg) continue;
  const a = lum(fg), b = lum(bg); const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(style.fontSize); const bold = parseInt(style.fontWeight, 10) >= 700;
  const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5; checked++;
  if (ratio < need) failures.push({ text: el.textContent.trim().slice(0, 40), tag: el.tagName, ratio: Math.round(ratio * 100) / 100, need,
    color: style.color, background: 'rgb(' + bg.r + ',' + bg.g + ',' + bg.b + ')' });
}
return { checked, failures };
"""

# Every control a keyboard user needs: visible, enabled, focusable.
CONTROLS_JS = r"""
const list = [...document.querySelectorAll('a[href], button, input, select, textarea, audio[controls], [tabindex]:not([tabindex="-1"])')]
  .filter((el) => !el.disabled && !el.closest('[hidden]') && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden');
list.forEach((el, i) => { if (!el.dataset.kbd) el.dataset.kbd = String(i); });
return list.map((el) => el.dataset.kbd + ':' + (el.id || el.tagName.toLowerCase()));
"""

FOCUSED_JS = r"""
const el = document.activeElement; if (!el || el === document.body) return null;
const style = getComputedStyle(el);
const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
return { key: (el.dataset.kbd || '?') + ':' + (el.id || el.tagName.toLowerCase()), visible };
"""


def chromium(args):
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,720", "--lang=" + args.lang,
                 "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking",
                 "--disable-renderer-backgrounding", "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"]:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": args.lang})
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(args.timeout)
    return driver


class Console:
    def __init__(self, args, name):
        self.driver = chromium(args)
        self.args = args
        self.name = name

    def wait(self, condition, what, timeout=None):
        try:
            return WebDriverWait(self.driver, timeout or self.args.timeout, poll_frequency=0.02).until(lambda d: condition(d))
        except TimeoutException:
            fail(f"{self.name}: timed out waiting for {what}")

    def js(self, script, *arguments):
        return self.driver.execute_script(script, *arguments)

    def by_id(self, identifier):
        return self.driver.find_element(By.ID, identifier)

    def log_in_agent(self, agent, password):
        self.driver.get(self.args.base + "/console/")
        self.wait(lambda d: d.find_elements(By.ID, "agent-name"), "the login page")
        self.by_id("agent-name").send_keys(agent)
        self.by_id("agent-password").send_keys(password)
        self.by_id("agent-login-button").click()
        self.wait(lambda d: "agent.html" in d.current_url and self.js("return document.body.dataset.ready") == "true", "the agent view")

    def log_in_token(self, token):
        self.driver.get(self.args.base + "/console/")
        self.wait(lambda d: d.find_elements(By.ID, "token"), "the login page")
        self.by_id("token").send_keys(token)
        self.by_id("token-login-button").click()
        self.wait(lambda d: "supervisor.html" in d.current_url and self.js("return document.body.dataset.ready") == "true", "the supervisor view")

    def go_available(self):
        self.by_id("go-available").click() if self.by_id("go-available").is_enabled() else None
        self.wait(lambda d: self.by_id("agent-state").get_attribute("data-state") == "available", "state available")
        self.wait(lambda d: self.by_id("live").get_attribute("data-state") == "ok", "the live stream")

    def keyboard(self):
        """Tabs through the page from the top: every control is reached, each with a visible focus indicator."""
        controls = self.js(CONTROLS_JS)
        # Start at the top: the first control in the page (the skip link), then Tab on from there.
        self.js("window.scrollTo(0, 0); document.querySelector('[data-kbd=\"0\"]').focus();")
        reached, invisible = [], []
        first = self.js(FOCUSED_JS)
        if first:
            reached.append(first["key"])
        for _ in range(len(controls) + 5):
            self.driver.switch_to.active_element.send_keys(Keys.TAB)
            focused = self.js(FOCUSED_JS)
            if focused:
                reached.append(focused["key"])
                if not focused["visible"]:
                    invisible.append(focused["key"])
        missing = [c for c in controls if c not in reached]
        return {"controls": len(controls), "missing": missing, "no_focus_indicator": sorted(set(invisible))}

    def contrast(self):
        return self.js(CONTRAST_JS)

    def fits(self, width, height):
        """At this window size, nothing sticks out sideways."""
        self.driver.set_window_size(width, height)
        # Charts follow a resize a few frames later (a ResizeObserver): wait until the page has settled, bounded.
        measure = "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        deadline = time.monotonic() + 5
        overflow = self.js(measure)
        while overflow > 0 and time.monotonic() < deadline:
            self.js("return new Promise((resolve) => requestAnimationFrame(() => resolve()))")
            overflow = self.js(measure)
        self.driver.set_window_size(1280, 720)
        return overflow

    def errors(self):
        """Console errors other than the expected 401 of a page's first session check and the favicon."""
        entries = []
        for entry in self.driver.get_log("browser"):
            message = entry.get("message", "")
            if entry.get("level") == "SEVERE" and "favicon.ico" not in message and "/api/v1/session" not in message:
                entries.append(message)
        return entries

    def screenshot(self, path):
        if path:
            self.js("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.driver.save_screenshot(path)

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass


def step(name):
    print("STEP " + name, flush=True)


def data(name, value):
    print("DATA " + name + " " + json.dumps(value, sort_keys=True), flush=True)


def fail(message):
    print("FAIL " + message, flush=True)
    raise SystemExit(1)


def wait_for_go(args, name):
    path = os.path.join(args.dir, "go-" + name)
    deadline = time.monotonic() + args.timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            fail("timed out waiting for go-" + name)
        time.sleep(0.02)


def pop_of(console):
    """The newest pop on screen: its call id, when it was rendered (ms since 1970), the name and last interaction shown."""
    return console.js("""
        const card = document.querySelector('#pops .pop');
        if (!card) return null;
        const text = (selector) => { const node = card.querySelector(selector); return node ? node.textContent : null; };
        return { call_id: card.dataset.callId, rendered_at: parseFloat(card.dataset.renderedAt), name: text('.caller'),
                 last: text('.last dd'), number: text('.number dd'), tier: text('.tier dd'), phase: card.dataset.phase };
    """)


def checks(console, name):
    data(name + "-keyboard", console.keyboard())
    data(name + "-contrast", console.contrast())
    data(name + "-overflow-narrow", console.fits(800, 900))
    data(name + "-errors", console.errors())


def agent_call(args):
    console = Console(args, args.agent)
    try:
        console.log_in_agent(args.agent, args.password)
        console.go_available()
        step("available")
        console.wait(lambda d: pop_of(console) is not None, "the screen pop")
        data("pop", pop_of(console))
        console.wait(lambda d: console.js("return document.querySelectorAll('#customer-timeline li.event').length") > 0, "the timeline")
        console.wait(lambda d: (pop_of(console) or {}).get("phase") == "on_call", "the call answered")
        step("on_call")
        data("timeline", console.js("return [...document.querySelectorAll('#customer-timeline li.event')].map((li) => li.dataset.channel)"))
        data("voicemail", console.driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const audio = document.querySelector('#customer-timeline li[data-channel="voicemail"] audio');
            if (!audio) { done({ status: 0 }); return; }
            fetch(audio.src, { credentials: 'same-origin' }).then(async (r) => done({ status: r.status, type: r.headers.get('content-type'),
              size: (await r.arrayBuffer()).byteLength })).catch((e) => done({ status: -1, error: String(e) }));
        """))
        # The channel filters: only notes and calls left, then all again.
        for channel in ["sms", "chat", "email", "social", "voicemail"]:
            console.by_id("customer-filter-" + channel).click()
        data("filtered", console.js("return [...document.querySelectorAll('#customer-timeline li.event')].filter((li) => !li.hidden).map((li) => li.dataset.channel)"))
        for channel in ["sms", "chat", "email", "social", "voicemail"]:
            console.by_id("customer-filter-" + channel).click()
        console.screenshot(args.screenshot)
        console.wait(lambda d: (pop_of(console) or {}).get("phase") == "ended", "the call ended")
        step("ended")
        # The wrap-up, from the keyboard: outcome, note, then Enter on the button.
        Select(console.by_id("wrapup-disposition")).select_by_value("resolved")
        console.by_id("wrapup-note").send_keys(args.note)
        console.wait(lambda d: console.by_id("wrapup-submit").is_enabled(), "the wrap-up form")
        call_id = console.by_id("wrapup").get_attribute("data-call-id")
        console.by_id("wrapup-submit").send_keys(Keys.ENTER)
        console.wait(lambda d: console.by_id("wrapup").get_attribute("data-call-id") == "", "the wrap-up saved")
        console.wait(lambda d: console.js("return [...document.querySelectorAll('#customer-timeline li.event')].some((li) => li.dataset.channel === 'note')"),
                     "the note on the timeline")
        data("wrapped", {"call_id": call_id})
        console.wait(lambda d: console.by_id("agent-state").get_attribute("data-state") == "available", "available again after wrap-up")
        step("wrapped")
        checks(console, "agent")
        # German: strings and dates in the agent's language.
        Select(console.by_id("lang")).select_by_value("de")
        data("german", {"heading": console.by_id("calls-heading").text, "lang": console.js("return document.documentElement.lang"),
                        "time": console.js("const t = document.querySelector('#customer-timeline time'); return t ? t.textContent : ''")})
        Select(console.by_id("lang")).select_by_value("en")
        # The customer's page, as the pop's Call-Info URL opens it: straight away with a session; without one,
        # through the login and back.
        if args.contact_page:
            console.by_id("logout").click()
            console.wait(lambda d: d.current_url.endswith("/console/index.html"), "the login page after logout")
            console.driver.get(args.base + args.contact_page)
            console.wait(lambda d: "index.html?next=" in d.current_url, "the login page, with the way back")
            console.by_id("agent-name").send_keys(args.agent)
            console.by_id("agent-password").send_keys(args.password)
            console.by_id("agent-login-button").click()
            console.wait(lambda d: "contact.html" in d.current_url and console.js("return document.body.dataset.ready") == "true", "the customer's page")
            console.wait(lambda d: console.js("return document.querySelectorAll('#contact-timeline li.event').length") > 0, "its timeline")
            data("contact-page", {"name": console.by_id("contact-name").text, "company": console.by_id("contact-company").text,
                                  "events": console.js("return document.querySelectorAll('#contact-timeline li.event').length"),
                                  "url": console.driver.current_url})
        step("done")
    finally:
        console.quit()


def ring_all(args):
    consoles = [Console(args, name) for name in args.agents.split(",")]
    try:
        for console in consoles:
            console.log_in_agent(console.name, args.password_for(console.name))
            console.go_available()
        step("available")
        for console in consoles:
            console.wait(lambda d, c=console: pop_of(c) is not None, "the pop on " + console.name)
            data("pop-" + console.name, pop_of(console))
        # One answers: its pop stays and goes on the call; the other's leaves the screen.
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            phases = sorted(str((pop_of(c) or {}).get("phase")) for c in consoles)
            if phases in (["None", "on_call"], ["None", "ended"]):
                break
            time.sleep(0.02)
        data("after-answer", {c.name: {"pop": pop_of(c), "withdrawn": c.js("return window.omnigate.popWithdrawn")} for c in consoles})
        step("done")
    finally:
        for console in consoles:
            console.quit()


def click_to_call(args):
    console = Console(args, args.agent)
    try:
        console.log_in_agent(args.agent, args.password)
        console.by_id("dial-number").send_keys(args.number)
        console.by_id("dial-number").send_keys(Keys.ENTER)
        step("dialing")
        console.wait(lambda d: console.by_id("dial-status").get_attribute("data-state") in ("connecting", "failed"), "the call connecting")
        data("dial-status", console.by_id("dial-status").text)
        data("errors", {"error": console.by_id("error").text})
        step("done")
    finally:
        console.quit()


def sms(args):
    console = Console(args, args.agent)
    try:
        console.log_in_agent(args.agent, args.password)
        console.by_id("sms-number").send_keys(args.number)
        console.by_id("sms-open-button").click()
        console.by_id("sms-text").send_keys(args.message)
        console.by_id("sms-send-button").click()
        console.wait(lambda d: console.js("return [...document.querySelectorAll('#sms-thread li[data-direction=\"outbound\"]')].some((li) => li.textContent.includes(arguments[0]))", args.message),
                     "the message sent in the thread")
        step("sent")
        wait_for_go(args, "reply")
        step("waiting-reply")
        console.wait(lambda d: console.js("return [...document.querySelectorAll('#sms-thread li[data-direction=\"inbound\"] .text')].some((p) => p.textContent.includes(arguments[0]))", args.reply),
                     "the customer's reply")
        data("thread", console.js("return [...document.querySelectorAll('#sms-thread li')].map((li) => ({direction: li.dataset.direction, text: li.querySelector('.text') ? li.querySelector('.text').textContent : ''}))"))
        step("done")
    finally:
        console.quit()


def supervisor(args):
    console = Console(args, "supervisor")
    try:
        console.log_in_token(args.token)
        console.js("document.getElementById('kpi-from').value = arguments[0]; document.getElementById('kpi-to').value = arguments[1];", args.period_from, args.period_to)
        console.js("document.getElementById('kpi-window').value = arguments[0];", str(args.window))
        console.js("document.body.dataset.report = '';")
        console.by_id("kpi-show").click()
        console.wait(lambda d: console.js("return document.body.dataset.report") == "loaded", "the journey figures")
        figures = console.js("""
            const text = (id) => document.getElementById(id).textContent;
            return { fcr: text('kpi-fcr'), repeat: text('kpi-repeat'), switches: text('kpi-switches'), journeys: text('kpi-journeys'),
                     contacts: text('kpi-contacts'), chart: typeof window.Chart === 'function' && !!document.querySelector('#chart-channels').width,
                     channels: [...document.querySelectorAll('#kpi-channels tbody tr')].map((tr) => ({ channel: tr.dataset.channel,
                       cells: [...tr.querySelectorAll('td')].map((td) => td.textContent) })),
                     queues: [...document.querySelectorAll('#queues tbody tr')].map((tr) => tr.dataset.queue),
                     agents: [...document.querySelectorAll('#agents tbody tr')].map((tr) => tr.dataset.agent) };
        """)
        data("figures", figures)
        console.screenshot(args.screenshot)
        step("figures")
        # Queues and agents live: the test pauses both agents and a caller waits in the queue.
        wait_for_go(args, "caller")
        live = """
            const row = document.querySelector('#queues tbody tr[data-queue="support"]');
            const states = [...document.querySelectorAll('#agents tbody tr td[data-state]')].map((td) => td.dataset.state);
            return row ? { waiting: row.querySelector('.waiting').textContent, longest: row.querySelector('.longest').textContent,
                           members: row.querySelector('td:last-child').textContent, states } : null;
        """
        console.wait(lambda d: (lambda r: r and r["waiting"] == "1" and r["longest"] != "0 s" and r["states"] == ["paused", "paused"])(console.js(live)),
                     "a caller waiting, for longer than a second, with both agents paused")
        data("live", console.js(live))
        checks(console, "supervisor")
        Select(console.by_id("lang")).select_by_value("de")
        data("german", {"fcr": console.by_id("kpi-fcr").text, "heading": console.by_id("kpi-heading").text})
        step("done")
    finally:
        console.quit()


class TabConsole(Console):
    """A console in a tab of a browser shared with others, on a host of its own (NAME.localhost, which
    Chromium takes for loopback): each tab keeps its own session cookie, one browser process serves all."""

    def __init__(self, args, name, driver):
        self.driver = driver
        self.name = name
        self.args = argparse.Namespace(**vars(args))
        self.args.base = re.sub(r"//[^:/]+", "//" + name + ".localhost", args.base, count=1)
        driver.switch_to.new_window("tab")
        self.handle = driver.current_window_handle

    def js(self, script, *arguments):
        self.driver.switch_to.window(self.handle)
        return self.driver.execute_script(script, *arguments)

    def quit(self):
        pass


def pops(args):
    """The benchmark: --consoles agents' consoles, each logged in and available; records every pop's render time.
    With --tabs, all consoles are tabs of one browser (each on its own NAME.localhost host)."""
    names = args.agents.split(",")
    shared = chromium(args) if args.tabs else None
    consoles = [TabConsole(args, name, shared) if shared else Console(args, name) for name in names]
    try:
        for console in consoles:
            if shared:
                shared.switch_to.window(console.handle)
            console.log_in_agent(console.name, args.password_for(console.name))
            console.go_available()
        step("available")
        wait_for_go(args, "collect")
        result = {}
        for console in consoles:
            result[console.name] = console.js("return window.omnigate.popRendered")
        data("rendered", result)
        step("done")
    finally:
        for console in consoles:
            console.quit()
        if shared:
            try:
                shared.quit()
            except WebDriverException:
                pass


def main():
    # Stopped (SIGTERM) by a test or the benchmark: leave through the scenarios' finally blocks, which quit the browsers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--scenario", required=True, choices=["agent-call", "ring-all", "click-to-call", "sms", "supervisor", "pops"])
    parser.add_argument("--agent", default="alice")
    parser.add_argument("--agents", default="alice,bob")
    parser.add_argument("--password", default="")
    parser.add_argument("--passwords", default="", help="name=password,… for several agents")
    parser.add_argument("--token", default="")
    parser.add_argument("--number", default="")
    parser.add_argument("--message", default="")
    parser.add_argument("--note", default="")
    parser.add_argument("--reply", default="")
    parser.add_argument("--contact-page", default="", help="a path to open after logging out, as a softphone would")
    parser.add_argument("--period-from", default="")
    parser.add_argument("--period-to", default="")
    parser.add_argument("--window", type=int, default=7)
    parser.add_argument("--tabs", action="store_true", help="pops: every console a tab of one browser")
    parser.add_argument("--screenshot", default="")
    parser.add_argument("--lang", default="en-GB")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    table = dict(item.split("=", 1) for item in args.passwords.split(",") if "=" in item)
    args.password_for = lambda name: table.get(name, args.password)
    scenarios = {"agent-call": agent_call, "ring-all": ring_all, "click-to-call": click_to_call, "sms": sms,
                 "supervisor": supervisor, "pops": pops}
    try:
        scenarios[args.scenario](args)
    except WebDriverException as error:
        fail("browser: " + str(error).splitlines()[0])


if __name__ == "__main__":
    main()
