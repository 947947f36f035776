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
  await expect(page).toHaveURL(/origem=schedule/);
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
  await expect(page).toHaveURL(/status=error/);
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
  await expect(page.locator(".history-table tbody tr")).toHaveCount(10);
  await expect(page.getByRole("heading", { name: "Acessórias", level: 1 })).toBeVisible();
  await page.getByRole("link", { name: "Próxima página" }).click();
  await expect(page.locator(".history-table tbody tr")).toHaveCount(10);
  await expect(page).toHaveURL(/antes=/);
  await context.close();
  await withJs.close();
});

test("bad filters get a clear pt-BR error", async ({ page, allowedErrors }) => {
  allowedErrors.push(/status of 422/);
  await login(page, "admin@pg.com.br", "/integracoes/acessorias?de=2026-12-31&ate=2026-01-01");
  await expect(page.getByRole("alert")).toContainText("A data inicial deve ser anterior à data final.");
});
