import { test, expect, login, hydrated } from "./fixtures";

test("an anonymous visitor is sent to the login page and comes back after signing in", async ({ page }) => {
  await page.goto("/integracoes");
  await expect(page).toHaveURL(/\/login\?next=%2Fintegracoes|\/login\?next=\/integracoes/);
  await hydrated(page);
  await page.getByLabel("E-mail").fill("equipe@pg.com.br");
  await page.getByLabel("Senha").fill("contmax123");
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page).toHaveURL(/\/integracoes$/);
  await expect(page.getByRole("heading", { name: "Integrações", level: 1 })).toBeVisible();
});

test("a wrong password gets a clear pt-BR error", async ({ page, allowedErrors }) => {
  allowedErrors.push(/status of 401 \(Unauthorized\)/);
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("E-mail").fill("equipe@pg.com.br");
  await page.getByLabel("Senha").fill("senha-errada");
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page.getByRole("alert")).toHaveText("E-mail ou senha inválidos.");
  await expect(page).toHaveURL(/\/login/);
});

test("the portal home lists the Integrações module and its link opens /integracoes", async ({ page }) => {
  await login(page, "equipe@pg.com.br");
  await expect(page).toHaveURL(/\/$/);
  const grid = page.getByRole("list", { name: "Módulos do portal" });
  await expect(grid).toBeVisible();
  // The tenant's own module is there, the other tenant's is not (row-level security).
  await expect(grid.locator('[data-slug="clientes-pg"]')).toBeVisible();
  await expect(grid.locator('[data-slug="clientes-contmax"]')).toHaveCount(0);
  await grid.getByRole("link", { name: /Integrações/ }).click();
  await expect(page).toHaveURL(/\/integracoes$/);
  await expect(page.getByRole("list", { name: "Integrações" }).locator('[data-slug="acessorias"]')).toBeVisible();
});

test("the module filter works: only the hydrated wasm client can do this", async ({ page }) => {
  await login(page, "admin@contmax.com.br");
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("list", { name: "Módulos do portal" })).toBeVisible();
  await hydrated(page);
  const cards = page.locator(".module-card:visible");
  const before = await cards.count();
  expect(before).toBeGreaterThan(1);
  await page.getByLabel("Filtrar módulos").fill("integ");
  await expect(cards).toHaveCount(1);
  await expect(cards.first()).toHaveAttribute("data-slug", "integracoes");
  await page.getByLabel("Filtrar módulos").fill("nada-com-isso");
  await expect(cards).toHaveCount(0);
  await expect(page.getByText("Nenhum módulo encontrado para esse filtro.")).toBeVisible();
});

test("a P&G user sees P&G in the header and never a Contmax module", async ({ page }) => {
  await login(page, "admin@pg.com.br");
  await expect(page.getByTestId("current-tenant")).toHaveText("P&G");
  await expect(page.locator('[data-slug="clientes-contmax"]')).toHaveCount(0);
});

test("a user of both tenants switches tenant in the header", async ({ page }) => {
  await login(page, "socio@contmax.com.br");
  await hydrated(page);
  const select = page.getByLabel("Organização");
  await expect(select).toHaveValue("contmax");
  await expect(page.locator('[data-slug="clientes-contmax"]')).toBeVisible();
  await select.selectOption("pg");
  await page.getByRole("button", { name: "Trocar" }).click();
  await expect(page.locator('[data-slug="clientes-pg"]')).toBeVisible();
  await expect(page.locator('[data-slug="clientes-contmax"]')).toHaveCount(0);
  // Remembered across a reload.
  await page.reload();
  await expect(page.getByLabel("Organização")).toHaveValue("pg");
});

test("a platform administrator finds an organization by name and switches to it", async ({
  page,
  allowedErrors,
}) => {
  allowedErrors.push(/status of 403/);
  await login(page, "ti@contmax.com.br");
  await hydrated(page);
  const field = page.getByLabel("Organização");
  await expect(field).toHaveValue("contmax");
  await expect(page.locator('[data-slug="clientes-contmax"]')).toBeVisible();
  // The server's suggestions as they type.
  await field.fill("p&");
  await expect(page.locator('#tenant-options option[value="pg"]')).toHaveCount(1);
  await expect(page.locator("#tenant-options option")).toHaveCount(1);
  // Sent by the whole name.
  await field.fill("P&G");
  await page.getByRole("button", { name: "Trocar" }).click();
  await expect(page.locator('[data-slug="clientes-pg"]')).toBeVisible();
  await expect(page.locator('[data-slug="clientes-contmax"]')).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Organização")).toHaveValue("pg");
  // A name none of theirs has: said in pt-BR, and nothing changes.
  await page.getByLabel("Organização").fill("Nenhuma Ltda");
  await page.getByRole("button", { name: "Trocar" }).click();
  await expect(page.locator(".tenant-error")).toContainText("Organização não encontrada");
  await expect(page.locator('[data-slug="clientes-pg"]')).toBeVisible();
});

