import http from "node:http";
import type { Page } from "@playwright/test";
import { test, expect, login, hydrated, DEMO_PASSWORD } from "./fixtures";

// These tests point Contmax's sandbox integration at another scenario of the sandbox and
// run it more than once: more time than the default, and the demo's URL put back after
// each, through the server's own API (the page may be gone when a test fails).
test.describe.configure({ timeout: 120_000 });

let restoreUrl: string | null = null;

/** What `recordLiveStreams` keeps on the page's window. */
type LiveRecord = { liveSources: EventSource[]; liveEvents: string[] };

/** Before the page's scripts run: every EventSource it opens, and the data of every `run`
 *  event they receive, kept on `window` (live status, read back with `page.evaluate`). */
async function recordLiveStreams(page: Page) {
  await page.addInitScript(() => {
    const Original = window.EventSource;
    const record = { liveSources: [] as EventSource[], liveEvents: [] as string[] };
    Object.assign(window, record);
    window.EventSource = class extends Original {
      constructor(url: string | URL, init?: EventSourceInit) {
        super(url, init);
        record.liveSources.push(this);
        this.addEventListener("run", (e) => record.liveEvents.push((e as MessageEvent).data));
      }
    } as typeof EventSource;
  });
}

/** Points Contmax's sandbox integration at the sandbox's `scenario` through its form (the
 *  afterEach puts the demo's URL back). */
async function pointLocalHttpAt(page: Page, scenario: string) {
  await page.goto("/integracoes/local-http");
  await hydrated(page);
  const url = page.getByLabel("URL do sandbox *");
  const original = await url.inputValue();
  expect(original).toMatch(/\/s\/[a-z0-9-]+$/);
  restoreUrl ??= original;
  await url.fill(original.replace(/\/s\/[a-z0-9-]+$/, `/s/${scenario}`));
  await page.getByRole("button", { name: "Salvar configuração" }).click();
  await expect(page.getByText("Configuração salva.")).toBeVisible();
}

test.afterEach(async ({ request }) => {
  if (!restoreUrl) return;
  const login = await request.post("/api/login", {
    form: { email: "admin@contmax.com.br", password: DEMO_PASSWORD, next: "/" },
  });
  expect(login.ok(), `sign-in: ${login.status()}`).toBeTruthy();
  const saved = await request.post("/api/save-config", {
    form: { slug: "local-http", "config[base_url]": restoreUrl },
  });
  expect(saved.ok(), await saved.text()).toBeTruthy();
  restoreUrl = null;
});

// Cancelar (issue "The engine under pressure"): Contmax's sandbox integration pointed at
// the sandbox's `hang` scenario (a provider that never answers), run from its card and
// cancelled there; the card says Cancelada without a reload, a toast says so, and the
// history has the run as cancelled.
test("Cancelar stops a running integration from its card", async ({ page }) => {
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  await pointLocalHttpAt(page, "hang");
  await page.goto("/integracoes");
  await hydrated(page);
  const card = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="local-http"]');
  await card.getByRole("button", { name: "Executar Teste local (HTTP)" }).click();
  await expect(card.locator(".badge")).toHaveText("Executando");
  await card.getByRole("button", { name: "Cancelar Teste local (HTTP)" }).click();
  // The worker stops it at its next heartbeat (every second in this suite).
  await expect(card.locator(".badge")).toHaveText("Cancelada", { timeout: 30_000 });
  await expect(card.getByRole("button", { name: "Cancelar Teste local (HTTP)" })).toHaveCount(0);
  await expect(page.locator(".toast")).toContainText("Teste local (HTTP): execução cancelada.");

  await card.getByRole("link", { name: "Logs de Teste local (HTTP)" }).click();
  await expect(page).toHaveURL(/\/integracoes\/local-http/);
  const first = page.locator(".history-table tbody tr").first();
  await expect(first).toHaveAttribute("data-status", "cancelled");
  await expect(first).toContainText("Cancelada");
});

