import { test, expect, hydrated, login } from "./fixtures";

// The detail page of an integration: history filters and keyset pages over 130 scheduled
// runs of P&G's Acessórias (end2end/fixtures/history.sql), and the execution drawer.

test("the history filters and pages correctly across 130 rows", async ({ page }) => {
  await login(page, "admin@pg.com.br", "/integracoes/acessorias");
  await expect(page).toHaveURL(/\/integracoes\/acessorias$/);
  await hydrated(page);
  const rows = page.locator(".history-table tbody tr");
  await expect(rows).toHaveCount(25);

  // Scheduled runs only, 50 a page: 50 + 50 + 30, none twice.
  await page.getByLabel("Origem").selectOption("schedule");
  await page.getByLabel("Por página").selectOption("50");
  await page.getByRole("button", { name: "Filtrar" }).click();
  // Only the fields that have a value, in the form's order (no empty `de=`, no `=`).
  await expect(page).toHaveURL(/\/integracoes\/acessorias\?origem=schedule&por_pagina=50$/);
  // The filtered page, not the one before it.
  await expect(rows).toHaveCount(50);
  const seen = new Set<string>();
  const sizes: number[] = [];
  for (;;) {
    await expect(rows.first()).toBeVisible();
    const times = await rows.locator("td:first-child time").evaluateAll((els) =>
      els.map((e) => e.getAttribute("datetime") ?? ""),
    );
    sizes.push(times.length);
    times.forEach((t) => seen.add(t));
    const next = page.getByRole("link", { name: "Próxima página" });
    if ((await next.count()) === 0) break;
    const firstBefore = times[0];
    await next.click();
    await expect(rows.first().locator("time")).not.toHaveAttribute("datetime", firstBefore);
  }
  expect(sizes).toEqual([50, 50, 30]);
  expect(seen.size).toBe(130);

  // Errors among them: 26, on two pages of 25.
  await page.getByLabel("Status", { exact: true }).selectOption("error");
  await page.getByLabel("Por página").selectOption("25");
  await page.getByRole("button", { name: "Filtrar" }).click();
  await expect(page).toHaveURL(/\?status=error&origem=schedule&por_pagina=25$/);
  await expect(rows).toHaveCount(25);
  await expect(page.locator('.history-table tbody tr[data-status="error"]')).toHaveCount(25);
  await page.getByRole("link", { name: "Próxima página" }).click();
  await expect(rows).toHaveCount(1);
  await page.getByRole("link", { name: "Primeira página" }).click();
  await expect(rows).toHaveCount(25);
});

test("the history and its filters work without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  // Sign in with JavaScript on, then read with it off (same cookies).
  const withJs = await browser.newContext();
  const p1 = await withJs.newPage();
  await login(p1, "equipe@pg.com.br", "/integracoes");
  await expect(p1).toHaveURL(/\/integracoes$/);
  await context.addCookies(await withJs.cookies());
  await page.goto("/integracoes/acessorias?status=error&origem=schedule&por_pagina=10");
  const rows = page.locator(".history-table tbody tr");
  // The executions a page lists, by the id in each row's *Detalhes* link.
  const executions = async () =>
    (await rows.getByRole("link", { name: /Detalhes/ }).evaluateAll((links) =>
      links.map((a) => new URL((a as HTMLAnchorElement).href).searchParams.get("execucao")),
    )) as string[];
  await expect(rows).toHaveCount(10);
  await expect(page.getByRole("heading", { name: "Acessórias", level: 1 })).toBeVisible();
  const page1 = await executions();
  expect(new Set(page1).size).toBe(10);
  await page.getByRole("link", { name: "Próxima página" }).click();
  await expect(page).toHaveURL(/antes=/);
  // Page 2: ten other executions (older ones; none of page 1's).
  await expect
    .poll(async () => (await executions()).filter((id) => !page1.includes(id)).length)
    .toBe(10);
  await context.close();
  await withJs.close();
});

test("an integration the organization does not have: one message, not one per section", async ({
  page,
  browser,
  allowedErrors,
}) => {
  allowedErrors.push(/status of 404/);
  const missing = "Integração não encontrada nesta organização.";
  // Hydrated, reached by the client after signing in.
  await login(page, "admin@pg.com.br", "/integracoes/nao-existe");
  await expect(page).toHaveURL(/\/integracoes\/nao-existe$/);
  await hydrated(page);
  const main = page.locator("main");
  await expect(main.getByRole("alert")).toHaveText(new RegExp(missing));
  await expect(main.getByRole("alert")).toHaveCount(1);
  await expect(main.getByRole("link", { name: "Integrações" })).toBeVisible();
  for (const name of ["Configuração", "Credenciais", "Histórico de execuções", "Auditoria"]) {
    await expect(page.getByRole("heading", { name, exact: true })).toBeHidden();
  }
  await expect(page.getByRole("button", { name: "Testar conexão" })).toBeHidden();

  // The server's page as it comes, JavaScript off (same cookies): the same.
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  await noJs.addCookies(await page.context().cookies());
  const plain = await noJs.newPage();
  const res = await plain.goto("/integracoes/nao-existe");
  expect(res?.status()).toBe(404);
  await expect(plain.locator("main").getByRole("alert")).toHaveText(new RegExp(missing));
  await expect(plain.locator("main").getByRole("alert")).toHaveCount(1);
  await expect(plain.getByRole("heading", { name: "Histórico de execuções" })).toBeHidden();
  await noJs.close();
});

