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

// A browser gets the build's brotli copy, or its gzip copy (written again with Zopfli by
// `make build`, tools/precompress) when it takes no brotli: each must be the very file.
test("the compressed copies of the wasm and the JavaScript are the files themselves", async ({ request }) => {
  const html = await (await request.get("/login")).text();
  const files = [...new Set(html.match(/\/pkg\/portal\.[\w-]+\.(?:wasm|js)/g) ?? [])];
  expect(files.some((f) => f.endsWith(".wasm")), `the page names its wasm: ${files}`).toBe(true);
  expect(files.some((f) => f.endsWith(".js")), `the page names its JavaScript: ${files}`).toBe(true);
  for (const file of files) {
    const plain = await request.get(file, { headers: { "Accept-Encoding": "identity" } });
    expect(plain.status(), file).toBe(200);
    expect(plain.headers()["content-encoding"], file).toBeUndefined();
    const original = await plain.body();
    for (const encoding of ["gzip", "br"]) {
      const what = `${file} ${encoding}`;
      const copy = await request.get(file, { headers: { "Accept-Encoding": encoding } });
      expect(copy.status(), what).toBe(200);
      expect(copy.headers()["content-encoding"], what).toBe(encoding);
      // A copy from disk has its length; one compressed on the fly (no copy there) has none.
      const sent = Number(copy.headers()["content-length"]);
      expect(sent, what).toBeGreaterThan(0);
      expect(sent, what).toBeLessThan(original.length);
      // The budget for the main module as gzip (#13): 250 KB.
      if (file.endsWith(".wasm") && encoding === "gzip") {
        expect(sent, `${what}: ${sent} bytes`).toBeLessThanOrEqual(250 * 1024);
      }
      // Playwright's request decodes the body as a browser would.
      expect(Buffer.compare(await copy.body(), original), what).toBe(0);
    }
  }
});
