// make bench: the dashboard's time to interactive in Chromium, cold (a new browser
// profile: nothing cached) and warm (the same page loaded again: /pkg comes from the
// cache, as its immutable headers allow). Interactive = the wasm has hydrated the page
// (body[data-hydrated]), the moment its buttons work. Median of 5 each; then what a
// first visit to each page fetches from /pkg. Prints JSON.
import { chromium } from "@playwright/test";

const base = process.argv[2];
const runs = 5;
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function interactive(page) {
  await page.waitForFunction(() => document.body.dataset.hydrated === "true", null, { timeout: 60_000 });
  return page.evaluate(() => performance.now());
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
const cold = [];
const warm = [];
const transferred = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");
  await page.getByLabel("E-mail").fill("admin@contmax.com.br");
  await page.getByLabel("Senha").fill("contmax123");
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.waitForURL(`${base}/`);
  // Cold for /pkg: a fresh context's cache only has what the login page fetched, so
  // clear it before the measured load.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.clearBrowserCache");
  let bytes = 0;
  page.on("response", async (r) => {
    const len = Number((await r.allHeaders())["content-length"] ?? 0);
    if (r.url().includes("/pkg/")) bytes += len;
  });
  await page.goto(`${base}/integracoes`);
  cold.push(await interactive(page));
  transferred.push(bytes);
  await page.goto(`${base}/integracoes`);
  warm.push(await interactive(page));
  await context.close();
}

// What a first visit to each page fetches from /pkg (as sent: compressed), the cache
// cleared before it: the shared code and that page's own (the wasm is split by page).
async function pkgBytes(page, path) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.clearBrowserCache");
  // Hydration waits for the page's part of the wasm: by then every file it needs came.
  const sizes = [];
  const count = (r) => {
    if (r.url().includes("/pkg/")) {
      sizes.push(r.allHeaders().then((h) => Number(h["content-length"] ?? 0)));
    }
  };
  page.on("response", count);
  await page.goto(`${base}${path}`);
  await interactive(page);
  page.off("response", count);
  return (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
}
const byPage = {};
{
  const context = await browser.newContext();
  const page = await context.newPage();
  byPage["/login"] = await pkgBytes(page, "/login");
  await page.getByLabel("E-mail").fill("admin@contmax.com.br");
  await page.getByLabel("Senha").fill("contmax123");
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.waitForURL(`${base}/`);
  for (const path of ["/", "/integracoes", "/integracoes/acessorias", "/integracoes/auditoria"]) {
    byPage[path] = await pkgBytes(page, path);
  }
  await context.close();
}
await browser.close();
console.log(
  JSON.stringify({
    cold_ms: median(cold),
    warm_ms: median(warm),
    pkg_bytes_cold: median(transferred),
    pkg_bytes_cold_by_page: byPage,
  }),
);
