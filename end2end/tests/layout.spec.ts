import { test, expect, hydrated, login } from "./fixtures";

// What the pages show at a desktop width: real (inline SVG) icons from the catalog's
// Lucide names, and status badges that stay inside their cards whatever the name's length.

test("modules and integrations show their icons; badges stay inside their cards at 1280 px", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await login(page, "admin@contmax.com.br");
  const modules = page.getByRole("list", { name: "Módulos do portal" });
  await expect(modules).toBeVisible();
  await expect(modules.locator('[data-icon="Settings"] svg')).toHaveCount(1);
  await expect(modules.locator('[data-icon="Wallet"] svg')).toHaveCount(1);

  await page.goto("/integracoes");
  await hydrated(page);
  const cards = page.locator(".integration-card");
  await expect(cards.first()).toBeVisible();
  await expect(page.locator('.integration-card[data-slug="acessorias"] [data-icon="FileText"] svg')).toHaveCount(1);
  const count = await cards.count();
  expect(count).toBeGreaterThan(1);
  for (let i = 0; i < count; i++) {
    const card = await cards.nth(i).boundingBox();
    const badge = await cards.nth(i).locator(".badge").first().boundingBox();
    expect(card && badge).toBeTruthy();
    if (card && badge) {
      expect(badge.x).toBeGreaterThanOrEqual(card.x);
      expect(badge.x + badge.width).toBeLessThanOrEqual(card.x + card.width + 0.5);
    }
  }
});

test("on a phone the notices open inside the screen", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await login(page, "admin@contmax.com.br", "/integracoes");
  await hydrated(page);
  await page.getByTestId("notices").locator("summary").click();
  const list = page.locator(".notice-list");
  await expect(list).toBeVisible();
  const box = await list.boundingBox();
  expect(box).toBeTruthy();
  if (box) {
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    expect(box.width).toBeGreaterThan(300);
  }
});
