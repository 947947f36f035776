import type { Page } from "@playwright/test";
import { test, expect, hydrated, login } from "./fixtures";

// OneCode for real: the demo points Contmax's OneCode at its sandbox, whose contacts are
// named after the Acessórias sandbox's companies (exact, accents, suffixes, near misses,
// groups). *Executar* matches them to the companies: near misses wait in *Revisar
// contatos*, where an admin accepts one suggestion and ignores another; the accepted
// company gets the contact's WhatsApp, and the audit trail has both decisions.

/** The companies come from Acessórias: sync them first when this file runs alone. */
async function ensureCompanies(page: Page) {
  await page.goto("/empresas");
  await expect(page.getByRole("heading", { name: "Empresas", level: 1 })).toBeVisible();
  await hydrated(page);
  if ((await page.locator(".empresas-table").count()) > 0) return;
  await page.goto("/integracoes/acessorias");
  await hydrated(page);
  const runs = page.getByTestId("detail-runs");
  const before = Number((await runs.textContent()) ?? "0");
  await page.getByRole("button", { name: "Executar", exact: true }).click();
  await expect
    .poll(async () => Number((await runs.textContent()) ?? "0"), { timeout: 90_000 })
    .toBeGreaterThan(before);
}

/** *Executar* on the open detail page, waiting for the run to end (metrics count ended runs;
 * a webhook batch may be counted too, hence "at least"). */
async function runAndWait(page: Page) {
  const runs = page.getByTestId("detail-runs");
  const before = Number((await runs.textContent()) ?? "0");
  await page.getByRole("button", { name: "Executar", exact: true }).click();
  await expect
    .poll(async () => Number((await runs.textContent()) ?? "0"), { timeout: 60_000 })
    .toBeGreaterThan(before);
  await expect(page.locator(".detail-head .badge")).toHaveText("Sucesso");
}

/** Contacts waiting in *Revisar contatos*: synced first when this test runs alone. */
async function ensureQueue(page: Page) {
  await page.goto("/integracoes/onecode");
  await hydrated(page);
  if ((await page.locator("#revisar-contatos .review-item").count()) > 0) return;
  await ensureCompanies(page);
  await page.goto("/integracoes/onecode");
  await hydrated(page);
  await runAndWait(page);
  await page.reload();
  await hydrated(page);
}

