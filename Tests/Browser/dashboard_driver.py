#!/usr/bin/env python3
"""Drives the dashboard page in headless Chromium for Tests/IntegrationTests/DashboardTests.swift.

Chromium is controlled with the Chrome DevTools Protocol over a pipe (--remote-debugging-pipe: JSON messages
separated by NUL bytes on file descriptors 3 and 4). That needs only Python's standard library and Debian's
`chromium` package: no WebDriver, no chromedriver whose version must match the browser, no pip.

The Swift test starts the bridge and Mosquitto, then this script, and talks to it through its output lines:
  SUBSCRIBED                  the page is connected and its subscription is acknowledged: publish now
  MESSAGES <json>             what the page shows once --messages messages are in its list (topic, qos, ...)
  ERROR <text>, STATE <state> with --expect-error: the page's error line and connection state
  PUBLISHED                   the page's own publish (--publish-topic) was acknowledged by the broker
  SCREENSHOT <path>           the PNG written at the end (also on failure, when the page got that far)
  FAILED <reason>             then exit status 1
Lines starting with "console:" are the page's console output, for diagnosis.
"""

import argparse
import base64
import fcntl
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time


def log(line):
    print(line, flush=True)


class DriverError(Exception):
    pass


class Chromium:
    """A headless Chromium and a DevTools connection to it over a pipe."""

    CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

    def __init__(self, executable, profile_dir, log_path, extra_args):
        # The pipe ends are moved above fd 10 first, so that the dup2 to 3 and 4 in the child never lands on an
        # fd of the same number (dup2 onto itself would keep close-on-exec set).
        to_browser_read, to_browser_write = self._high_pipe()
        from_browser_read, from_browser_write = self._high_pipe()
        args = [
            executable,
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # tests often run as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--disable-dev-shm-usage",  # containers have a small /dev/shm
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--ignore-certificate-errors",  # the bridge uses a development certificate made by the test
            "--user-data-dir=" + profile_dir,
            "--window-size=1280,900",
            *extra_args,
            "about:blank",
        ]
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
            (os.POSIX_SPAWN_DUP2, to_browser_read, 3),
            (os.POSIX_SPAWN_DUP2, from_browser_write, 4),
        ]
        self.pid = os.posix_spawn(executable, args, os.environ, file_actions=actions, setsigmask=(), setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.to_browser = to_browser_write
        self.from_browser = from_browser_read
        self.next_id = 1
        self.lock = threading.Lock()
        self.responses = {}
        self.arrived = threading.Condition(self.lock)
        self.closed = False
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    @staticmethod
    def _high_pipe():
        read_end, write_end = os.pipe()
        high = (fcntl.fcntl(read_end, fcntl.F_DUPFD_CLOEXEC, 10), fcntl.fcntl(write_end, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(read_end)
        os.close(write_end)
        return high

    @classmethod
    def find(cls, explicit):
        if explicit:
            return explicit
        for name in cls.CANDIDATES:
            path = shutil.which(name)
            if path:
                return path
        raise DriverError("Chromium not found (install it with Scripts/install-deps, Debian package 'chromium')")

    def _read_loop(self):
        buffer = b""
        while True:
            try:
                chunk = os.read(self.from_browser, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self.lock:
                    self.closed = True
                    self.arrived.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self.lock:
                        self.responses[message["id"]] = message
                        self.arrived.notify_all()
                else:
                    self._event(message)

    def _event(self, message):
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
            log(f"console: {params.get('type')}: {text}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            log(f"console: {entry.get('level')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            log(f"console: exception: {details.get('exception', {}).get('description', details.get('text'))}")

    def send(self, method, params=None, session=None, timeout=30):
        with self.lock:
            message_id = self.next_id
            self.next_id += 1
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            written = os.write(self.to_browser, data)
            data = data[written:]
        deadline = time.monotonic() + timeout
        with self.lock:
            while message_id not in self.responses:
                if self.closed:
                    raise DriverError(f"Chromium closed the DevTools pipe during {method}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DriverError(f"no answer to {method} within {timeout} s")
                self.arrived.wait(remaining)
            response = self.responses.pop(message_id)
        if "error" in response:
            raise DriverError(f"{method} failed: {response['error']}")
        return response.get("result", {})

    def stop(self):
        """Browser.close, then SIGKILL if Chromium has not exited within 10 s."""
        try:
            if not self.closed:
                self.send("Browser.close", timeout=5)
        except DriverError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                return
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


class Page:
    def __init__(self, browser, width, height):
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})
        attached = browser.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        self.session = attached["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def send(self, method, params=None, timeout=30):
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def navigate(self, url):
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise DriverError(f"cannot load {url}: {result['errorText']}")

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise DriverError(f"page script failed: {result['exceptionDetails'].get('text')} in {expression[:80]}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression, what, timeout):
        """Polls `expression` until it is truthy; fails early when the page shows an error."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            error = self.evaluate("document.getElementById('error')?.textContent ?? ''")
            if error:
                raise DriverError(f"the page shows an error while waiting for {what}: {error}")
            if time.monotonic() > deadline:
                state = self.evaluate("document.getElementById('state')?.textContent ?? '(no page)'")
                raise DriverError(f"timed out after {timeout} s waiting for {what}; page state: {state}")
            time.sleep(0.1)

    def screenshot(self, path):
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics.get("contentSize")
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 4000), "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})["data"]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as file:
            file.write(base64.b64decode(data))
        log(f"SCREENSHOT {os.path.abspath(path)}")


MESSAGES_JS = """JSON.stringify(Array.from(document.querySelectorAll('#messages li.message'), (item) => ({
  topic: item.dataset.topic,
  qos: Number(item.dataset.qos),
  retained: item.dataset.retained === 'true',
  hex: item.querySelector('.payload').classList.contains('hex'),
  payload: item.querySelector('.payload').textContent,
})))"""


def run(arguments, page):
    page.navigate(arguments.url)
    if arguments.expect_error:
        # The page must explain a failure: wait for the error line (not failing early on it, it is the point).
        expression = f"(document.getElementById('error')?.textContent ?? '').includes({json.dumps(arguments.expect_error)})"
        deadline = time.monotonic() + arguments.timeout
        while not page.evaluate(expression):
            if time.monotonic() > deadline:
                shown = page.evaluate("document.getElementById('error')?.textContent ?? ''")
                raise DriverError(f"the page did not show an error containing {arguments.expect_error!r}; it shows: {shown!r}")
            time.sleep(0.1)
        log("ERROR " + page.evaluate("document.getElementById('error').textContent"))
        log("STATE " + page.evaluate("document.getElementById('state').dataset.state"))
        return
    selector = f"#subscriptions li[data-filter={json.dumps(arguments.filter)}]"
    page.wait_for(f"!!document.querySelector({json.dumps(selector)})", f"the subscription to {arguments.filter}", arguments.timeout)
    log("SUBSCRIBED")

    count = arguments.messages
    page.wait_for(f"document.querySelectorAll('#messages li.message').length >= {count}", f"{count} messages", arguments.timeout)
    log("MESSAGES " + page.evaluate(MESSAGES_JS))

    if arguments.publish_topic:
        fill = f"""(() => {{
          document.getElementById('publish-topic').value = {json.dumps(arguments.publish_topic)};
          document.getElementById('publish-payload').value = {json.dumps(arguments.publish_payload)};
          document.getElementById('publish-qos').value = {json.dumps(str(arguments.publish_qos))};
          document.getElementById('publish').click();
          return true;
        }})()"""
        page.evaluate(fill)
        page.wait_for("document.getElementById('publish-result').textContent.includes('acknowledged')", "the publish acknowledgement", arguments.timeout)
        log("PUBLISHED")
        # The page is subscribed to its own topic too: wait until it shows the message, for the screenshot.
        page.wait_for(f"document.querySelectorAll('#messages li.message').length >= {count + 1}", "the page's own message", arguments.timeout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="dashboard URL, with query parameters")
    parser.add_argument("--filter", help="the topic filter the page subscribes to (from the URL)")
    parser.add_argument("--expect-error", help="instead: wait until the page's error line contains this text")
    parser.add_argument("--messages", type=int, default=1, help="how many messages to wait for")
    parser.add_argument("--publish-topic", help="publish from the page to this topic after the messages arrived")
    parser.add_argument("--publish-payload", default="hello from the browser")
    parser.add_argument("--publish-qos", type=int, default=1)
    parser.add_argument("--screenshot", required=True, help="PNG file to write")
    parser.add_argument("--chromium", help="Chromium executable (default: found on PATH)")
    parser.add_argument("--chromium-log", help="Chromium's own output (default: next to the screenshot)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per step")
    arguments = parser.parse_args()
    if not arguments.filter and not arguments.expect_error:
        parser.error("give --filter (subscribe and wait for messages) or --expect-error")

    chromium_log = arguments.chromium_log or os.path.join(os.path.dirname(os.path.abspath(arguments.screenshot)), "chromium.log")

    def steps(page):
        run(arguments, page)
        page.screenshot(arguments.screenshot)

    return drive(steps, chromium=arguments.chromium, chromium_log=chromium_log, size=(1280, 900), failure_screenshot=arguments.screenshot)


def drive(steps, chromium, chromium_log, size, failure_screenshot):
    """Starts Chromium, runs `steps(page)` in a fresh page, and always stops the browser; returns the exit status.

    A DriverError (or I/O problem) is reported as FAILED, with a screenshot of the page as it was when one exists.
    Shared by the page drivers in this directory.
    """
    # SIGTERM (the Swift test stopping us) ends Chromium too, through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    browser = None
    page = None
    profile = tempfile.mkdtemp(prefix="mqtt-ws-bridge-chromium-")
    os.makedirs(os.path.dirname(os.path.abspath(chromium_log)), exist_ok=True)
    try:
        browser = Chromium(Chromium.find(chromium), profile, chromium_log, [])
        version = browser.send("Browser.getVersion", timeout=60)
        log(f"browser: {version.get('product')} (log: {chromium_log})")
        page = Page(browser, *size)
        steps(page)
        return 0
    except (DriverError, OSError, ValueError, KeyError) as error:
        log(f"FAILED {error}")
        if page is not None:
            try:
                page.screenshot(failure_screenshot)
            except (DriverError, OSError, KeyError) as screenshot_error:
                log(f"(no screenshot: {screenshot_error})")
        return 1
    finally:
        if browser is not None:
            browser.stop()
        shutil.rmtree(profile, ignore_errors=True)

if __name__ == "__main__":
    sys.exit(main())
