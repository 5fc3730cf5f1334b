#!/usr/bin/env python3
"""Browser test of the ctmpl agent web UI (Selenium + Debian's Chromium, headless).

Usage: ui_browser.py [CTMPL] [--screenshot docs/ui.png]

CTMPL is the ctmpl binary (default: the CTMPL environment variable). The script starts
`CTMPL agent -dev -http-port 0`, registers services and KV keys through the HTTP API and
checks that the open page shows them, live, without reloading. It exits non-zero with a
message on the first failure and always stops the agent and the browser.

Needs the Debian packages chromium and chromium-driver, and Python's selenium.
"""

import argparse
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
        [binary, "agent", "-dev", "-http-port", "0"],
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


def scenario(addr, page, screenshot):
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

    step("load /ui/")
    driver.get(f"http://{addr}/ui/")
    page.until("the datacenter dc1 in the header", lambda: page.text("#agent-dc") == "dc1")
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

    agent = driver = None
    passed = False
    try:
        find_browser()
        agent, addr = start_agent(args.ctmpl)
        step(f"agent on {addr}")
        driver = start_browser()
        scenario(addr, Page(driver), args.screenshot)
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
