#!/usr/bin/env python3
"""The two pages alone, more samples than make bench takes: a signed-in Contmax admin
(or `--email`'s demo user) asks for /integracoes and /integracoes/acessorias N times each (one kept-alive
connection, after 20 to warm up) and prints p50 / p95 / mean in ms and the page's size.
For comparing two builds on the same database, run one after the other, twice.

    python3 scripts/bench/pages.py --base http://127.0.0.1:3105 --runs 400
"""
import argparse
import statistics
import time

from measure import Client, percentile

PAGES = ["/integracoes", "/integracoes/acessorias"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--runs", type=int, default=400)
    # ti@contmax.com.br: a platform administrator, whose tenants are all 500.
    ap.add_argument("--email", default="admin@contmax.com.br")
    args = ap.parse_args()
    client = Client(args.base)
    client.login(args.email, "contmax123")
    for path in PAGES:
        for _ in range(20):
            client.request("GET", path)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            res, body = client.request("GET", path)
            times.append((time.perf_counter() - start) * 1000)
            if res.status != 200:
                raise SystemExit(f"{path}: HTTP {res.status}")
        print(
            f"{path}: p50 {statistics.median(times):.1f} p95 {percentile(times, 95):.1f} "
            f"mean {statistics.mean(times):.1f} ms ({len(body):,} bytes)"
        )


if __name__ == "__main__":
    main()
