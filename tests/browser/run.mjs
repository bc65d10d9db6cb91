// Browser tests: start the real `aloft` binary with demo data, sign in as a demo staff member
// (password + TOTP), drive Debian's headless Chromium through every page with playwright-core,
// and run axe-core (WCAG 2.0/2.1 A and AA) on each.
// Also checks keyboard entry (skip link), live search under the strict CSP, form errors, and a
// phone-sized viewport. Prints "N passed, M failed" and exits non-zero on any failure.
//
// Env: ALOFT_BIN (default ../../target/debug/aloft), CHROMIUM (default /usr/bin/chromium),
//      ALOFT_DATABASE_URL (optional: run against PostgreSQL instead of a temporary SQLite file).

import { rmSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, demoSecret, totp, launch, signIn } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");

let passed = 0;
let failed = 0;
const failures = [];

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (err) {
    failed++;
    failures.push(name);
    console.log(`FAIL ${name}\n     ${String(err && err.stack || err).split("\n").join("\n     ")}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function axe(page, label) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    return await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
  });
  const v = result.violations;
  if (v.length) {
    const detail = v.map((x) => `${x.id} (${x.impact}): ${x.help}\n       ${x.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("\n       ")}`).join("\n     ");
    throw new Error(`${v.length} axe violation(s) on ${label}:\n     ${detail}`);
  }
}

const server = await startServer();
const browser = await launch();
// bypassCSP lets axe be injected; the pages' own scripts run under the real CSP headers otherwise.
const context = await browser.newContext({ bypassCSP: true });
const page = await context.newPage();
const consoleErrors = [];
// Error statuses are provoked on purpose (404 page, 422 form); anything else logged as an error —
// a CSP violation, a script exception — fails the run.
page.on("console", (m) => {
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource: the server responded with a status of")) {
    consoleErrors.push(m.text());
  }
});
page.on("pageerror", (e) => consoleErrors.push(String(e)));
const base = server.base;

try {
  await check("signed out: a page sends you to sign in, which passes axe", async () => {
    await page.goto(`${base}/customers`);
    assert(page.url().includes("/sign-in?next="), `at ${page.url()}`);
    await axe(page, "/sign-in");
  });

  await check("a wrong password is refused with an accessible error", async () => {
    await page.fill("#username", "data_privacy_officer");
    await page.fill("#password", "wrong password");
    await page.click("main button[type=submit]");
    await page.waitForSelector("#sign-in-error");
    await axe(page, "/sign-in (error)");
  });

  await check("sign in with password and authenticator code (data privacy officer)", async () => {
    await page.fill("#username", "data_privacy_officer");
    await page.fill("#password", "aloft-demo-password");
    await page.click("main button[type=submit]");
    await page.waitForURL(/\/sign-in\/mfa/);
    await axe(page, "/sign-in/mfa");
    await page.fill("#code", totp(demoSecret("data_privacy_officer")));
    await page.click("form[action='/sign-in/mfa'] button[type=submit]");
    await page.waitForURL(/\/customers$/);
    assert(await page.locator("summary", { hasText: "Data privacy officer" }).count() === 1, "the user menu shows who is signed in");
  });

  // Find a demo customer to visit.
  await page.goto(`${base}/customers?q=a`);
  const firstLink = await page.locator("#results tbody a").first().getAttribute("href");

  const pages = [
    ["home", "/"],
    ["customer search (empty)", "/customers"],
    ["customer search (results)", "/customers?q=a"],
    ["customer search (no results)", "/customers?q=zzzzzz"],
    ["new customer form", "/customers/new"],
    ["customer profile", firstLink],
    ["edit customer form", `${firstLink}/edit`],
    ["customer timeline", `${firstLink}/timeline`],
    ["audit trail", "/audit"],
    ["audit trail (filtered)", "/audit?action=customer.read"],
    ["audit chain verification", "/audit/verify"],
    ["not found page", "/no-such-page"],
    ["API reference", "/api/docs"],
    ["account security", "/account"],
    ["roles and permissions", "/access/roles"],
    ["identity review queue", "/identity/reviews"],
    ["pending grants (four-eyes)", "/access/grants"],
    ["mail catcher", "/mail/catcher"],
  ];
  for (const [label, path] of pages) {
    await check(`axe: ${label}`, async () => {
      const resp = await page.goto(`${base}${path}`);
      assert(resp.status() < 500, `status ${resp.status()}`);
      if (label === "API reference") await page.waitForSelector(".swagger-ui .info", { timeout: 20000 });
      await axe(page, path);
    });
  }

  await check("axe: API reference with an operation expanded", async () => {
    await page.goto(`${base}/api/docs`);
    await page.waitForSelector(".swagger-ui .opblock-summary-control");
    await page.locator(".opblock-post .opblock-summary-control").first().click();
    await page.waitForSelector(".opblock-post .opblock-body");
    await axe(page, "/api/docs (expanded)");
  });

  await check("axe: form with validation errors; summary gets focus", async () => {
    await page.goto(`${base}/customers/new`);
    await page.fill("#f-email", "not-an-email");
    await page.click("main button[type=submit]");
    await page.waitForSelector("#error-summary");
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    assert(focused === "error-summary", `focus is on ${focused}`);
    assert(await page.locator("#f-first-name[aria-invalid=true]").count() === 1, "first name marked invalid");
    await axe(page, "form errors");
  });

  await check("keyboard: the first Tab reaches the skip link", async () => {
    await page.goto(`${base}/customers`);
    await page.keyboard.press("Tab");
    const text = await page.evaluate(() => document.activeElement.textContent.trim());
    assert(text === "Skip to main content", `first focus: ${text}`);
  });

  await check("live search updates results as you type (htmx under strict CSP)", async () => {
    await page.goto(`${base}/customers`);
    await page.locator("#q").pressSequentially("mar", { delay: 30 });
    await page.waitForSelector("#results tbody tr", { timeout: 5000 });
    assert(page.url().endsWith("/customers"), "the page did not reload");
  });

  await check("create a customer through the form, then find it", async () => {
    await page.goto(`${base}/customers/new`);
    await page.fill("#f-first-name", "Zoë");
    await page.fill("#f-last-name", "Ångström");
    await page.fill("#f-email", "zoe.angstrom@example.com");
    await page.selectOption("#f-preferences-seat", "aisle");
    await page.check("#ssr-WCHR");
    await page.click("main button[type=submit]");
    await page.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
    assert((await page.textContent("h1")).includes("Ångström"), "profile shows the name");
    await page.goto(`${base}/customers?q=angst`);
    assert(await page.locator("#results tbody tr").count() === 1, "search finds the new customer without the accent");
  });

  await check("phone-sized viewport: the profile does not scroll sideways", async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 360, height: 740 });
    await phone.goto(`${base}${firstLink}`);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 1, `horizontal overflow of ${overflow}px`);
    await axe(phone, "profile on a phone");
    await phone.close();
  });

  await check("sign out from the user menu ends the session", async () => {
    await page.goto(`${base}/`);
    await page.click(".user-menu summary");
    await page.click("form.sign-out button");
    await page.waitForURL(/\/sign-in$/);
    await page.goto(`${base}/customers`);
    assert(page.url().includes("/sign-in?next="), "signed out");
  });

  await check("administrator: integration clients page and a new client's one-time secret pass axe", async () => {
    await page.goto(`${base}/sign-in`);
    await page.fill("#username", "administrator");
    await page.fill("#password", "aloft-demo-password");
    await page.click("main button[type=submit]");
    await page.waitForURL(/\/sign-in\/mfa/);
    await page.fill("#code", totp(demoSecret("administrator")));
    await page.click("form[action='/sign-in/mfa'] button[type=submit]");
    await page.waitForURL(/\/$/);
    await page.goto(`${base}/access/accounts`);
    await axe(page, "/access/accounts");
    await page.goto(`${base}/access/clients`);
    await axe(page, "/access/clients");
    await page.fill("#f-name", "Loyalty sync");
    await page.selectOption("#f-role", "loyalty_manager");
    await page.click("form[action='/access/clients'] button[type=submit]");
    await page.waitForSelector("#client-secret");
    await axe(page, "/access/clients (created)");
  });

  // Each area's checks live in checks/*.mjs (`export default async function (t) {...}`), run in
  // name order with the harness below. `t.session(role)` is one signed-in browser context per
  // role, shared by every file: a TOTP code is good once, so a role signs in only once per run.
  const sessions = new Map();
  const t = {
    browser, base, check, assert, axe,
    async session(role) {
      if (!sessions.has(role)) {
        const ctx = await browser.newContext({ bypassCSP: true });
        const p = await ctx.newPage();
        p.on("console", (m) => {
          if (m.type() === "error" && !m.text().startsWith("Failed to load resource: the server responded with a status of")) {
            consoleErrors.push(`${role}: ${m.text()}`);
          }
        });
        p.on("pageerror", (e) => consoleErrors.push(`${role}: ${e}`));
        await signIn(p, base, role);
        sessions.set(role, { context: ctx, page: p });
      }
      return sessions.get(role);
    },
  };
  for (const file of readdirSync(join(here, "checks")).filter((f) => f.endsWith(".mjs")).sort()) {
    const mod = await import(join(here, "checks", file));
    await mod.default(t);
  }

  await check("no console errors (CSP violations, script errors)", async () => {
    assert(consoleErrors.length === 0, consoleErrors.join("\n"));
  });
} finally {
  await browser.close();
  server.child.kill("SIGTERM");
  await new Promise((r) => server.child.once("exit", r));
  rmSync(server.dataDir, { recursive: true, force: true });
}

console.log(`\n${passed} passed, ${failed} failed`);
if (failed) {
  console.log(`failed: ${failures.join("; ")}`);
  process.exit(1);
}
