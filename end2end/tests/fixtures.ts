import { test as base, expect, Page } from "@playwright/test";

// Every test fails on any uncaught page error or console error: a server-rendered page
// whose wasm fails to hydrate looks right and does nothing, and this is how it shows.
// A test that provokes an error on purpose (a 401 for a wrong password) lists what it
// expects in `allowedErrors`; anything else still fails it.
export const test = base.extend<{ errors: string[]; allowedErrors: RegExp[] }>({
  // eslint-disable-next-line no-empty-pattern
  allowedErrors: async ({}, use) => {
    await use([]);
  },
  errors: [
    async ({ page, allowedErrors }, use) => {
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") {
          errors.push(`console.${m.type()}: ${m.text()}`);
        }
      });
      await use(errors);
      // Chromium's note on a preloaded file not used within seconds of the load event: a
      // page's wasm chunks are used once the main module runs, later on a busy machine.
      const timing = /was preloaded using link preload but not used within a few seconds/;
      const unexpected = errors.filter(
        (e) => !timing.test(e) && !allowedErrors.some((re) => re.test(e)),
      );
      expect(unexpected, "page errors or console errors/warnings").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

export const DEMO_PASSWORD = "contmax123";

/**
 * Waits until the wasm client has hydrated the page (the body gets data-hydrated) and no
 * panel is still loading (every Suspense/Transition fallback is `.loading`). The body's
 * mark stays after a client-side navigation, so after one (signing in, a link) the mark
 * alone says nothing about the new page: its panels having loaded does.
 */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => document.body.dataset.hydrated === "true");
  await expect(page.locator(".loading")).toHaveCount(0);
}

export async function login(page: Page, email: string, next = "/") {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Senha").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Entrar" }).click();
  // Signed in: the client has left the login page (a failed sign-in stays there).
  await expect(page).not.toHaveURL(/\/login(\?|$)/);
}