test("an admin works the review queue: accepts one, ignores another, and both are audited", async ({ page }) => {
  // Real syncs over HTTP (Acessórias when alone, then OneCode).
  test.setTimeout(180_000);
  await login(page, "admin@contmax.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  await ensureCompanies(page);

  await page.goto("/integracoes/onecode");
  await expect(page.getByRole("heading", { name: "OneCode", level: 1 })).toBeVisible();
  await hydrated(page);

  // The webhook address: this site's origin and the integration's 64-hex token; Copiar.
  const address = page.locator("#webhook").getByLabel("Endereço do webhook");
  await expect(address).toHaveValue(/^https?:\/\/[^/]+\/functions\/v1\/onecode-webhook\/[0-9a-f]{64}$/);
  const url = await address.inputValue();
  expect(url.startsWith(new URL(page.url()).origin)).toBe(true);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.locator("#webhook").getByRole("button", { name: "Copiar" }).click();
  await expect(page.locator(".toast", { hasText: "Endereço do webhook copiado." })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);

  await runAndWait(page);
  // A fresh render after the run, so the queue is read after the sync's last page.
  await page.reload();
  await hydrated(page);

  const section = page.locator("#revisar-contatos");
  await expect(section.getByRole("heading", { name: "Revisar contatos" })).toBeVisible();
  const items = section.getByRole("list", { name: "Contatos aguardando revisão" }).locator(".review-item");
  await expect(items.first()).toBeVisible();
  expect(await items.count()).toBeGreaterThanOrEqual(2);

  // Accept the first suggestion (best score first).
  const accepted = items.filter({ has: page.locator(".review-company") }).first();
  const acceptedId = (await accepted.getAttribute("data-contato")) ?? "";
  const contact = ((await accepted.locator(".review-name").textContent()) ?? "").trim();
  const phone = ((await accepted.locator(".review-phone").textContent()) ?? "").trim();
  const company = ((await accepted.locator(".review-company").textContent()) ?? "").trim();
  await expect(accepted.locator(".review-score")).toContainText("%");
  await accepted.getByRole("button", { name: "Aceitar" }).click();
  const toast = page.locator(".toast", { hasText: `Contato “${contact}” vinculado a “${company}”` });
  await expect(toast).toBeVisible();
  const filled = ((await toast.textContent()) ?? "").includes("WhatsApp da empresa preenchido");
  await expect(section.locator(`[data-contato="${acceptedId}"]`)).toHaveCount(0);

  // Ignore another one.
  const ignored = items.first();
  const ignoredId = (await ignored.getAttribute("data-contato")) ?? "";
  expect(ignoredId).not.toBe(acceptedId);
  const ignoredName = ((await ignored.locator(".review-name").textContent()) ?? "").trim();
  await ignored.getByRole("button", { name: "Ignorar" }).click();
  await expect(page.locator(".toast", { hasText: `Contato “${ignoredName}” ignorado.` })).toBeVisible();
  await expect(section.locator(`[data-contato="${ignoredId}"]`)).toHaveCount(0);

  // The page's audit trail has both decisions, newest first.
  const audit = page.locator("#auditoria");
  const decisions = audit.locator('tbody tr[data-action="contact_decided"]');
  await expect(decisions).toHaveCount(2);
  await expect(decisions.nth(0)).toContainText(`Contato “${ignoredName}”`);
  await expect(decisions.nth(0)).toContainText("ignorado");
  await expect(decisions.nth(1)).toContainText(`vinculado a “${company}”`);
  await expect(decisions.nth(1)).toContainText("Ana Admin (Contmax)");
  // And the tenant's trail, under its pt-BR action name.
  await page.goto("/integracoes/auditoria");
  await hydrated(page);
  await page.locator("#auditoria").getByLabel("Ação").selectOption("contact_decided");
  await page.locator("#auditoria").getByRole("button", { name: "Aplicar filtros" }).click();
  await expect(page).toHaveURL(/aud_acao=contact_decided/);
  await expect(page.locator('#auditoria tbody tr[data-action="contact_decided"]')).toHaveCount(2);
  await expect(page.locator("#auditoria tbody tr").first()).toContainText("Contato revisado");

  // The accepted company has a WhatsApp in the portal: the contact's, unless a person
  // had set one already.
  await page.goto("/empresas");
  await hydrated(page);
  await page.getByLabel("Buscar por nome ou CNPJ").fill(company);
  await page.getByRole("button", { name: "Buscar" }).click();
  const row = page
    .locator(".empresas-table tbody tr")
    .filter({ has: page.getByRole("cell", { name: company, exact: true }) });
  await expect(row).toHaveCount(1);
  if (filled) {
    await expect(row.locator("td.whatsapp")).toHaveText(phone);
  } else {
    await expect(row.locator("td.whatsapp")).not.toHaveText("—");
  }

  // A decision is remembered: the next sync does not ask about those contacts again.
  await page.goto("/integracoes/onecode");
  await hydrated(page);
  await runAndWait(page);
  await page.reload();
  await hydrated(page);
  await expect(page.locator(`#revisar-contatos [data-contato="${acceptedId}"]`)).toHaveCount(0);
  await expect(page.locator(`#revisar-contatos [data-contato="${ignoredId}"]`)).toHaveCount(0);
});

test("an admin picks another company for a contact; staff see the queue without deciding", async ({ page }) => {
  test.setTimeout(180_000);
  await login(page, "admin@contmax.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  await ensureQueue(page);
  await page.goto("/empresas");
  await expect(page.getByRole("heading", { name: "Empresas", level: 1 })).toBeVisible();
  // Any company will do: the first one the portal lists, found by its first letters.
  const company = ((await page.locator(".empresas-table tbody tr td").first().textContent()) ?? "").trim();
  expect(company).not.toBe("");

  await page.goto("/integracoes/onecode");
  await hydrated(page);
  const section = page.locator("#revisar-contatos");
  const first = section.locator(".review-item").first();
  await expect(first).toBeVisible();
  const id = (await first.getAttribute("data-contato")) ?? "";
  const item = section.locator(`[data-contato="${id}"]`);
  const contact = ((await item.locator(".review-name").textContent()) ?? "").trim();

  await item.getByRole("button", { name: "Escolher outra empresa" }).click();
  const search = item.getByLabel("Buscar empresa por nome ou CNPJ");
  await expect(search).toBeFocused();
  await search.fill(company.slice(0, 8));
  await item.getByRole("button", { name: "Buscar", exact: true }).click();
  const choice = item.getByRole("radio", { name: new RegExp(escapeRegExp(company)) }).first();
  await expect(choice).toBeVisible();
  const confirm = item.getByRole("button", { name: "Confirmar" });
  await expect(confirm).toBeDisabled();
  await choice.check();
  await confirm.click();
  await expect(page.locator(".toast", { hasText: `Contato “${contact}” vinculado a “${company}”` })).toBeVisible();
  await expect(section.locator(`[data-contato="${id}"]`)).toHaveCount(0);

  // Staff: the same queue, no decision buttons, no webhook address.
  await page.context().clearCookies();
  await login(page, "equipe@contmax.com.br", "/integracoes/onecode");
  await expect(page).toHaveURL(/\/integracoes\/onecode$/);
  await hydrated(page);
  await expect(page.getByTestId("reviews-admins-only")).toBeVisible();
  await expect(page.locator("#revisar-contatos .review-item").first()).toBeVisible();
  await expect(page.locator("#revisar-contatos").getByRole("button", { name: "Aceitar" })).toHaveCount(0);
  await expect(page.locator("#webhook")).toHaveCount(0);
});

test("the OneCode page hydrates cleanly, three times", async ({ page }) => {
  await login(page, "admin@contmax.com.br", "/integracoes/onecode");
  await expect(page).toHaveURL(/\/integracoes\/onecode$/);
  for (let i = 0; i < 3; i++) {
    await page.goto("/integracoes/onecode?contatos=a");
    await hydrated(page);
    await expect(page.locator("#revisar-contatos")).toBeVisible();
  }
});

function escapeRegExp(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
