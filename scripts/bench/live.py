#!/usr/bin/env python3
"""make bench, live status: how long a run started through the JSON API takes to reach an
open dashboard's stream (`GET /api/run-events`, what the pages subscribe to).

A signed-in Contmax admin holds one stream open (as a page does) and, RUNS times, starts a
run of Contmax's Acessórias integration through `POST /functions/v1/run-integration` (the
same session), times the first `run` event of that integration saying it is running, then
cancels the run and waits for the event saying it ended. Reported: from the API's answer (the
run committed) to the event, and from the request to the event. Prints one JSON object.
Times are reported, never asserted."""

import argparse
import http.client
import json
import queue
import statistics
import threading
import time
import urllib.parse

RUNS = 20
SLUG = "acessorias"


def percentile(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(p / 100 * len(xs) + 0.5) - 1))
    return xs[k]


def login(host, port, email, password):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    body = urllib.parse.urlencode({"email": email, "password": password, "next": "/"})
    conn.request("POST", "/api/login", body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    res = conn.getresponse()
    res.read()
    cookies = [v.split(";")[0] for k, v in res.getheaders() if k.lower() == "set-cookie"]
    cookie = "; ".join(c for c in cookies if "=" in c and not c.endswith("="))
    if res.status >= 400 or not cookie:
        raise SystemExit(f"sign-in failed: {res.status}")
    return cookie


def listen(host, port, cookie, events):
    """Reads the stream, putting (arrival time, summary) of each `run` event in `events`."""
    conn = http.client.HTTPConnection(host, port, timeout=300)
    conn.request("GET", "/api/run-events",
                 headers={"Cookie": cookie, "Accept": "text/event-stream"})
    res = conn.getresponse()
    if res.status != 200:
        raise SystemExit(f"run-events: HTTP {res.status}")
    name, data = None, []
    while True:
        line = res.readline()
        if not line:
            return
        line = line.decode().rstrip("\r\n")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif line == "":
            if name == "run" and data:
                events.put((time.perf_counter(), json.loads("\n".join(data))))
            name, data = None, []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--tenant", required=True)
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.base)
    cookie = login(u.hostname, u.port, "admin@contmax.com.br", "contmax123")
    events = queue.Queue()
    threading.Thread(target=listen, args=(u.hostname, u.port, cookie, events), daemon=True).start()
    api = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def post(path, body):
        api.request("POST", path, body=json.dumps(body),
                    headers={"Content-Type": "application/json", "Cookie": cookie})
        res = api.getresponse()
        return res.status, json.loads(res.read() or b"{}")

    def until(wanted, deadline=30.0):
        end = time.perf_counter() + deadline
        while True:
            left = end - time.perf_counter()
            if left <= 0:
                raise SystemExit(f"no event for {SLUG} within {deadline} s")
            try:
                at, s = events.get(timeout=left)
            except queue.Empty:
                continue
            if s.get("slug") == SLUG and wanted(s.get("last_status")):
                return at

    # The stream has told where every integration stands once it sent the first event.
    try:
        events.get(timeout=30)
    except queue.Empty:
        raise SystemExit("run-events: nothing within 30 s")
    time.sleep(0.5)
    while not events.empty():
        events.get()
    after_answer, after_request = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        status, body = post("/functions/v1/run-integration",
                            {"tenant_id": a.tenant, "provider_slug": SLUG})
        t1 = time.perf_counter()
        if status != 202:
            raise SystemExit(f"run-integration: HTTP {status} {body}")
        seen = until(lambda s: s == "running")
        after_answer.append((seen - t1) * 1000)
        after_request.append((seen - t0) * 1000)
        # Stopped (or ended by itself, when a worker got to it first) before the next.
        status, body = post("/functions/v1/cancel-run", {"execution_id": body["execution_id"]})
        if status not in (200, 202, 409):
            raise SystemExit(f"cancel-run: HTTP {status} {body}")
        until(lambda s: s != "running")

    def stats(xs):
        return {"p50": statistics.median(xs), "p95": percentile(xs, 95), "max": max(xs)}

    print(json.dumps({"live": {"runs": RUNS, "after_answer": stats(after_answer),
                               "after_request": stats(after_request)}}))


if __name__ == "__main__":
    main()
