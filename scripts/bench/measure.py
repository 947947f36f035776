#!/usr/bin/env python3
"""make bench, one size: the pages and server functions of a signed-in Contmax admin,
timed over real HTTP against the release server (sequential requests on one kept-alive
connection, after a warm-up), each beside its floor: the index scans it needs, timed by
EXPLAIN ANALYZE as the superuser in the same run. Prints one JSON object."""

import argparse
import datetime
import http.client
import json
import statistics
import subprocess
import time
import urllib.parse

WARMUP = 5
RUNS = 40


def percentile(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(p / 100 * len(xs) + 0.5) - 1))
    return xs[k]


class Client:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.cookie = ""

    def request(self, method, path, form=None):
        body = urllib.parse.urlencode(form) if form is not None else None
        # What Chromium sends: server functions' answers come compressed, as a browser
        # gets them (pages are never compressed: see server/src/assets.rs).
        headers = {"Accept": "application/json, text/html", "Accept-Encoding": "gzip, deflate, br, zstd"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            headers["Cookie"] = self.cookie
        self.conn.request(method, path, body=body, headers=headers)
        res = self.conn.getresponse()
        data = res.read()
        return res, data

    def login(self, email, password):
        res, _ = self.request("POST", "/api/login", {"email": email, "password": password, "next": "/"})
        cookies = [v.split(";")[0] for k, v in res.getheaders() if k.lower() == "set-cookie"]
        self.cookie = "; ".join(c for c in cookies if "=" in c and not c.endswith("="))
        if res.status >= 400 or not self.cookie:
            raise SystemExit(f"sign-in failed: {res.status}")


def timed(client, method, path, form=None):
    for _ in range(WARMUP):
        res, _ = client.request(method, path, form)
        if res.status >= 400:
            raise SystemExit(f"{method} {path}: HTTP {res.status}")
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        client.request(method, path, form)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50": statistics.median(times), "p95": percentile(times, 95)}


def psql(db, sql):
    out = subprocess.run(["psql", db, "-qtAX", "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def floor_ms(db, sql):
    """The median of 7 EXPLAIN ANALYZE execution times (after one to warm the cache)."""
    times = []
    for _ in range(8):
        plan = json.loads(psql(db, f"explain (analyze, format json) {sql}"))
        times.append(plan[0]["Execution Time"])
    return statistics.median(times[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--rows", type=int, required=True)
    a = ap.parse_args()

    contmax = psql(a.db, "select id from public.organizacoes where slug = 'contmax'")
    tenant_rows = int(psql(a.db, f"select count(*) from public.integration_logs where tenant_id = '{contmax}'"))
    slug = "acessorias"
    today = datetime.date.today()
    month_ago = today - datetime.timedelta(days=30)
    # A deep page: the cursor of the row 2,000 rows down this integration's history.
    deep = psql(
        a.db,
        f"""select (extract(epoch from created_at) * 1000000)::bigint || '_' || id
            from public.integration_logs where tenant_id = '{contmax}' and provider_slug = '{slug}'
            order by created_at desc, id desc offset 2000 limit 1""",
    )

    c = Client(a.base)
    c.login("admin@contmax.com.br", "contmax123")

    log = "public.integration_logs"
    key = f"tenant_id = '{contmax}' and provider_slug = '{slug}'"
    floors = {
        "history": floor_ms(a.db, f"select * from {log} where {key} order by created_at desc, id desc limit 26"),
        "filtered": floor_ms(
            a.db,
            f"select * from {log} where {key} and status = 'error' and created_at >= '{month_ago}' "
            f"order by created_at desc, id desc limit 26",
        ),
        "deep": floor_ms(
            a.db,
            f"select * from {log} where {key} and (created_at, id) < "
            f"(to_timestamp({deep.split('_')[0]} / 1000000.0), '{deep.split('_')[1]}') "
            f"order by created_at desc, id desc limit 26" if deep else "select 1",
        ),
        "metrics": floor_ms(
            a.db,
            f"select status, sum(runs) from public.integration_run_daily where tenant_id = '{contmax}' "
            f"and day >= current_date - 30 group by status",
        ),
        "list": floor_ms(
            a.db,
            f"select * from public.tenant_integrations where tenant_id = '{contmax}'",
        ),
    }
    floors["detail"] = floors["metrics"] + floors["list"]
    floors["dashboard"] = floors["metrics"] + floors["list"]

    hist = {"slug": slug}
    results = {
        # What every server function pays before its own query: the session's check and
        # the caller's tenants (no floor of its own: two primary-key look-ups).
        "get-session (the fixed cost of a call)": (timed(c, "POST", "/api/get-session", {}), 0.0),
        "GET /integracoes": (timed(c, "GET", "/integracoes"), floors["dashboard"]),
        f"GET /integracoes/{slug}": (timed(c, "GET", f"/integracoes/{slug}"), floors["detail"] + floors["history"]),
        "list-integrations": (timed(c, "POST", "/api/list-integrations", {}), floors["list"]),
        "tenant-metrics": (timed(c, "POST", "/api/tenant-metrics", {}), floors["metrics"]),
        "integration-detail": (timed(c, "POST", "/api/integration-detail", hist), floors["detail"]),
        "history, first page": (timed(c, "POST", "/api/integration-history", hist), floors["history"]),
        "history, errors of the last 30 days": (
            timed(c, "POST", "/api/integration-history",
                  {**hist, "status": "error", "from": str(month_ago), "to": str(today)}),
            floors["filtered"],
        ),
        "history, 2,000 rows deep": (
            timed(c, "POST", "/api/integration-history", {**hist, "before": deep}),
            floors["deep"],
        ),
    }
    print(json.dumps({
        "rows": a.rows,
        "tenant_rows": tenant_rows,
        "results": {k: {"p50": v[0]["p50"], "p95": v[0]["p95"], "floor": v[1]} for k, v in results.items()},
    }))


if __name__ == "__main__":
    main()