// Cancelar in the drawer stops the execution the drawer shows (named by its id: were it
// over and another run going, that other run would be left alone); the drawer and the
// history say Cancelada without a reload.
test("Cancelar in the drawer stops the execution it shows", async ({ page }) => {
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  await pointLocalHttpAt(page, "hang");
  const first = page.locator(".history-table tbody tr").first();
  const topLink = () => first.getByRole("link", { name: /Detalhes/ });
  const before = (await first.count()) ? await topLink().getAttribute("href") : null;
  await page.getByRole("button", { name: "Executar", exact: true }).click();
  if (before) await expect(topLink()).not.toHaveAttribute("href", before, { timeout: 30_000 });
  await expect(first).toHaveAttribute("data-status", "running", { timeout: 30_000 });
  await topLink().click();
  const drawer = page.getByRole("dialog", { name: "Detalhes da execução" });
  await expect(drawer.locator(".attempt .badge").first()).toHaveText("Executando");
  await drawer.getByRole("button", { name: "Cancelar esta execução" }).click();
  // The worker stops it at its next heartbeat (every second in this suite).
  await expect(drawer.locator(".attempt .badge").first()).toHaveText("Cancelada", {
    timeout: 30_000,
  });
  await expect(drawer.getByRole("button", { name: "Cancelar esta execução" })).toHaveCount(0);
  await expect(first).toHaveAttribute("data-status", "cancelled");
});

// Tentar novamente (linked re-runs): a failed run of Contmax's sandbox integration (its
// `auth` scenario answers 401), repeated from its drawer; the new run is a "Repetição"
// whose drawer links back, and the old one's links forward.
test("Tentar novamente repeats a failed run and the drawers link both ways", async ({ page }) => {
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  await pointLocalHttpAt(page, "auth");
  const first = page.locator(".history-table tbody tr").first();
  const topLink = () => first.getByRole("link", { name: /Detalhes/ });
  // Whatever was on top before (earlier tests' runs), the new run must replace it.
  const before = (await first.count()) ? await topLink().getAttribute("href") : null;
  await page.getByRole("button", { name: "Executar", exact: true }).click();
  if (before) await expect(topLink()).not.toHaveAttribute("href", before, { timeout: 30_000 });
  await expect(first).toHaveAttribute("data-status", "error", { timeout: 30_000 });
  // The failed run, named before anything else can change the table.
  const failed = await topLink().getAttribute("href");
  await first.getByRole("link", { name: /Detalhes/ }).click();
  const drawer = page.getByRole("dialog", { name: "Detalhes da execução" });
  await expect(drawer).toContainText("Tentativa 1");
  await drawer.getByRole("button", { name: "Tentar novamente" }).click();

  // The new run is on top, a repetition, and fails the same way.
  const rerun = page.locator(".history-table tbody tr").first();
  await expect(topLink()).not.toHaveAttribute("href", failed ?? "", { timeout: 30_000 });
  await expect(rerun.locator("td").nth(2)).toHaveText("Repetição", { timeout: 30_000 });
  await expect(rerun).toHaveAttribute("data-status", "error", { timeout: 30_000 });
  // The open drawer covers the table: close it, then open the new run's.
  await drawer.getByRole("link", { name: "Fechar" }).click();
  await expect(drawer).toHaveCount(0);
  await rerun.getByRole("link", { name: /Detalhes/ }).click();
  const back = drawer.getByTestId("rerun-of");
  await expect(back).toContainText("Repete a execução");
  // The link names the failed run (the one "Detalhes" opened), and its drawer links back.
  const href = await back.getByRole("link").getAttribute("href");
  expect(href).toBe(failed);
  await page.goto(href ?? "");
  await expect(drawer.getByTestId("rerun-by")).toContainText("Repetida na execução");
  await expect(drawer.getByTestId("rerun-of")).toHaveCount(0);
});

// Live status (issue "The engine under pressure", item 9): a run started through the JSON
// API, not from the page, shows on an open dashboard and ends there without a reload and
// without the page asking for the list again (the server pushes each change over
// Server-Sent Events); P&G's dashboard, open at the same time in another browser, receives
// nothing of Contmax's.
test("a run started through the API shows live on the open dashboard, and only on its tenant's", async ({
  page,
  browser,
}) => {
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  // Three pages of two seconds each: long enough to see it running on a busy machine.
  await pointLocalHttpAt(page, "slow-2000");

  // P&G's dashboard records every live event its page receives.
  const pgContext = await browser.newContext();
  const pg = await pgContext.newPage();
  await recordLiveStreams(pg);
  await login(pg, "admin@pg.com.br", "/integracoes");
  await expect(pg.getByRole("heading", { name: "Integrações" })).toBeVisible();
  await hydrated(pg);
  // Its stream is open once it has told where P&G's own integrations stand.
  await pg.waitForFunction(() => (window as unknown as LiveRecord).liveEvents.length > 0);

  await page.goto("/integracoes");
  await hydrated(page);
  const card = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="local-http"]');
  await expect(card).toBeVisible();
  const asked: string[] = [];
  page.on("request", (r) => asked.push(new URL(r.url()).pathname));

  const session = await page.request.post("/api/get-session", { form: {} });
  expect(session.ok()).toBeTruthy();
  const tenant = (await session.json()).current_tenant.id as string;
  const started = await page.request.post("/functions/v1/run-integration", {
    data: { tenant_id: tenant, provider_slug: "local-http" },
  });
  expect(started.status(), await started.text()).toBeLessThan(300);
  const execution = (await started.json()).execution_id as string;

  await expect(card.locator(".badge")).toHaveText("Executando");
  await expect(card.locator(".badge")).toHaveText("Sucesso", { timeout: 60_000 });
  // The card moved with nobody asking for the list: no poll.
  expect(asked.filter((p) => p === "/api/list-integrations")).toEqual([]);

  // Everything P&G's page received is one of P&G's own integrations (it has a sandbox
  // integration too, with an id of its own).
  const pgEvents = await pg.evaluate(() => (window as unknown as LiveRecord).liveEvents);
  const pgList = await pg.request.post("/api/list-integrations", { form: {} });
  expect(pgList.ok()).toBeTruthy();
  const pgIds = new Set(((await pgList.json()) as { id: string }[]).map((i) => i.id));
  expect(pgEvents.length).toBeGreaterThan(0);
  const foreign = pgEvents.filter((e) => e.includes(execution) || !pgIds.has(JSON.parse(e).id));
  expect(foreign).toEqual([]);
  await pgContext.close();
});

