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

test("on a phone the header takes two rows, the chart fits and each row's Detalhes is in view", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await login(page, "admin@pg.com.br", "/integracoes/acessorias");
  await expect(page.getByRole("heading", { name: "Acessórias", level: 1 })).toBeVisible();
  await hydrated(page);
  const box = async (selector: string) => {
    const b = await page.locator(selector).first().boundingBox();
    expect(b, selector).toBeTruthy();
    return b ?? { x: 0, y: 0, width: 0, height: 0 };
  };

  // The logo and the organization on one row; the person and the ways out on the next,
  // side by side; the shortened words are still in the accessible names.
  const middle = (b: { y: number; height: number }) => b.y + b.height / 2;
  const brand = await box(".app-header .brand");
  const tenant = await box(".app-header .header-tenant");
  const user = await box(".app-header .user");
  const sair = await box(".app-header .logout button");
  const all = await box(".app-header .logout-all button");
  expect(Math.abs(middle(tenant) - middle(brand))).toBeLessThan(8);
  expect(user.y).toBeGreaterThanOrEqual(brand.y + brand.height);
  for (const b of [sair, all]) {
    expect(Math.abs(middle(b) - middle(user))).toBeLessThan(8);
    expect(b.x + b.width).toBeLessThanOrEqual(390);
  }
  await expect(page.getByRole("button", { name: "Sair de todos os dispositivos" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Portal Contmax" })).toBeVisible();

  // The chart is scaled to the screen, not cut.
  // (Polled: the layout may still settle after hydration on a busy machine.)
  await expect
    .poll(async () => {
      const chart = await box(".chart-svg svg");
      return chart.x >= 0 && chart.x + chart.width <= 390 && chart.height < 300;
    })
    .toBe(true);

  // The history scrolls sideways inside its frame, says so, and keeps Detalhes on screen.
  await expect(page.locator(".scroll-hint")).toBeVisible();
  const details = page.locator(".history-table tbody tr").first().getByRole("link", { name: /Detalhes/ });
  const link = await details.boundingBox();
  expect(link).toBeTruthy();
  if (link) {
    expect(link.x).toBeGreaterThanOrEqual(0);
    expect(link.x + link.width).toBeLessThanOrEqual(390);
  }
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});
