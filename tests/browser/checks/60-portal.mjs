// The passenger portal (/my): a demo passenger signs up end to end (the code read from the
// mail catcher by the data privacy officer), signs in, changes a preference and sees their
// trips; every portal page passes axe at 1366 and 390 px and does not scroll sideways at 360 px;
// no staff navigation shows, and staff pages stay closed to the passenger.

import { noSidewaysScroll } from "./10-workspace.mjs";
import { totp } from "../lib.mjs";

// RFC 4648 base32 (the key the security page shows) to bytes.
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0;
  const out = [];
  for (const c of text.replace(/[=\s]/g, "").toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

const PASSWORD = "a long and unusual passphrase";

async function axeAt(t, page, path, label) {
  for (const width of [1366, 390]) {
    await page.setViewportSize({ width, height: 800 });
    await t.axe(page, `${label} @${width}`);
    await noSidewaysScroll(page, t.assert, `${label} @${width}`);
  }
  await page.setViewportSize({ width: 360, height: 740 });
  await noSidewaysScroll(page, t.assert, `${label} @360`);
  await page.setViewportSize({ width: 1366, height: 800 });
}

export default async function (t) {
  const { base, check, assert } = t;
  const dpo = await t.session("data_privacy_officer");

  // A demo passenger with a loyalty number and an e-mail address (and, if any, flights).
  let passenger = null;
  await check("portal: a demo passenger with a loyalty number and an e-mail exists", async () => {
    const r = await dpo.page.request.get(`${base}/api/v1/customers?limit=100`);
    assert(r.ok(), `customer list: ${r.status()}`);
    const candidates = (await r.json()).items.filter((c) => c.loyalty_number && c.email);
    assert(candidates.length > 0, "no demo customer has both");
    for (const c of candidates.slice(0, 20)) {
      const tl = await dpo.page.request.get(`${base}/api/v1/customers/${c.id}/timeline?kinds=flight&limit=1`);
      if (tl.ok() && (await tl.json()).entries?.length) { passenger = c; break; }
    }
    passenger = passenger || candidates[0];
  });
  if (!passenger) return;

  const context = await t.browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  await check("portal: sign-up, verify and sign-in pages pass axe (1366, 390) without sideways scroll (360)", async () => {
    for (const path of ["/my/sign-up", "/my/verify", "/my/sign-in"]) {
      const resp = await page.goto(`${base}${path}`);
      assert(resp.status() === 200, `${path}: ${resp.status()}`);
      assert(await page.locator("nav.rail, .global-search").count() === 0, `${path} shows staff navigation`);
      await axeAt(t, page, path, path);
    }
  });

  await check("portal: a signed-out visit to /my leads to the passenger sign-in", async () => {
    await page.goto(`${base}/my/trips`);
    assert(new URL(page.url()).pathname === "/my/sign-in", `at ${page.url()}`);
  });

  await check("portal: a wrong sign-up shows an accessible error summary", async () => {
    await page.goto(`${base}/my/sign-up`);
    await page.click("main button[type=submit]");
    await page.waitForSelector("#error-summary");
    await axeAt(t, page, "/my/sign-up", "/my/sign-up (errors)");
  });

  await check("portal: sign up a demo passenger, confirm with the mailed code, land signed in", async () => {
    await page.goto(`${base}/my/sign-up`);
    await page.fill("#f-loyalty-number", passenger.loyalty_number);
    await page.fill("#f-email", passenger.email);
    await page.fill("#f-password", PASSWORD);
    await page.click("main button[type=submit]");
    await page.waitForURL(/\/my\/verify$/);
    assert(await page.locator(".toast").count() === 1, "the sign-up says what happens next");
    // The code, as the mail catcher kept it (the data privacy officer may read it).
    let code = null;
    for (let i = 0; i < 40 && !code; i++) {
      await dpo.page.goto(`${base}/mail/catcher`);
      const row = dpo.page.locator("tbody tr", { hasText: passenger.email }).first();
      if (await row.count()) {
        await row.locator("a").click();
        const text = await dpo.page.locator("pre").first().textContent();
        code = (text.match(/\b(\d{8})\b/) || [])[1] || null;
      }
      if (!code) await new Promise((r) => setTimeout(r, 250));
    }
    assert(code, "the code arrived at the mail catcher");
    await page.fill("#f-email", passenger.email);
    await page.fill("#f-code", code);
    await page.click("form[action='/my/verify'] button[type=submit]");
    await page.waitForURL(/\/my$/);
    assert((await page.textContent("h1")).includes(passenger.first_name), "the overview greets the passenger");
  });

  const signedIn = ["/my", "/my/profile", "/my/trips", "/my/security", "/my/cases", "/my/claims", "/my/consent"];
  await check("portal: every signed-in page passes axe (1366, 390), no sideways scroll (360), no staff navigation", async () => {
    for (const path of signedIn) {
      const resp = await page.goto(`${base}${path}`);
      assert(resp.status() === 200, `${path}: ${resp.status()}`);
      assert(await page.locator("nav.rail, .global-search, a[href='/customers'], a[href='/']").count() === 0, `${path} shows staff navigation`);
      await axeAt(t, page, path, path);
    }
    await page.goto(`${base}/my`);
    // Other modules' tabs and overview panels come through the portal contract.
    for (const tab of ["/my/cases", "/my/claims", "/my/consent"]) {
      assert(await page.locator(`nav a[href='${tab}']`).count() === 1, `the portal has the ${tab} tab`);
    }
    for (const place of ["My open cases", "My claims", "My consents"]) {
      assert(await page.locator("h2", { hasText: place }).count() === 1, `${place} has its place`);
    }
  });

  await check("portal: claim compensation for a past flight — form, error named, decision (axe on each)", async () => {
    await page.goto(`${base}/my/claims`);
    const claim = page.locator("main a[href^='/my/claims/new']").first();
    if ((await claim.count()) === 0) return; // the demo passenger has no past flight to claim
    await claim.click();
    await page.waitForURL(/\/my\/claims\/new/);
    await axeAt(t, page, "/my/claims/new", "claim form");
    await page.selectOption("#f-kind", "delay");
    await page.click("main form button[type=submit]");
    assert((await page.locator(".error-summary a[href='#f-arrival']").count()) === 1, "the missing arrival is named");
    await axeAt(t, page, "/my/claims/new", "claim form with an error");
    const scheduled = await page.locator("main dl").textContent();
    const day = (scheduled.match(/\d{4}-\d{2}-\d{2}/) || [])[0];
    assert(day, "the scheduled arrival is shown");
    await page.fill("#f-arrival", `${day}T23:50`);
    await page.click("main form button[type=submit]");
    await page.waitForURL(/\/my\/claims\/[0-9a-f-]{36}$/);
    assert((await page.locator("main article.decision").count()) >= 1, "the decision is shown");
    await axeAt(t, page, "/my/claims/{id}", "claim decision");
  });

  await check("portal: sign out, sign in again, edit a preference, see trips", async () => {
    await page.goto(`${base}/my`);
    await page.click("form.portal-sign-out button");
    await page.waitForURL(/\/my\/sign-in$/);
    await page.goto(`${base}/my/sign-in?next=%2Fmy%2Fprofile`);
    await page.fill("#f-email", passenger.email);
    await page.fill("#f-password", PASSWORD);
    await page.click("form[action='/my/sign-in'] button[type=submit]");
    await page.waitForURL(/\/my\/profile$/);
    const seat = (await page.inputValue("#f-preferences-seat")) === "window" ? "aisle" : "window";
    await page.selectOption("#f-preferences-seat", seat);
    await page.selectOption("#f-preferences-communication-channel", "email");
    await page.click("form[action='/my/profile'] button[type=submit]");
    await page.waitForURL(/\/my\/profile$/);
    assert(await page.locator(".toast").count() === 1, "saved, and told so");
    assert((await page.inputValue("#f-preferences-seat")) === seat, "the new seat preference shows");
    const stored = await (await dpo.page.request.get(`${base}/api/v1/customers/${passenger.id}`)).json();
    assert(stored.preferences.seat === seat, `stored seat ${stored.preferences.seat}`);
    await page.goto(`${base}/my/trips`);
    assert(await page.locator("h2", { hasText: "Upcoming flights" }).count() === 1, "trips page");
    assert(await page.locator("h2", { hasText: "Your travel record" }).count() === 1, "travel record");
  });

  await check("portal: turn on a second step; signing in then asks for it (axe on the code step and the recovery codes)", async () => {
    await page.goto(`${base}/my/security`);
    const key = (await page.textContent("code.totp-key")).trim();
    await page.fill("#f-code", totp(base32(key)));
    await page.click("form[action='/my/security/enable'] button[type=submit]");
    await page.waitForSelector("ul.recovery-codes");
    const recovery = (await page.locator("ul.recovery-codes code").first().textContent()).trim();
    await axeAt(t, page, "/my/security", "/my/security (recovery codes)");
    await page.click("form.portal-sign-out button");
    await page.waitForURL(/\/my\/sign-in$/);
    await page.fill("#f-email", passenger.email);
    await page.fill("#f-password", PASSWORD);
    await page.click("form[action='/my/sign-in'] button[type=submit]");
    await page.waitForURL(/\/my\/sign-in\/code/);
    await axeAt(t, page, "/my/sign-in/code", "/my/sign-in/code");
    await page.fill("#f-code", recovery);
    await page.click("form[action='/my/sign-in/code'] button[type=submit]");
    await page.waitForURL(/\/my$/);
  });

  await check("portal: the passenger cannot reach staff pages or another customer", async () => {
    for (const path of ["/", "/customers", `/customers/${passenger.id}`, "/audit", "/mail/catcher"]) {
      await page.goto(`${base}${path}`);
      const at = new URL(page.url()).pathname;
      assert(at === "/sign-in" || at === "/my/sign-in", `${path} opened for a passenger (at ${page.url()})`);
    }
    const api = await page.request.get(`${base}/api/v1/customers/${passenger.id}`);
    assert(api.status() === 401, `staff API answered ${api.status()}`);
  });

  await check("portal: a staff session is refused on the portal", async () => {
    const resp = await dpo.page.goto(`${base}/my`);
    assert(resp.status() === 403, `staff on /my: ${resp.status()}`);
  });

  await check("portal: no script errors", async () => {
    assert(errors.length === 0, errors.join("\n"));
  });
  await context.close();
}
