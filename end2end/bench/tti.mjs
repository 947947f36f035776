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

async function signIn(page) {
  await page.goto(`${base}/login`);
  await interactive(page);
  await page.getByLabel("E-mail").fill("admin@contmax.com.br");
  await page.getByLabel("Senha").fill("contmax123");
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.waitForURL(`${base}/`);
}

// A first visit to `path` with the cache cleared (what the login page fetched included):
// when it became interactive, and what it fetched from /pkg as sent (compressed).
// Hydration waits for the page's part of the wasm: by then every file it needs came.
async function coldVisit(page, path) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.clearBrowserCache");
  const sizes = [];
  const count = (r) => {
    if (r.url().includes("/pkg/")) {
      sizes.push(r.allHeaders().then((h) => Number(h["content-length"] ?? 0)));
    }
  };
  page.on("response", count);
  await page.goto(`${base}${path}`);
  const ms = await interactive(page);
  page.off("response", count);
  const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  return { ms, bytes };
}

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
const cold = [];
const warm = [];
const transferred = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page);
  const first = await coldVisit(page, "/integracoes");
  cold.push(first.ms);
  transferred.push(first.bytes);
  await page.goto(`${base}/integracoes`);
  warm.push(await interactive(page));
  await context.close();
}

// What a first visit to each page fetches from /pkg: the shared code and that page's own
// (the wasm is split by page).
const byPage = {};
{
  const context = await browser.newContext();
  const page = await context.newPage();
  byPage["/login"] = (await coldVisit(page, "/login")).bytes;
  await signIn(page);
  for (const path of ["/", "/integracoes", "/integracoes/acessorias", "/integracoes/auditoria"]) {
    byPage[path] = (await coldVisit(page, path)).bytes;
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