// A hidden tab lets go of its live stream (a browser on HTTP/1.1 gives a site six
// connections) and, shown again, opens a new one that starts with where every integration
// stands: a run that failed meanwhile is on its card without the page asking for the list.
test("a hidden tab closes its live stream and catches up when shown again", async ({ page }) => {
  await recordLiveStreams(page);
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  await pointLocalHttpAt(page, "auth");
  await page.goto("/integracoes");
  await hydrated(page);
  const card = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="local-http"]');
  await expect(card).toBeVisible();
  const sources = () =>
    page.evaluate(() =>
      (window as unknown as LiveRecord).liveSources.map((s) => s.readyState),
    );
  // EventSource.readyState: 1 open, 2 closed.
  await expect.poll(sources).toEqual([1]);
  const lastRun = card.locator("time").first();
  const before = (await lastRun.count()) ? await lastRun.getAttribute("datetime") : null;

  const setHidden = (hidden: boolean) =>
    page.evaluate((h) => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
  await setHidden(true);
  await expect.poll(sources).toEqual([2]);

  // A run that fails (the sandbox answers 401) while the tab is hidden.
  const session = await page.request.post("/api/get-session", { form: {} });
  const tenant = (await session.json()).current_tenant.id as string;
  const ended = await page.request.post("/functions/v1/run-integration?wait=true", {
    data: { tenant_id: tenant, provider_slug: "local-http" },
  });
  expect(ended.status(), await ended.text()).toBe(200);
  expect((await ended.json()).status).toBe("error");

  const asked: string[] = [];
  page.on("request", (r) => asked.push(new URL(r.url()).pathname));
  await setHidden(false);
  await expect.poll(sources).toEqual([2, 1]);
  await expect(card.locator(".badge")).toHaveText("Erro");
  // The run that failed while hidden, not an earlier one.
  await expect(lastRun).toHaveAttribute("datetime", /\d/);
  await expect(lastRun).not.toHaveAttribute("datetime", before ?? "");
  expect(asked.filter((p) => p === "/api/list-integrations")).toEqual([]);
});

/** Opens `/api/run-events` outside the browser with the page's cookies (as another tab
 *  would) and keeps it open; resolves with the HTTP status once the answer's head came. */
function holdStream(baseURL: string, cookie: string): Promise<{ status: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      new URL("/api/run-events", baseURL),
      { headers: { cookie, accept: "text/event-stream" } },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, close: () => req.destroy() });
      },
    );
    req.on("error", reject);
  });
}

