import type { Page } from "@playwright/test";
import { test, expect, login, hydrated, DEMO_PASSWORD } from "./fixtures";

// These tests point Contmax's sandbox integration at another scenario of the sandbox and
// run it more than once: more time than the default, and the demo's URL put back after
// each, through the server's own API (the page may be gone when a test fails).
test.describe.configure({ timeout: 120_000 });

let restoreUrl: string | null = null;

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