test("an execution that is not there: its message in the drawer, which closes", async ({ page, allowedErrors }) => {
  allowedErrors.push(/status of 404/);
  await login(page, "admin@pg.com.br", "/integracoes/acessorias?execucao=00000000-0000-0000-0000-000000000000");
  await hydrated(page);
  const drawer = page.getByRole("dialog", { name: "Detalhes da execução" });
  await expect(drawer.getByRole("alert")).toHaveText("Execução não encontrada.");
  // The page itself is there, with its history.
  await expect(page.locator(".history-table tbody tr").first()).toBeVisible();
  await drawer.getByRole("link", { name: "Fechar" }).click();
  await expect(page).not.toHaveURL(/execucao=/);
  await expect(drawer).toHaveCount(0);
});

test("bad filters get a clear pt-BR error", async ({ page, allowedErrors }) => {
  allowedErrors.push(/status of 422/);
  await login(page, "admin@pg.com.br", "/integracoes/acessorias?de=2026-12-31&ate=2026-01-01");
  await expect(page.getByRole("alert")).toContainText("A data inicial deve ser anterior à data final.");
});

test("the configuration form: a bad URL gets a field error, a good one saves; staff see it read-only", async ({ page }) => {
  await login(page, "admin@pg.com.br", "/integracoes/acessorias");
  await expect(page).toHaveURL(/\/integracoes\/acessorias$/);
  await hydrated(page);
  const url = page.getByLabel("URL da API *");
  await url.fill("isto não é uma URL");
  await page.getByRole("button", { name: "Salvar configuração" }).click();
  await expect(page.locator("#cfg-base_url-error")).toHaveText(/Informe uma URL válida/);
  await expect(url).toHaveAttribute("aria-invalid", "true");
  // The credential never shows a value: a state and an empty password input.
  await expect(page.locator('[data-field="api_token"]')).toContainText("não configurado");
  await expect(page.locator('[data-field="api_token"] input[type="password"]')).toHaveValue("");
  await expect(page.locator('[data-field="api_token"] input:not([type="password"]):not([type="hidden"])')).toHaveCount(0);

  await url.fill("https://api.acessorias.example");
  await page.getByLabel("Agendamento").fill("2h");
  await page.getByRole("button", { name: "Salvar configuração" }).click();
  await expect(page.getByText("Configuração salva.")).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("URL da API *")).toHaveValue("https://api.acessorias.example");
  await expect(page.getByLabel("Agendamento")).toHaveValue("2h");

  await page.getByRole("button", { name: "Sair", exact: true }).click();
  await login(page, "equipe@pg.com.br", "/integracoes/acessorias");
  await expect(page).toHaveURL(/\/integracoes\/acessorias$/);
  await expect(page.getByLabel("URL da API *")).toBeDisabled();
  await expect(page.getByRole("button", { name: "Salvar configuração" })).toHaveCount(0);
  await expect(page.getByText("Somente administradores da organização podem alterar a configuração.")).toBeVisible();
});

test("turning an integration off disables Executar and the API answers 409", async ({ page }) => {
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  // Turning it off asks first; *Voltar* leaves it on.
  // Focus follows the question (the button pressed is gone, then back).
  const toggles: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/set-integration-enabled")) toggles.push(r.url());
  });
  await page.getByRole("button", { name: "Desativar" }).click();
  await expect(page.getByRole("button", { name: "Voltar" })).toBeFocused();
  await page.getByRole("button", { name: "Voltar" }).click();
  await expect(page.getByRole("button", { name: "Sim, desativar" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Desativar", exact: true })).toBeFocused();
  expect(toggles, "asking sends nothing").toEqual([]);
  await page.getByRole("button", { name: "Desativar", exact: true }).click();
  await page.getByRole("button", { name: "Sim, desativar" }).click();
  await expect(page.locator(".detail-head .badge")).toHaveText("Desativada");
  await expect(page.getByRole("button", { name: "Executar" })).toBeDisabled();

  // The same session calls the public API (the browser's cookie is the Bearer here).
  const session = await page.request.post("/api/get-session", { form: {} });
  const user = await session.json();
  const tenantId = user.current_tenant.id;
  const res = await page.request.post("/functions/v1/run-integration", {
    data: { tenant_id: tenantId, provider_slug: "local-http" },
  });
  expect(res.status()).toBe(409);
  expect((await res.json()).error).toContain("desativada");

  await page.getByRole("button", { name: "Ativar" }).click();
  await expect(page.getByRole("button", { name: "Executar" })).toBeEnabled();
});