// A stream the server refuses (429: the user has as many open as it allows) is closed for
// good by the browser; the page polls meanwhile and opens it again once there is room,
// without a reload.
test("a refused live stream is opened again once the server has room", async ({
  page,
  baseURL,
  allowedErrors,
}) => {
  // The refusal as Chromium logs it: the status, and the JSON body that is no event stream.
  allowedErrors.push(/status of 429/, /EventSource's response has a MIME type \("application\/json"\)/);
  await recordLiveStreams(page);
  // Signed in without opening a page: no stream of the user's is open but the test's own.
  const signedIn = await page.request.post("/api/login", {
    form: { email: "equipe@contmax.com.br", password: DEMO_PASSWORD, next: "/" },
  });
  expect(signedIn.ok(), `sign-in: ${signedIn.status()}`).toBeTruthy();
  const cookie = (await page.context().cookies())
    .map((c) => `${c.name}=${c.value}`)
    .join("; ");
  expect(cookie).not.toBe("");
  // Take every stream this user may hold (until one is refused).
  const held: { status: number; close: () => void }[] = [];
  try {
    for (let i = 0; i < 64; i++) {
      const s = await holdStream(baseURL ?? "", cookie);
      held.push(s);
      if (s.status === 429) break;
    }
    expect(held.at(-1)?.status).toBe(429);

    await page.goto("/integracoes");
    await hydrated(page);
    const sources = () =>
      page.evaluate(() =>
        (window as unknown as LiveRecord).liveSources.map((s) => s.readyState),
      );
    // EventSource.readyState: 1 open, 2 closed.
    await expect.poll(sources).toEqual([2]);
    for (const s of held) s.close();
    // Tried again after a few seconds, and again while the server still counts the
    // streams just closed.
    await expect.poll(async () => (await sources()).at(-1), { timeout: 60_000 }).toBe(1);
  } finally {
    for (const s of held) s.close();
  }
});

// Alerts and auto-pause (issue "The engine under pressure", item 10): three failed runs in
// a row of Contmax's sandbox integration pause it; its card says so, the admin's Avisos in
// the header has the notice (opening it marks it seen), and Retomar on the card lifts the
// pause, which the audit trail records.
test("three failed runs pause an integration, Avisos tells the admin, and Retomar resumes it", async ({
  page,
}) => {
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  const session = await page.request.post("/api/get-session", { form: {} });
  expect(session.ok()).toBeTruthy();
  const tenant = (await session.json()).current_tenant.id as string;
  const runToEnd = async () => {
    const r = await page.request.post("/functions/v1/run-integration?wait=true", {
      data: { tenant_id: tenant, provider_slug: "local-http" },
    });
    expect(r.status(), await r.text()).toBe(200);
    return (await r.json()).status as string;
  };
  // A success first: failures other tests left do not count toward this test's three (and
  // a pause they left is lifted).
  expect(await runToEnd()).toBe("success");
  await pointLocalHttpAt(page, "auth");
  for (let i = 0; i < 3; i++) expect(await runToEnd()).toBe("error");

  await page.goto("/integracoes");
  await hydrated(page);
  const card = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="local-http"]');
  await expect(card.getByTestId("paused")).toContainText("Pausada após 3 falhas seguidas");

  const notices = page.getByTestId("notices");
  await expect(notices.getByTestId("notice-count")).toHaveText(/^[1-9]/);
  await notices.locator("summary").click();
  const newest = notices.locator(".notice").first();
  await expect(newest).toContainText("Teste local (HTTP): agendamento pausado após 3 falhas seguidas.");
  await expect(newest).toContainText("credenciais");
  // Opened: seen.
  await expect(notices.getByTestId("notice-count")).toHaveCount(0);
  await notices.locator("summary").click();

  await card.getByRole("button", { name: "Retomar Teste local (HTTP)" }).click();
  await expect(card.getByTestId("paused")).toHaveCount(0);
  await page.goto("/integracoes/local-http");
  await hydrated(page);
  await expect(page.getByTestId("paused")).toHaveCount(0);
  await expect(page.locator("body")).toContainText("Agendamento retomado (Retomar).");
});

// A timeline per attempt (issue "The engine under pressure", item 11): the drawer of a
// finished run of Contmax's sandbox integration says what it did, in order: its three
// pages in one entry and the twelve records they brought.
test("the drawer shows the attempt's timeline", async ({ page }) => {
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  const session = await page.request.post("/api/get-session", { form: {} });
  const tenant = (await session.json()).current_tenant.id as string;
  const ended = await page.request.post("/functions/v1/run-integration?wait=true", {
    data: { tenant_id: tenant, provider_slug: "local-http" },
  });
  expect(ended.status(), await ended.text()).toBe(200);
  const run = await ended.json();
  expect(run.status).toBe("success");

  await page.goto(`/integracoes/local-http?execucao=${run.execution_id}`);
  const drawer = page.getByRole("dialog", { name: "Detalhes da execução" });
  const timeline = drawer.getByRole("list", { name: "Linha do tempo da tentativa 1" });
  await expect(timeline.locator('[data-kind="pages"]')).toContainText("Páginas 1–3 buscadas em");
  await expect(timeline.locator('[data-kind="rows"]')).toContainText("12 registros gravados em 3 lotes");
  await expect(timeline.locator(".timeline-at").first()).toHaveText(/^\+\d/);
});
