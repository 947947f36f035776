#!/usr/bin/env python3
"""Where a page's time goes: the CPU the release server and PostgreSQL spend per request.

    python3 scripts/bench/page-cpu.py --base http://127.0.0.1:3105 --server-pid PID \\
        [--path /integracoes/acessorias] [--requests 200]

Signs in as the Contmax admin, sends 20 requests to warm up, then --requests sequential
GETs of --path on one kept-alive connection, and prints the wall time per request beside
the CPU time (user + system, from /proc) the server process and all `postgres` processes
spent per request over the same span. Run it alone on the machine: anything else's
PostgreSQL work is counted too."""

import argparse
import glob
import http.client
import os
import time
import urllib.parse

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0  # gone meanwhile


def postgres_seconds():
    total = 0.0
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{d}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
        except OSError:
            continue
        total += cpu_seconds(d.rsplit("/", 1)[1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--path", default="/integracoes/acessorias")
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()

    u = urllib.parse.urlparse(a.base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)

    def request(method, path, body=None, cookie=""):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = cookie
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        res.read()
        return res

    form = urllib.parse.urlencode({"email": "admin@contmax.com.br", "password": "contmax123", "next": "/"})
    res = request("POST", "/api/login", form)
    cookies = [v.split(";")[0] for k, v in res.getheaders() if k.lower() == "set-cookie"]
    cookie = "; ".join(c for c in cookies if "=" in c and not c.endswith("="))
    if res.status >= 400 or not cookie:
        raise SystemExit(f"sign-in failed: {res.status}")
    for _ in range(20):
        if request("GET", a.path, cookie=cookie).status >= 400:
            raise SystemExit(f"GET {a.path} failed")
    server0, pg0, t0 = cpu_seconds(a.server_pid), postgres_seconds(), time.perf_counter()
    for _ in range(a.requests):
        request("GET", a.path, cookie=cookie)
    wall = time.perf_counter() - t0
    server = cpu_seconds(a.server_pid) - server0
    pg = postgres_seconds() - pg0
    n = a.requests
    print(f"{a.path}: wall {wall / n * 1000:.2f} ms a request; CPU per request: "
          f"server {server / n * 1000:.2f} ms, PostgreSQL {pg / n * 1000:.2f} ms")


if __name__ == "__main__":
    main()
