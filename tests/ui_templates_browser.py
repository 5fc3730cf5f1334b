#!/usr/bin/env python3
"""Browser test of the web UI's Templates view under `ctmpl -dev` (Selenium + Chromium).

Usage: ui_templates_browser.py [CTMPL] [--screenshot docs/ui-templates.png]

Starts `CTMPL -dev -dev-http-port 0` with two templates in a temporary folder: greeting.tmpl
reads the key app/greeting, which the test writes once the page shows it waiting, and
motd.tmpl reads app/motd, which stays missing. The page must show each template, its
dependencies and what it waits for, and follow the render live. The browser set-up, waits and
diagnostics are tests/ui_browser.py's. Exits non-zero with a message on the first failure;
always stops ctmpl (SIGTERM), the browser and removes the folder.
"""

import argparse
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

from ui_browser import Failure, Page, diagnose, find_browser, put_ok, start_browser, stop_agent

START = time.monotonic()


def step(message):
    print(f"[{time.monotonic() - START:6.2f}s] {message}", flush=True)


def start_dev(binary, folder):
    """Starts `ctmpl -dev` rendering two templates; returns (process, agent address)."""
    with open(os.path.join(folder, "greeting.tmpl"), "w") as f:
        f.write('greeting = {{ key "app/greeting" }}\n')
    with open(os.path.join(folder, "motd.tmpl"), "w") as f:
        f.write('motd = {{ key "app/motd" }}\n')
    proc = subprocess.Popen(
        [binary, "-dev", "-dev-http-port", "0",
         "-template", "greeting.tmpl:greeting.conf",
         "-template", "motd.tmpl:motd.conf"],
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = queue.Queue()

    def drain():  # keep reading stderr so ctmpl never blocks on a full pipe
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    marker = "embedded agent (as `ctmpl agent -dev`) on "
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            raise Failure(f"ctmpl -dev exited before listening (status {proc.wait()})")
        if marker in line:
            return proc, line.split(marker, 1)[1].strip()
    stop_agent(proc)
    raise Failure("ctmpl -dev did not print its agent's address within 30 s")


def card(name):
    return f'article[data-template="{name}"]'


def scenario(addr, page, screenshot):
    driver = page.driver
    step("open the UI: the Templates tab is there under ctmpl -dev")
    driver.get(f"http://{addr}/ui/")
    page.click('a.tab[data-view="templates"]', "the Templates tab")
    greeting = card("greeting.tmpl")
    motd = card("motd.tmpl")
    page.element(greeting, "the template greeting.tmpl")
    page.until("greeting.tmpl waiting for app/greeting",
               lambda: page.find(greeting).get_attribute("data-state") == "waiting")
    dep = f'{greeting} tr[data-dependency="kv.block(app/greeting)"]'
    page.until("its dependency kv.block(app/greeting) marked missing",
               lambda: page.find(dep).get_attribute("data-missing") == "true")
    if "Waiting for kv.block(app/greeting)" not in page.text(f"{greeting} .template-waiting"):
        raise Failure(f"the card does not say what it waits for: {page.text(greeting)!r}")

    step("write app/greeting: greeting.tmpl renders, motd.tmpl still waits")
    put_ok(addr, "/v1/kv/app/greeting", "hello")
    page.until("greeting.tmpl rendered",
               lambda: page.find(greeting).get_attribute("data-state") == "rendered")
    page.until("its dependency received",
               lambda: page.find(dep).get_attribute("data-missing") == "false")
    page.until("the render counted", lambda: "1 render " in page.text(f"{greeting} .template-render"))
    if page.find(f"{greeting} .template-waiting") is not None:
        raise Failure("a rendered template still says it is waiting")
    if page.find(motd).get_attribute("data-state") != "waiting":
        raise Failure("motd.tmpl should still wait for app/motd")
    if "greeting.conf" not in page.text(greeting):
        raise Failure(f"the destination is not shown: {page.text(greeting)!r}")
    summary = page.text("#templates-summary")
    if "2 templates" not in summary or "1 rendered" not in summary or "1 waiting" not in summary:
        raise Failure(f"the summary is {summary!r}")

    if screenshot:
        inner = driver.execute_script("return window.innerHeight")
        driver.set_window_size(1280, 900 + (900 - inner))
        driver.execute_script("window.scrollTo(0, 0)")
        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        if not driver.save_screenshot(screenshot):
            raise Failure(f"could not write the screenshot {screenshot}")
        step(f"screenshot written to {screenshot}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ctmpl", nargs="?", default=os.environ.get("CTMPL"),
                        help="the ctmpl binary (default: $CTMPL)")
    parser.add_argument("--screenshot", metavar="PNG", help="save a 1280x900 screenshot here")
    args = parser.parse_args()
    if not args.ctmpl:
        print("FAIL: give the ctmpl binary as the first argument or in CTMPL", file=sys.stderr)
        return 2

    proc = driver = None
    passed = False
    with tempfile.TemporaryDirectory(prefix="ctmpl-ui-templates-") as folder:
        try:
            find_browser()
            # ctmpl runs in the temporary folder: a relative path to it must still lead there.
            binary = os.path.abspath(args.ctmpl) if os.sep in args.ctmpl else args.ctmpl
            proc, addr = start_dev(binary, folder)
            step(f"ctmpl -dev's agent on {addr}")
            driver = start_browser()
            scenario(addr, Page(driver), args.screenshot)
            passed = True
            step("all Templates view checks passed")
        except Failure as err:
            print(f"FAIL: {err}", file=sys.stderr)
        except Exception as err:  # noqa: BLE001 - any crash is a failure with its message
            first_line = (str(err).strip().splitlines() or [""])[0]
            print(f"FAIL: {type(err).__name__}: {first_line}", file=sys.stderr)
        finally:
            if driver is not None:
                if not passed:
                    diagnose(driver)
                try:
                    driver.quit()
                except Exception:  # noqa: BLE001
                    pass
            if proc is not None:
                stop_agent(proc)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