test("logout ends the session", async ({ page }) => {
  await login(page, "equipe@contmax.com.br");
  await hydrated(page);
  await page.getByRole("button", { name: "Sair", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
});

test("sair de todos os dispositivos ends the user's sessions in every browser", async ({ page, browser }) => {
  // A second browser (another device) signed in as the same person.
  const other = await browser.newContext();
  const phone = await other.newPage();
  await login(phone, "socio@contmax.com.br", "/integracoes");
  await expect(phone.getByRole("heading", { name: "Integrações", level: 1 })).toBeVisible();

  await login(page, "socio@contmax.com.br");
  await hydrated(page);
  await page.getByRole("button", { name: "Sair de todos os dispositivos" }).click();
  await expect(page.getByRole("button", { name: "Entrar" })).toBeVisible();
  // The other device's token no longer opens anything: its next page is the login.
  await phone.goto("/integracoes");
  await expect(phone.getByRole("button", { name: "Entrar" })).toBeVisible();
  await expect(phone).toHaveURL(/\/login\?next=(%2F|\/)integracoes/);
  await other.close();
});

test("a tenant admin turns an integration off and on; staff get no such button", async ({ page }) => {
  await login(page, "admin@pg.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  await hydrated(page);
  // The sandbox integration has its token (the demo put it in the vault), so it turns on.
  const card = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="local-http"]');
  const toggles: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/set-integration-enabled")) toggles.push(r.url());
  });
  await card.getByRole("button", { name: "Desativar Teste local (HTTP)" }).click();
  await expect(card.getByRole("group", { name: "Confirmar desativação" })).toContainText(
    "Desativar Teste local (HTTP)? Ela deixa de ser executada",
  );
  expect(toggles, "asking sends nothing").toEqual([]);
  await card.getByRole("button", { name: "Sim, desativar Teste local (HTTP)" }).click();
  await expect(card.locator(".badge")).toHaveText("Desativada");
  await card.getByRole("button", { name: "Ativar Teste local (HTTP)" }).click();
  await expect(card.getByRole("button", { name: "Desativar Teste local (HTTP)" })).toBeVisible();
  await expect(card.locator(".badge")).not.toHaveText("Desativada");

  await page.getByRole("button", { name: "Sair", exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
  await login(page, "equipe@pg.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  const staffCard = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="acessorias"]');
  await expect(staffCard).toBeVisible();
  await expect(staffCard.getByRole("button", { name: /Desativar|Ativar/ })).toHaveCount(0);
  await expect(staffCard.getByRole("button", { name: "Executar Acessórias" })).toBeVisible();
});

test("Executar runs an integration: the badge turns running, then success, without reloading", async ({ page }) => {
  await login(page, "equipe@contmax.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  await hydrated(page);
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  // The demo's local-http integration does real HTTP against the in-process sandbox
  // (three pages of 700 ms).
  const card = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="local-http"]');
  const run = card.getByRole("button", { name: "Executar Teste local (HTTP)" });
  await run.click();
  await expect(card.locator(".badge")).toHaveText("Executando");
  await expect(run).toBeDisabled();
  await expect(card.locator(".badge")).toHaveText("Sucesso", { timeout: 20_000 });
  await expect(run).toBeEnabled();
  await expect(card.locator(".last-run time")).toBeVisible();
  await expect(page.locator(".toast")).toContainText("Teste local (HTTP): execução concluída com sucesso.");

  // Its history has the new run on top; its drawer shows what was sent, secrets hidden.
  await card.getByRole("link", { name: "Logs de Teste local (HTTP)" }).click();
  await expect(page).toHaveURL(/\/integracoes\/local-http/);
  const first = page.locator(".history-table tbody tr").first();
  await expect(first).toHaveAttribute("data-status", "success");
  await expect(first.locator("td").nth(2)).toHaveText("Manual");
  await first.getByRole("link", { name: /Detalhes/ }).click();
  const drawer = page.getByRole("dialog", { name: "Detalhes da execução" });
  await expect(drawer).toContainText("Tentativa 1");
  await drawer.getByText("Resposta (dados sensíveis ocultos)").click();
  await expect(drawer.locator("pre").last()).toContainText("[redacted]");
  expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
});

test("a P&G user never sees Contmax's runs, even with a forged tenant cookie", async ({ page, context }) => {
  // Contmax ran its local-http integration in the test above; P&G never did.
  await login(page, "admin@pg.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  const url = new URL(page.url());
  await context.addCookies([{ name: "portal_tenant", value: "contmax", domain: url.hostname, path: "/" }]);
  await page.goto("/integracoes/local-http");
  await expect(page.getByTestId("current-tenant")).toHaveText("P&G");
  await expect(page.getByText("Nenhuma execução encontrada com estes filtros.")).toBeVisible();
  await expect(page.getByTestId("detail-runs")).toHaveText("0");
});
