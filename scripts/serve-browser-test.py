#!/usr/bin/env python3
"""Drives `lookout serve`'s web page in headless Chromium, as a user would, against a running server.

    python3 scripts/serve-browser-test.py --url http://127.0.0.1:PORT --token TOKEN --add-url URL \
        --screenshots docs/screenshots
    python3 scripts/serve-browser-test.py --server .build/debug/lookout --screenshots docs/screenshots

With --server it starts `lookout serve` itself (port 0, a token, a temporary store, a rule that fires on any shape
anywhere, no stream: the demo stream), adds Tests/Fixtures/video/shapes-640x384.mp4, and at the end checks that the
server exits 0 on SIGTERM.

Steps: the page asks for a token (when the server has one) and takes it from its form and from `#token=`; a camera's
tile shows live frames; adding a camera under a name in use shows the server's error; a camera added through the form
(`added`, --add-url, looping) shows frames, is paused and resumed, then removed from its detail view; the events list
shows an event with its snapshot, and a new event arrives through the live stream; a zone drawn with 4 clicks on a
camera's still frame is saved and listed by GET /api/v1/rules; with more than 50 events, "Older" appends the next page
(with --server it waits for them). The server needs a rule that fires within --events-timeout seconds.

Needs Debian's `chromium`, `chromium-driver` and `python3-selenium` (under another `python3` without selenium, it runs
itself again with /usr/bin/python3). Prints each step as it passes; on a failure, one line `FAIL: reason` (then the
browser's console errors and the server's stderr, if any; failure.png in the screenshots folder) and exit status 1.
Every wait is an explicit condition with a timeout.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    # Debian's python3-selenium is there for the system's Python only: run under it when another `python3` came first.
    system = "/usr/bin/python3"
    if os.path.exists(system) and os.path.realpath(sys.executable) != os.path.realpath(system):
        os.execv(system, [system, *sys.argv])
    sys.exit(
        "FAIL: no selenium: apt-get install -y chromium chromium-driver python3-selenium (and use /usr/bin/python3)"
    )


class Failure(Exception):
    pass


# Fires for every shape as soon as it is tracked: the zone is the whole frame.
RULES = """zones:
  - {name: everywhere, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]}
rules:
  - {name: anything-enters, trigger: enter, zone: everywhere}
