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
      // Each of these pages is its own part of the split wasm: the server names it in the
      // head, so the browser fetches it beside the main module (app/src/routes.rs).
      const html = await (await page.request.get(path)).text();
      expect(html).toMatch(/<link rel="preload" href="\/pkg\/split___[^"]+\.wasm"/);
    }
  }
});
