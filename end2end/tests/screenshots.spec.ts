import { test, expect, login, hydrated } from "./fixtures";

// Screenshots of the main pages, desktop and 375 px wide, kept under end2end/screenshots/
// (git-ignored) for people to look at. The assertions check the layout does not overflow.
for (const [name, width, height] of [
  ["desktop", 1280, 800],
  ["mobile", 375, 740],
] as const) {
  test(`screenshots at ${name} width`, async ({ page }) => {
    await page.setViewportSize({ width, height });
    await page.goto("/login");
    await hydrated(page);
    await page.screenshot({ path: `screenshots/login-${name}.png`, fullPage: true });

    await login(page, "socio@contmax.com.br");
    await expect(page.getByRole("list", { name: "Módulos do portal" })).toBeVisible();
    await page.screenshot({ path: `screenshots/portal-${name}.png`, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, "no horizontal scroll").toBeLessThanOrEqual(0);

    await page.goto("/integracoes");
    await expect(page.getByRole("heading", { name: "Integrações", level: 1 })).toBeVisible();
    await page.screenshot({ path: `screenshots/integracoes-${name}.png`, fullPage: true });

    await page.goto("/integracoes/local-http");
    await expect(page.getByRole("heading", { name: "Teste local (HTTP)", level: 1 })).toBeVisible();
    await expect(page.locator(".chart svg")).toBeVisible();
    await page.screenshot({ path: `screenshots/integracao-${name}.png`, fullPage: true });
    const detailOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(detailOverflow, "no horizontal scroll on the detail page").toBeLessThanOrEqual(0);
  });
}