"""


class Server:
    """`lookout serve` started by the test: its URL comes from the `serving on http://...` line on stderr."""

    def __init__(self, binary, token, folder, timeout):
        rules = os.path.join(folder, "rules.yaml")
        with open(rules, "w") as file:
            file.write(RULES)
        command = [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--token", token]
        command += ["--db", os.path.join(folder, "events.db"), "--rules", rules]
        self.lines = []
        self.url = None
        self.listening = threading.Event()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self.read, daemon=True).start()
        if not self.listening.wait(timeout):
            self.process.kill()
            raise Failure(f"`{' '.join(command)}` printed no 'serving on' line in {timeout} s; {self.last()}")

    def read(self):
        for line in self.process.stderr:
            self.lines.append(line.rstrip())
            found = re.search(r"serving on (http://\S+)", line)
            if found and not self.url:
                self.url = found.group(1).rstrip("/")
                self.listening.set()
        self.listening.set()  # it exited: stop waiting

    def last(self):
        return "its last stderr line: " + (self.lines[-1] if self.lines else "(none)")

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status, or None when it is still running after `timeout` s (then killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


class PageTest:
    def __init__(self, args):
        self.args = args
        self.base = args.url.rstrip("/")
        self.started = time.monotonic()
        options = webdriver.ChromeOptions()
        found = filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"]))
        binary = args.chromium or next(found, None)
        if binary:
            options.binary_location = binary
        # --no-sandbox: containers and root, where Chromium's sandbox cannot start.
        for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
        driver_path = args.chromedriver or shutil.which("chromedriver") or "/usr/bin/chromedriver"
        self.driver = webdriver.Chrome(service=Service(driver_path), options=options)

    # ---- helpers ----

    def step(self, text):
        print(f"ok   {time.monotonic() - self.started:6.1f} s  {text}", flush=True)

    def wait(self, what, condition, timeout, hint=None):
        """Waits until condition() is truthy and returns it; fails naming `what` (and the page's own message, from
        `hint`, when it shows one)."""

        def check(_):
            message = hint() if hint else None
            if message:
                raise Failure(f"{what}: the page says: {message}")
            return condition()

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.25).until(check)
        except TimeoutException:
            status = self.js("return document.getElementById('status')?.textContent || ''")
            raise Failure(f"{what}: not within {timeout} s" + (f" (page status: {status})" if status else ""))

    def js(self, script, *arguments):
        return self.driver.execute_script(script, *arguments)

    def image_loaded(self, selector):
        return self.js("const i = document.querySelector(arguments[0]); return !!i && i.naturalWidth > 0", selector)

    def exists(self, selector):
        return self.js("return !!document.querySelector(arguments[0])", selector)

    def visible(self, element_id):
        return self.js(
            "const e = document.getElementById(arguments[0]); return !!e && e.offsetParent !== null", element_id
        )

    def text(self, element_id):
        return self.js("return document.getElementById(arguments[0])?.textContent.trim() || ''", element_id)

    def tile(self, name):
        return f'.tile[data-stream="{name}"]'

    def screenshot(self, name):
        os.makedirs(self.args.screenshots, exist_ok=True)
        self.driver.save_screenshot(os.path.join(self.args.screenshots, name))

    def api(self, method, path):
        request = urllib.request.Request(self.base + path, method=method)
        if self.args.token:
            request.add_header("Authorization", f"Bearer {self.args.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = response.read()
                return response.status, json.loads(body) if body else None
        except urllib.error.HTTPError as error:
            return error.code, None
        except OSError as error:
            raise Failure(f"{method} {path}: {error}")

    def stream_names(self):
        status, body = self.api("GET", "/api/v1/streams")
        if status != 200:
            raise Failure(f"GET /api/v1/streams: status {status}")
        return [s["name"] for s in body["streams"]]

    def open_detail(self, name):
        self.driver.find_element(By.CSS_SELECTOR, self.tile(name)).click()
        self.wait(f"detail view of {name}", lambda: self.visible("detail") and self.text("detail-name") == name, 10)
        self.wait(f"{name}'s live image in the detail view", lambda: self.image_loaded("#detail-image"), 30)

    # ---- steps ----

    def token(self):
        if not self.args.token:
            self.driver.get(self.base + "/")
            return
        self.driver.get(self.base + "/")
        self.js("localStorage.clear()")
        self.driver.refresh()
        self.wait(
            "the token form (an API call without a token should answer 401)", lambda: self.visible("token-form"), 15
        )
        self.driver.find_element(By.ID, "token-input").send_keys(self.args.token)
        self.driver.find_element(By.ID, "token-submit").click()
        self.wait("the token form to go once the token is given", lambda: not self.visible("token-form"), 15)
        self.step("without a token the page asks for one, and takes it from its form")
        # A fragment alone does not reload a page: go elsewhere first.
        self.js("localStorage.clear()")
        self.driver.get("about:blank")
        self.driver.get(self.base + "/#token=" + urllib.parse.quote(self.args.token))
        stored = self.wait(
            "the token from #token= in localStorage",
            lambda: self.js("return localStorage.getItem('lookout.token')"),
            10,
        )
        if stored != self.args.token:
            raise Failure(f"#token=: localStorage holds {stored!r}")
        if self.js("return location.hash"):
            raise Failure("#token=: the token stays in the address bar")
        self.step("the page takes the token from #token= (and drops it from the address)")

    def grid(self):
        script = """for (const t of document.querySelectorAll('#grid .tile[data-stream]'))
                        if (t.querySelector('img.live')?.naturalWidth > 0) return t.dataset.stream;
                    return null"""
        name = self.wait("a camera tile showing a live frame", lambda: self.js(script), self.args.frame_timeout)
        self.step(f"the grid shows camera '{name}' live")
        self.screenshot("grid.png")
        return name

    def fill_add_form(self, name, url):
        for element_id, text in [("add-name", name), ("add-url", url)]:
            field = self.driver.find_element(By.ID, element_id)
            field.clear()
            field.send_keys(text)

    def add_and_remove(self, camera):
        if "added" in self.stream_names():  # left by an earlier run that failed half-way
            self.api("DELETE", "/api/v1/streams/added")
        # A name in use: the server answers 409 and the form shows its error.
        self.fill_add_form(camera, self.args.add_url)
        self.driver.find_element(By.ID, "add-submit").click()
        message = self.wait("the add form's error for a name in use", lambda: self.text("add-error"), 10)
        self.step(f"adding a second '{camera}' shows the server's error: {message}")
        self.fill_add_form("added", self.args.add_url)
        loop = self.driver.find_element(By.ID, "add-loop")
        if not loop.is_selected():
            loop.click()
        self.driver.find_element(By.ID, "add-submit").click()
        self.wait(
            "tile 'added' after the add form",
            lambda: self.exists(self.tile("added")),
            15,
            hint=lambda: self.text("add-error"),
        )
        self.step("the add form made camera 'added'")
        self.wait(
            "tile 'added' showing a frame",
            lambda: self.image_loaded(self.tile("added") + " img.live"),
            self.args.frame_timeout,
        )
        self.step("camera 'added' shows frames")
        self.open_detail("added")
        self.wait("the detail view's stats", lambda: self.exists('#detail-stats dd[data-stat="state"]'), 10)
        self.step("camera 'added' has a detail view with its stats and live image")
        self.screenshot("detail.png")
        self.pause_and_resume("added")
        self.driver.find_element(By.ID, "remove-stream").click()
        WebDriverWait(self.driver, 5).until(expected_conditions.alert_is_present()).accept()
        self.wait("the grid after removing 'added'", lambda: self.visible("grid-view"), 10)
        self.wait("GET /api/v1/streams without 'added'", lambda: "added" not in self.stream_names(), 10)
        # One more poll of the page (every 2 s) must not bring it back.
        deadline = time.monotonic() + 3
        self.wait("tile 'added' gone", lambda: not self.exists(self.tile("added")) and time.monotonic() > deadline, 10)
        self.step("camera 'added' removed from its detail view: tile gone")

    def stream_state(self, name):
        status, body = self.api("GET", f"/api/v1/streams/{name}")
        return body["state"] if status == 200 else f"status {status}"

    def pause_and_resume(self, name):
        shown = "return document.querySelector('#detail-stats dd[data-stat=\"state\"]')?.textContent"
        self.driver.find_element(By.ID, "pause-stream").click()
        self.wait(f"{name} paused", lambda: self.stream_state(name) == "paused" and self.js(shown) == "paused", 10)
        if self.text("pause-stream") != "Resume":
            raise Failure(f"{name} paused, but its button reads {self.text('pause-stream')!r}, not 'Resume'")
        self.driver.find_element(By.ID, "pause-stream").click()
        self.wait(f"{name} resumed", lambda: self.stream_state(name) != "paused" and self.js(shown) != "paused", 10)
        self.step(f"camera '{name}' paused and resumed from its detail view")

    def older_events(self, wait):
        """With more events than a page (50), "Older" appends the next page. `wait`: wait for the 51st event (up to
        --events-timeout) rather than skip the check when there are fewer."""

        def more_than_a_page():
            status, body = self.api("GET", "/api/v1/events?limit=50")
            if status != 200:
                raise Failure(f"GET /api/v1/events: status {status}")
            return bool(body.get("next"))

        if wait:
            self.wait("more than 50 events (GET /api/v1/events' next)", more_than_a_page, self.args.events_timeout)
        elif not more_than_a_page():
            self.step("(fewer than 51 events: the Older button is not checked)")
            return
        # A fresh page holds one page of events (those that arrive live are marked data-via=live).
        self.driver.refresh()
        listed = "return document.querySelectorAll('.event-row[data-via=\"list\"]').length"
        self.wait("the Older button", lambda: self.visible("events-older"), 15)
        before = self.js(listed)
        self.driver.find_element(By.ID, "events-older").click()
        self.wait("older events appended", lambda: self.js(listed) > before, 10)
        ids = self.js("return [...document.querySelectorAll('.event-row')].map((r) => r.dataset.id)")
        if len(ids) != len(set(ids)):
            raise Failure("the Older page repeats events already listed")
        self.step(f"Older appended {self.js(listed) - before} older events after the first {before}")

    def events(self):
        self.wait(
            "an event row whose snapshot has loaded",
            lambda: self.js(
                "return [...document.querySelectorAll('.event-row img.snapshot')].some((i) => i.naturalWidth > 0)"
            ),
            self.args.events_timeout,
        )
        self.step("the events list shows an event with its snapshot")
        self.screenshot("events.png")
        self.wait(
            "an event arriving through /api/v1/events/live",
            lambda: self.image_loaded('.event-row[data-via="live"] img.snapshot'),
            self.args.events_timeout,
        )
        self.step("a new event arrived through the live stream, with its snapshot")

    def zone(self, camera):
        self.open_detail(camera)
        self.driver.find_element(By.ID, "draw-zone").click()
        self.wait(
            "the still frame to draw on",
            lambda: self.js("""const i = document.getElementById('detail-image');
                   return i.dataset.key?.startsWith('snapshot') && i.complete && i.naturalWidth > 0"""),
            15,
        )
        image = self.driver.find_element(By.ID, "detail-image")
        self.js("arguments[0].scrollIntoView({block: 'center'})", image)
        width, height = image.size["width"], image.size["height"]
        corners = [(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)]
        for x, y in corners:  # offsets from the element's centre (Selenium 4)
            offset = round((x - 0.5) * width), round((y - 0.5) * height)
            ActionChains(self.driver).move_to_element_with_offset(image, *offset).click().perform()
        drawn = "return document.querySelectorAll('#detail-overlay .corner').length"
        self.wait("4 corners drawn", lambda: self.js(drawn) == 4, 5)
        name = f"browser{int(time.time())}"
        self.driver.find_element(By.ID, "zone-name").send_keys(name)
        self.step("4 clicks drew a zone's corners on the still frame")
        self.screenshot("zone-drawing.png")
        self.driver.find_element(By.ID, "zone-save").click()
        self.wait(
            f"zone '{name}' saved", lambda: not self.visible("zone-form"), 10, hint=lambda: self.text("zone-error")
        )
        self.wait(f"zone '{name}' in the page's list", lambda: self.exists(f'#rules li[data-zone="{name}"]'), 10)
        self.screenshot("zone.png")
        status, rules = self.api("GET", "/api/v1/rules")
        if status != 200:
            raise Failure(f"GET /api/v1/rules: status {status}")
        zone = next((z for z in rules.get("zones", []) if z.get("name") == name), None)
        if zone is None:
            raise Failure(f"GET /api/v1/rules does not list zone '{name}'")
        points = zone.get("points") or []
        if len(points) != 4 or any(abs(p[0] - x) > 0.02 or abs(p[1] - y) > 0.02 for p, (x, y) in zip(points, corners)):
            raise Failure(f"zone '{name}': points {points}, expected about {corners}")
        if not any(r.get("zone") == name for r in rules.get("rules", [])):
            raise Failure(f"GET /api/v1/rules lists zone '{name}' but no rule on it")
        self.step(f"zone '{name}' saved; GET /api/v1/rules lists it with its 4 points and a rule")

    def run(self):
        self.token()
        camera = self.grid()
        self.add_and_remove(camera)
        self.events()
        self.zone(camera)
        self.older_events(wait=bool(self.args.server))

    def console_errors(self):
        try:
            return [entry["message"] for entry in self.driver.get_log("browser")]
        except WebDriverException:
            return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8080")
    where.add_argument("--server", metavar="LOOKOUT", help="start `LOOKOUT serve` (e.g. .build/debug/lookout)")
    parser.add_argument("--token", default="", help="the server's access token (none: the server has none)")
    parser.add_argument("--add-url", help="the URL of the camera the test adds (a video file is fine)")
    parser.add_argument("--screenshots", default="docs/screenshots", help="folder for grid.png, detail.png, ...")
    parser.add_argument("--frame-timeout", type=float, default=60, help="seconds for a camera's first frame")
    parser.add_argument("--events-timeout", type=float, default=90, help="seconds for the first event")
    parser.add_argument("--chromium", help="the browser binary (default: chromium on PATH)")
    parser.add_argument("--chromedriver", help="the driver binary (default: chromedriver on PATH)")
    args = parser.parse_args()
    if args.server:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        args.add_url = args.add_url or os.path.join(root, "Tests/Fixtures/video/shapes-640x384.mp4")
        args.token = args.token or "browser-test"
    elif not args.add_url:
        parser.error("--add-url is needed with --url")

    with tempfile.TemporaryDirectory(prefix="serve-browser-test-") as folder:
        server = None
        try:
            if args.server:
                server = Server(args.server, args.token, folder, args.frame_timeout)
                args.url = server.url
                print(f"ok   server listening on {args.url}", flush=True)
            test = PageTest(args)
        except (Failure, WebDriverException) as error:
            if server:
                server.stop()
            reason = str(error) if isinstance(error, Failure) else f"cannot start Chromium: {error.msg or error}"
            sys.exit(f"FAIL: {reason.splitlines()[0]}")
        try:
            test.run()
            if server:
                status = server.stop()
                if status != 0:
                    raise Failure(f"the server's exit status on SIGTERM: {status} (expected 0); {server.last()}")
                test.step("the server stopped on SIGTERM with status 0")
        except (Failure, WebDriverException) as error:
            reason = str(error) if isinstance(error, Failure) else f"browser: {str(error.msg or error).splitlines()[0]}"
            print(f"FAIL: {reason}", flush=True)
            try:
                test.screenshot("failure.png")
            except WebDriverException:
                pass
            # The token step's 401s are expected: leave them out.
            errors = [m for m in test.console_errors() if "status of 401" not in m]
            for message in errors[-10:]:
                print(f"  browser console: {message}", file=sys.stderr)
            for line in server.lines[-20:] if server else []:
                print(f"  server: {line}", file=sys.stderr)
            sys.exit(1)
        finally:
            test.driver.quit()
            if server:
                server.stop()
    print("all steps passed")


if __name__ == "__main__":
    main()
