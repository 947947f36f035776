import { test, expect, hydrated, login } from "./fixtures";

// Acessórias for real: the demo points Contmax's Acessórias at its sandbox (60 companies,
// one without a document, every twelfth closed) with the sandbox token in the vault.
// *Executar* syncs the companies and their deliveries over HTTP; the card then shows the
// run's totals, the history has the run, and the companies are listed in the portal.

test("Executar on Acessórias syncs the companies, shows the totals and lists them", async ({ page }) => {
  // A real sync over HTTP: more than the default 30 s on a busy machine.
  test.setTimeout(120_000);
  await login(page, "admin@contmax.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  await hydrated(page);
  const card = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="acessorias"]');
  const run = card.getByRole("button", { name: "Executar Acessórias" });
  await expect(run).toBeEnabled();
  await run.click();
  await expect(card.locator(".badge")).toHaveText("Executando");
  // Pages done of pages known, as the worker's heartbeat reports them (every second here).
  await expect(card.getByRole("progressbar", { name: "Progresso de Acessórias" })).toBeVisible({ timeout: 30_000 });
  // The toast comes with the end of the run and goes after a few seconds: wait for it
  // first, then read the badge.
  await expect(page.locator(".toast")).toContainText("Acessórias: execução concluída com sucesso.", { timeout: 60_000 });
  await expect(card.locator(".badge")).toHaveText("Sucesso");
  // 60 companies: 59 with a document (created the first time, unchanged after), 1 to review.
  await expect(card.locator(".last-totals")).toContainText("60 processados");
  await expect(card.locator(".last-totals")).toContainText("1 em revisão");

  // The history has the run on top with its totals.
  await card.getByRole("link", { name: "Logs de Acessórias" }).click();
  await expect(page).toHaveURL(/\/integracoes\/acessorias/);
  const first = page.locator(".history-table tbody tr").first();
  await expect(first).toHaveAttribute("data-status", "success");
  // Columns: Tentativa, Duração, Processados, ...
  await expect(first.locator("td.num").nth(2)).toHaveText("60");

  // The companies are in the portal: 59, closed ones marked, searchable by CNPJ.
  await page.goto("/empresas");
  await expect(page.getByRole("heading", { name: "Empresas", level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.locator(".total")).toContainText("59 empresas");
  const rows = page.locator(".empresas-table tbody tr");
  await expect(rows).toHaveCount(59);
  // Every twelfth is closed in the sandbox; the sixtieth, closed too, has no document.
  await expect(page.locator('.empresas-table tbody tr[data-baixada="true"]')).toHaveCount(4);
  const cnpj = (await rows.first().locator("td.mono").textContent()) ?? "";
  expect(cnpj).toMatch(/^\d{2}\.\d{3}\.\d{3}\/\d{4}-\d{2}$|^\d{3}\.\d{3}\.\d{3}-\d{2}$/);
  await page.getByLabel("Buscar por nome ou CNPJ").fill(cnpj.replace(/\D/g, ""));
  await page.getByRole("button", { name: "Buscar" }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first().locator("td.mono")).toHaveText(cnpj);
});
