import { test, expect, login, hydrated } from "./fixtures";

// Every page loaded in full (server-rendered, then hydrated) without a hydration error:
// the fixture fails the test on any console error, and a page whose resources are not
// created in the same order on both sides fails here (as the detail page once did,
// intermittently — hence three loads each).
test("every page hydrates cleanly", async ({ page }) => {
  await login(page, "admin@contmax.com.br");
  await expect(page.getByRole("list", { name: "Módulos do portal" })).toBeVisible();
  for (let i = 0; i < 3; i++) {
    for (const path of [
      "/",
      "/integracoes",
      "/integracoes/local-http",
      "/integracoes/acessorias",
      "/integracoes/auditoria",
    ]) {
      await page.goto(path);
      await hydrated(page);
    }
  }
});
