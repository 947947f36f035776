import { test, expect, hydrated, login } from "./fixtures";

// Credentials are write-only: an admin sets a token, sees "configurado", Testar conexão
// says OK against the demo sandbox, a wrong token gets the pt-BR refusal, the Auditoria
// section lists it all with the admin's name; staff see states only. Ends with a valid
// token again, so the demo's local-http keeps running for the other tests.

test("an admin sets a token, tests the connection and finds it in the audit trail", async ({ page }) => {
  const good = `sbx_e2e_${Date.now()}`;
  await login(page, "admin@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  const section = page.locator("#credenciais");
  const state = section.getByTestId("secret-status-api_token");
  const input = section.getByLabel("Token da API *");
  await expect(input).toHaveAttribute("type", "password");

  await input.fill(good);
  await section.getByRole("button", { name: /^(Salvar|Substituir)$/ }).click();
  await expect(section.getByText("Credencial salva.")).toBeVisible();
  await expect(state).toContainText("configurado em");
  await expect(state).toContainText("por Ana Admin (Contmax)");
  await expect(input).toHaveValue("");
  const html = await page.content();
  expect(html).not.toContain(good);

  const result = section.getByTestId("connection-result");
  await section.getByRole("button", { name: "Testar conexão" }).click();
  await expect(result).toContainText(/Conexão OK \(\d+ ms\)/);
  await expect(result).toHaveAttribute("data-ok", "true");

  await input.fill("token-errado");
  await section.getByRole("button", { name: "Substituir" }).click();
  await expect(input).toHaveValue("");
  await section.getByRole("button", { name: "Testar conexão" }).click();
  await expect(result).toContainText("O provedor recusou a credencial");
  await expect(result).toHaveAttribute("data-ok", "false");

  await input.fill(good);
  await section.getByRole("button", { name: "Substituir" }).click();
  // Emptied when the save has answered: "configurado em" was already there before it.
  await expect(input).toHaveValue("");
  await expect(state).toContainText("configurado em");

  // The trail, newest first, with the admin's name.
  await page.reload();
  await hydrated(page);
  const audit = page.locator("#auditoria");
  await expect(audit.locator('tr[data-action="secret_set"]').first()).toContainText("Ana Admin (Contmax)");
  await expect(audit.locator('tr[data-action="connection_tested"]').first()).toContainText("recusou a credencial");
  await expect(audit.locator('tr[data-action="connection_tested"]').last()).toContainText("Conexão OK");
  await audit.getByLabel("Ação").selectOption("connection_tested");
  await audit.getByRole("button", { name: "Aplicar filtros" }).click();
  await expect(page).toHaveURL(/aud_acao=connection_tested/);
  // The unfiltered trail's newest entry is the key set last: a test first in the table
  // is the filtered page, and only then is "no other action" a claim about it.
  await expect(audit.locator("tbody tr").first()).toHaveAttribute("data-action", "connection_tested");
  await expect(audit.locator("tbody tr:not([data-action=\"connection_tested\"])")).toHaveCount(0);
  await expect(page.locator("body")).not.toContainText(good);

  // The tenant-wide view has them too, with the integration's name.
  await page.goto("/integracoes/auditoria");
  await hydrated(page);
  await expect(page.locator('#auditoria tr[data-action="secret_set"]').first()).toContainText("Teste local (HTTP)");
});

test("staff see the credential states but neither inputs, buttons nor the audit trail", async ({ page }) => {
  await login(page, "equipe@contmax.com.br", "/integracoes/local-http");
  await expect(page).toHaveURL(/\/integracoes\/local-http$/);
  await hydrated(page);
  const section = page.locator("#credenciais");
  await expect(section.getByTestId("secret-status-api_token")).toContainText("configurado");
  await expect(section.locator("input")).toHaveCount(0);
  await expect(section.getByRole("button")).toHaveCount(0);
  await expect(page.locator("#auditoria")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Testar conexão" })).toHaveCount(0);
});

test("an admin adds an integration from the catalog; it stays off until its key is set", async ({ page, allowedErrors }) => {
  allowedErrors.push(/status of 409/);
  await login(page, "admin@pg.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  await hydrated(page);
  const catalog = page.getByRole("list", { name: "Catálogo de integrações" });
  await expect(catalog).toContainText("BomControle");
  await catalog.getByRole("button", { name: "Adicionar BomControle" }).click();
  await expect(page).toHaveURL(/\/integracoes\/bomcontrole/);
  await expect(page.getByRole("heading", { name: "BomControle", level: 1 })).toBeVisible();
  await hydrated(page);
  await expect(page.locator(".detail-head .badge")).toHaveText("Desativada");
  await page.getByRole("button", { name: "Ativar" }).click();
  await expect(page.getByRole("alert")).toContainText("Configure antes de ativar: Chave da API");

  const section = page.locator("#credenciais");
  await section.getByLabel("Chave da API *").fill("chave-de-teste-e2e");
  await section.getByRole("button", { name: "Salvar" }).click();
  await expect(section.getByTestId("secret-status-api_key")).toContainText("configurado em");
  await page.getByRole("button", { name: "Ativar" }).click();
  await expect(page.getByRole("button", { name: "Desativar" })).toBeVisible();

  await page.goto("/integracoes");
  await expect(page.locator('.integration-card[data-slug="bomcontrole"]')).toBeVisible();
  await expect(page.getByRole("list", { name: "Catálogo de integrações" })).not.toContainText("BomControle");
});
