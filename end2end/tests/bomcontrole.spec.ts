import { test, expect, hydrated, login } from "./fixtures";

// BomControle for real: the demo points Contmax's BomControle at its sandbox (50 clients,
// six entries each, every fourth a payable) with the sandbox key in the vault.

test("Executar on BomControle syncs the receivables and shows the run", async ({ page }) => {
  // A real sync over HTTP: more than the default 30 s on a busy machine.
  test.setTimeout(120_000);
  await login(page, "admin@contmax.com.br", "/integracoes");
  await expect(page).toHaveURL(/\/integracoes$/);
  await hydrated(page);
  const card = page.getByRole("list", { name: "Integrações" }).locator('[data-slug="bomcontrole"]');
  const run = card.getByRole("button", { name: "Executar BomControle" });
  await expect(run).toBeEnabled();
  await run.click();
  await expect(page.locator(".toast")).toContainText("BomControle: execução concluída com sucesso.", { timeout: 60_000 });
  await expect(card.locator(".badge")).toHaveText("Sucesso");
  // The first run reads 300 entries; a later one only what changed since (none here).
  await expect(card.locator(".last-totals")).toContainText(/\d+ processados/);

  await card.getByRole("link", { name: "Logs de BomControle" }).click();
  await expect(page).toHaveURL(/\/integracoes\/bomcontrole/);
  const first = page.locator(".history-table tbody tr").first();
  await expect(first).toHaveAttribute("data-status", "success");
  await first.getByRole("link", { name: /Detalhes/ }).click();
  const drawer = page.getByRole("dialog", { name: "Detalhes da execução" });
  await drawer.getByText("Resposta (dados sensíveis ocultos)").click();
  await expect(drawer.locator("pre").last()).toContainText("lancamentos");
});
