#!/usr/bin/env python3
"""Drives the operations page (admin listener, /ops) in headless Chromium for Tests/IntegrationTests/OperationsPageTests.swift.

Reuses dashboard_driver's Chromium (DevTools over a pipe, standard library only) and Page. Output lines:
  SESSIONS <json>   the client ids in the sessions table, once it shows --sessions rows
  COUNT <n>         the "messages in" total the page shows now: publish now
  COUNTED <n>       the page showed the total grow past COUNT (from the event stream)
  KICKED <client>   the kick button of that client's row was clicked and the row is gone
  SCREENSHOT <path> the PNG written (after COUNTED, before the kick: the three sessions and the live counts)
  FAILED <reason>   then exit status 1
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard_driver import DriverError, drive, log  # noqa: E402


def wait(page, expression, what, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            shown = page.evaluate("`state=${document.getElementById('state')?.textContent} error=${document.getElementById('error')?.textContent} login=${document.getElementById('login-message')?.textContent}`")
            raise DriverError(f"timed out after {timeout} s waiting for {what}; page: {shown}")
        time.sleep(0.1)


ROWS_JS = "JSON.stringify(Array.from(document.querySelectorAll('#sessions tr'), (row) => row.dataset.clientId))"


def run(arguments, page):
    page.navigate(arguments.url)
    # The page asks for the token; type it and sign in, as an operator would.
    wait(page, "document.getElementById('login')?.hidden === false", "the sign-in form", arguments.timeout)
    page.evaluate(f"""(() => {{
      document.getElementById('token').value = {json.dumps(arguments.token)};
      document.getElementById('sign-in').click();
      return true;
    }})()""")
    wait(page, "document.getElementById('state')?.dataset.state === 'live'", "the event stream", arguments.timeout)
    if page.evaluate(f"sessionStorage.getItem('mqtt-ws-bridge.admin-token') === {json.dumps(arguments.token)}") is not True:
        raise DriverError("the token is not in session storage")
    if page.evaluate(f"localStorage.length") != 0:
        raise DriverError("something was written to local storage")

    wait(page, f"document.querySelectorAll('#sessions tr').length >= {arguments.sessions}", f"{arguments.sessions} sessions", arguments.timeout)
    log("SESSIONS " + page.evaluate(ROWS_JS))

    wait(page, "/^\\d+$/.test(document.getElementById('messages-total-in').textContent)", "the message counts", arguments.timeout)
    before = int(page.evaluate("document.getElementById('messages-total-in').textContent"))
    log(f"COUNT {before}")
    wait(page, f"Number(document.getElementById('messages-total-in').textContent) > {before}", "the count to grow", arguments.timeout)
    log("COUNTED " + page.evaluate("document.getElementById('messages-total-in').textContent"))
    page.screenshot(arguments.screenshot)

    selector = f"#sessions tr[data-client-id={json.dumps(arguments.kick)}] button.kick"
    if not page.evaluate(f"(() => {{ const button = document.querySelector({json.dumps(selector)}); if (!button) return false; button.click(); return true; }})()"):
        raise DriverError(f"no kick button for {arguments.kick}")
    wait(page, f"!document.querySelector({json.dumps(selector)})", f"the row of {arguments.kick} to go", arguments.timeout)
    log(f"KICKED {arguments.kick}")
    if arguments.after_screenshot:
        page.screenshot(arguments.after_screenshot)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the operations page, http://127.0.0.1:PORT/ops")
    parser.add_argument("--token", required=True, help="admin.token, typed into the page")
    parser.add_argument("--sessions", type=int, default=3, help="how many sessions the table must show")
    parser.add_argument("--kick", required=True, help="client id whose kick button to click")
    parser.add_argument("--screenshot", required=True, help="PNG file to write (before the kick)")
    parser.add_argument("--after-screenshot", help="PNG file to write after the kick")
    parser.add_argument("--chromium", help="Chromium executable (default: found on PATH)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per step")
    arguments = parser.parse_args()

    chromium_log = os.path.join(os.path.dirname(os.path.abspath(arguments.screenshot)), "chromium-operations.log")
    return drive(
        lambda page: run(arguments, page), chromium=arguments.chromium, chromium_log=chromium_log, size=(1400, 900),
        failure_screenshot=arguments.after_screenshot or arguments.screenshot)

if __name__ == "__main__":
    sys.exit(main())
