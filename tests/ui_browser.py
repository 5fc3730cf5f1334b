#!/usr/bin/env python3
"""Browser test of the ctmpl agent web UI (Selenium + Debian's Chromium, headless).

Usage: ui_browser.py [CTMPL] [--screenshot docs/ui.png]

CTMPL is the ctmpl binary (default: the CTMPL environment variable). The script starts
`CTMPL agent -dev -http-port 0`, registers services and KV keys through the HTTP API and
checks that the open page shows them, live, without reloading. The browser reaches the agent
through a small proxy that can hold answers back, so that the loading state is seen for sure
before the data. It exits non-zero with a message on the first failure and always stops the
agent, the proxy and the browser.

Needs the Debian packages chromium and chromium-driver, and Python's selenium.
"""

import argparse
import http.server
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

WAIT_SECONDS = 30  # per condition; generous for a loaded CI machine


class Failure(Exception):
    """A check of the scenario did not hold."""


# --- The agent: a real `ctmpl agent -dev` on a free port. -----------------------------------


def start_agent(binary):
    """Starts the agent; returns (process, "127.0.0.1:PORT") once it listens."""
    proc = subprocess.Popen(
        # A fixed node name: the screenshot is then the same on every host (docs/ui.png).
        [binary, "agent", "-dev", "-http-port", "0", "-node", "ctmpl-demo"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = queue.Queue()

    def drain():  # keep reading stderr so the agent never blocks on a full pipe
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            raise Failure(f"the agent exited before listening (status {proc.wait()})")
        if "HTTP API on " in line:
            return proc, line.split("HTTP API on ", 1)[1].split(",", 1)[0].strip()
    stop_agent(proc)
    raise Failure("the agent did not print its HTTP address within 30 s")


def stop_agent(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def api(addr, method, path, body=None):
    """One HTTP API call; returns (status, parsed JSON or None)."""
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{addr}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return 404, None
        raise Failure(f"{method} {path}: HTTP {err.code}: {err.read().decode().strip()}")


def put_ok(addr, path, body):
    status, _ = api(addr, "PUT", path, body)
    if status != 200:
        raise Failure(f"PUT {path}: HTTP {status}")


def ctmpl_version(binary):
    """ctmpl's own version, as `ctmpl -v` prints it ("ctmpl v0.1.0" -> "0.1.0")."""
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True).stdout
    return out.split()[1].lstrip("v")


# --- A proxy in front of the agent that holds answers to chosen paths until released. ------


class HoldingProxy:
    """Forwards every request to the agent; requests whose path starts with a held prefix
    wait until release(prefix). Lets the test see what the page shows before an answer."""

    def __init__(self, upstream, hold):
        self.upstream = upstream
        self.held = set(hold)
        self.cond = threading.Condition()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def forward(self):
                with proxy.cond:
                    proxy.cond.wait_for(
                        lambda: not any(self.path.startswith(p) for p in proxy.held),
                        timeout=4 * WAIT_SECONDS)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                req = urllib.request.Request(f"http://{proxy.upstream}{self.path}", data=body,
                                             method=self.command)
                try:
                    # Longer than a blocking query's wait=60s.
                    with urllib.request.urlopen(req, timeout=90) as resp:
                        status, headers, data = resp.status, resp.headers, resp.read()
                except urllib.error.HTTPError as err:
                    status, headers, data = err.code, err.headers, err.read()
                except OSError:
                    return  # the agent went away: the browser sees a dropped connection
                try:
                    self.send_response(status)
                    for name in ("Content-Type", "X-Consul-Index", "Cache-Control"):
                        if headers.get(name):
                            self.send_header(name, headers[name])
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the browser gave up on this request

            do_GET = do_PUT = do_DELETE = do_HEAD = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self, prefix):
        with self.cond:
            self.held.discard(prefix)
            self.cond.notify_all()

    def close(self):
        with self.cond:
            self.held.clear()
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


# --- The browser: headless Chromium through chromedriver. -----------------------------------


def find_browser():
    """Paths of Debian's chromium and chromedriver, or a Failure naming the package."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = []
    if not browser:
        missing.append("chromium")
    if not driver:
        missing.append("chromium-driver")
    if missing:
        raise Failure(
            f"missing {' and '.join(missing)}: install with `apt-get install -y {' '.join(missing)}`"
        )
    return browser, driver


def start_browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise Failure("Python's selenium is missing: `pip install selenium` (in a virtualenv)")
    browser, driver = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager never tries to download anything.
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


class Page:
    """The open UI, with waits that fail with a readable message."""

    def __init__(self, driver):
        from selenium.common.exceptions import (
            NoSuchElementException,
            StaleElementReferenceException,
        )
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.By = By
        # The UI re-renders a view on every change: an element found a moment ago may be gone,
        # so a wait retries its condition on a stale element instead of failing.
        self.wait = WebDriverWait(
            driver,
            WAIT_SECONDS,
            poll_frequency=0.1,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        )

    def until(self, what, condition):
        from selenium.common.exceptions import TimeoutException

        try:
            return self.wait.until(lambda d: condition())
        except TimeoutException:
            raise Failure(f"after {WAIT_SECONDS} s the page still does not show {what}")

    def find(self, css):
        found = self.driver.find_elements(self.By.CSS_SELECTOR, css)
        return found[0] if found else None

    def text(self, css):
        found = self.find(css)
        return found.text if found else ""

    def element(self, css, what):
        return self.until(what, lambda: (lambda e: e if e and e.is_displayed() else None)(self.find(css)))

    def gone(self, css, what):
        self.until(what, lambda: self.find(css) is None)

    def click(self, css, what):
        def clicked():
            found = self.find(css)
            if found is None or not found.is_displayed():
                return False
            found.click()
            return True

        self.until(what, clicked)


# --- The scenario. --------------------------------------------------------------------------


def step(message):
    print(f"[{time.monotonic() - START:6.2f}s] {message}", flush=True)


def scenario(addr, page, screenshot, proxy, version):
    driver = page.driver

    step("register web (passing TTL check) and db (critical TTL check)")
    put_ok(addr, "/v1/agent/service/register", {
        "Name": "web", "Port": 8080, "Tags": ["http", "v1"],
        "Check": {"TTL": "1h", "Status": "passing"},
    })
    put_ok(addr, "/v1/agent/service/register", {
        "Name": "db", "Port": 5432, "Tags": ["primary"],
        "Check": {"TTL": "1h", "Status": "critical"},
    })

    step("load /ui/ with the service list and instances held back: a loading state")
    driver.get(f"http://{proxy.addr}/ui/")
    page.until("the datacenter dc1 in the header", lambda: page.text("#agent-dc") == "dc1")
    page.until("the connection as live (the checks answered)",
               lambda: page.find("#connection").get_attribute("data-state") == "live")
    page.element("#services-summary [data-loading]", "the services view loading")
    no_false_health(page, "before the service list")

    step("the header shows ctmpl's version beside the Consul API's")
    page.until(f"ctmpl {version} in the header",
               lambda: page.text("#agent-ctmpl-version") == version)
    page.until("Consul API 1.18.0 in the header", lambda: page.text("#agent-version") == "1.18.0")

    step("the service list arrives, their instances still held: each card is loading")
    proxy.release("/v1/catalog/services")
    page.element('article[data-service="web"][data-status="loading"] [data-loading]',
                 "web's card loading its instances")
    page.element('article[data-service="db"][data-status="loading"]', "db's card loading")
    if "loading instances" not in page.text("#services-summary"):
        raise Failure(f"the summary does not say it is loading: {page.text('#services-summary')!r}")
    no_false_health(page, "before the instances")

    step("the instances arrive")
    proxy.release("/v1/health/service/")
    page.element('article[data-service="web"][data-status="passing"]', "service web as passing")
    page.element('article[data-service="web"] li.check[data-status="passing"]',
                 "web's passing check")
    page.element('article[data-service="db"][data-status="critical"]', "service db as critical")
    page.element('article[data-service="db"] li.check[data-status="critical"]',
                 "db's critical check")
    page.until("the connection as live",
               lambda: page.find("#connection").get_attribute("data-state") == "live")

    driver.execute_script("window.__notReloaded = true")

    step("register api while the page is open")
    put_ok(addr, "/v1/agent/service/register", {
        "Name": "api", "Port": 9090, "Tags": ["v2", "grpc"],
        "Check": {"TTL": "1h", "Status": "warning", "Notes": "degraded"},
    })
    page.element('article[data-service="api"][data-status="warning"]',
                 "service api, registered while the page was open")

    step("fail and pass web's check; the page follows")
    put_ok(addr, "/v1/agent/check/fail/service:web?note=connection+refused", "")
    page.element('article[data-service="web"][data-status="critical"]', "web turning critical")
    put_ok(addr, "/v1/agent/check/pass/service:web?note=HTTP+GET+%2Fhealth:+200+OK", "")
    page.element('article[data-service="web"][data-status="passing"]', "web passing again")
    web_output = 'article[data-service="web"] li[data-check="service:web"] .check-output'
    page.until("web's check output", lambda: "200 OK" in page.text(web_output))

    step("put a KV key and browse to it")
    put_ok(addr, "/v1/kv/app/config/greeting", "hello from the API")
    page.click('a.tab[data-view="kv"]', "the Key/Value tab")
    page.click('tr[data-key="app/"] a', "the folder app/")
    page.click('tr[data-key="app/config/"] a', "the folder app/config/")
    page.click('tr[data-key="app/config/greeting"] a', "the key app/config/greeting")
    page.until("the value of app/config/greeting",
               lambda: page.find("#kv-value").get_attribute("value") == "hello from the API")

    step("a key put through the API appears in the open folder")
    put_ok(addr, "/v1/kv/app/config/port", "8080")
    page.element('tr[data-key="app/config/port"]', "the key app/config/port, put while open")

    step("edit and save a value in the browser")
    value = page.element("#kv-value", "the value editor")
    value.clear()
    value.send_keys("edited in the browser")
    page.click("#kv-save", "the Save button")
    page.until("the saved value in the agent", lambda: kv_value(addr, "app/config/greeting")
               == "edited in the browser")

    step("create a key in the browser")
    page.click("#kv-new", "the New key button")
    key = page.element("#kv-key", "the key field")
    key.send_keys("feature-flag")
    page.element("#kv-value", "the value editor").send_keys("on")
    page.click("#kv-save", "the Create button")
    page.until("the created key in the agent",
               lambda: kv_value(addr, "app/config/feature-flag") == "on")
    page.element('tr[data-key="app/config/feature-flag"]', "the created key in the listing")

    step("delete a key in the browser")
    page.click('tr[data-key="app/config/port"] a', "the key app/config/port")
    page.until("the value of app/config/port",
               lambda: page.find("#kv-value").get_attribute("value") == "8080")
    page.click("#kv-delete", "the Delete button")
    page.until("the delete confirmation", lambda: alert_accepted(driver))
    page.gone('tr[data-key="app/config/port"]', "app/config/port removed from the listing")
    if api(addr, "GET", "/v1/kv/app/config/port")[0] != 404:
        raise Failure("app/config/port still exists after Delete")

    step("Nodes: the node stays passing while db's service check is critical")
    node = api(addr, "GET", "/v1/agent/self")[1]["Config"]["NodeName"]
    card = f'article[data-node="{node}"]'
    page.click('a.tab[data-view="nodes"]', "the Nodes tab")
    page.element(f'{card} tr[data-check="service:db"][data-status="critical"]',
                 "db's critical check listed on the node")
    page.until("the node as passing despite db's critical check",
               lambda: page.find(card).get_attribute("data-status") == "passing")
    page.element(f'{card} [data-service-status="critical"]',
                 "a note that a service check on the node is critical")

    step("a critical node-level check turns the node critical, and back")
    put_ok(addr, "/v1/agent/check/register",
           {"ID": "disk", "Name": "disk space", "TTL": "1h", "Status": "critical"})
    page.element(f'{card}[data-status="critical"]', "the node critical on its own check")
    put_ok(addr, "/v1/agent/check/deregister/disk", "")
    page.element(f'{card}[data-status="passing"]', "the node passing again")

    step("back to Services")
    page.click('a.tab[data-view="services"]', "the Services tab")
    for name in ("web", "db", "api"):
        page.element(f'article[data-service="{name}"]', f"service {name}")
    if not driver.execute_script("return window.__notReloaded === true"):
        raise Failure("the page reloaded: live updates must not need a reload")

    if screenshot:
        # A 1280x900 page: grow the window by what the browser keeps for itself.
        inner = driver.execute_script("return window.innerHeight")
        driver.set_window_size(1280, 900 + (900 - inner))
        driver.execute_script("window.scrollTo(0, 0)")
        page.until("the last toast gone", lambda: not page.find("#toast").is_displayed())
        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        if not driver.save_screenshot(screenshot):
            raise Failure(f"could not write the screenshot {screenshot}")
        step(f"screenshot written to {screenshot}")


def no_false_health(page, when):
    """While loading, nothing claims a health: no "0 of 0" instances, no state counts."""
    text = page.text("#view-services")
    for claim in ("0 of 0", "0 passing", "no instances"):
        if claim in text:
            raise Failure(f"{when}, the services view shows {claim!r}: {text!r}")
    if page.find("#services-summary .badge") is not None:
        raise Failure(f"{when}, the summary shows health counts: {page.text('#services-summary')!r}")


def kv_value(addr, key):
    status, entries = api(addr, "GET", f"/v1/kv/{key}")
    if status != 200 or not entries:
        return None
    import base64

    return base64.b64decode(entries[0]["Value"] or "").decode()


def alert_accepted(driver):
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert.accept()
        return True
    except NoAlertPresentException:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ctmpl", nargs="?", default=os.environ.get("CTMPL"),
                        help="the ctmpl binary (default: $CTMPL)")
    parser.add_argument("--screenshot", metavar="PNG", help="save a 1280x900 screenshot here")
    args = parser.parse_args()
    if not args.ctmpl:
        print("FAIL: give the ctmpl binary as the first argument or in CTMPL", file=sys.stderr)
        return 2

    agent = driver = proxy = None
    passed = False
    try:
        find_browser()
        version = ctmpl_version(args.ctmpl)
        agent, addr = start_agent(args.ctmpl)
        proxy = HoldingProxy(addr, hold=("/v1/catalog/services", "/v1/health/service/"))
        step(f"agent on {addr}, ctmpl {version}; the browser goes through {proxy.addr}")
        driver = start_browser()
        scenario(addr, Page(driver), args.screenshot, proxy, version)
        passed = True
        step("all UI checks passed")
    except Failure as err:
        print(f"FAIL: {err}", file=sys.stderr)
    except Exception as err:  # noqa: BLE001 - any crash is a failure with its message
        first_line = (str(err).strip().splitlines() or [""])[0]  # not WebDriver's stack dump
        print(f"FAIL: {type(err).__name__}: {first_line}", file=sys.stderr)
    finally:
        if driver is not None:
            if not passed:
                diagnose(driver)
            try:
                driver.quit()
            except Exception:  # noqa: BLE001
                pass
        if proxy is not None:
            proxy.close()
        if agent is not None:
            stop_agent(agent)
    return 0 if passed else 1


def diagnose(driver):
    """On failure: the browser's console and a screenshot of the page, for the log."""
    try:
        for entry in driver.get_log("browser"):
            print(f"  browser {entry['level']}: {entry['message']}", file=sys.stderr)
        path = os.path.join(tempfile.gettempdir(), "ctmpl-ui-failure.png")
        driver.save_screenshot(path)
        print(f"  page at failure: {driver.current_url}, screenshot {path}", file=sys.stderr)
    except Exception:  # noqa: BLE001 - diagnostics only
        pass


START = time.monotonic()

if __name__ == "__main__":
    sys.exit(main())
