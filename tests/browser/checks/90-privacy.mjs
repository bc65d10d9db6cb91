// Privacy: a contact centre agent records a consent given by phone on the Consent tab of the
// 360° page (the form refuses a consent without proof, naming the field) and finds it in the
// history. The tab passes axe at 1366 and 390 px without sideways scrolling.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert } = t;

  await check("contact centre agent: Consent tab → record a consent by phone → history", async () => {
    const { page } = await t.session("contact_centre_agent");
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/`);
    await page.fill("#global-q", "a");
    await page.press("#global-q", "Enter");
    await page.waitForURL(/\/search\?q=a/);
    await page.locator("ul.hits a").first().click();
    await page.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
    const profile = new URL(page.url()).pathname;
    let resp = await page.goto(`${base}${profile}?tab=consent`);
    assert(resp.status() === 200, `consent tab: ${resp.status()}`);
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await t.axe(page, `consent tab @${width}`);
      await noSidewaysScroll(page, assert, `consent tab @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });

    // No proof: refused, the field named.
    await page.selectOption("#f-purpose", "marketing_sms");
    await page.selectOption("#f-granted", "true");
    await page.click("form[action$='/consents'] button[type=submit]");
    // The browser's own `required` check stops an empty proof; bypass it to see the server's.
    if (page.url().includes("tab=consent")) {
      await page.evaluate(() => document.querySelector("#f-proof").removeAttribute("required"));
      await page.click("form[action$='/consents'] button[type=submit]");
    }
    await page.waitForSelector("#error-summary");
    await t.axe(page, "consent form with an error");
    assert(await page.locator("#f-proof-error").count() === 1, "the missing proof is named");

    await page.selectOption("#f-purpose", "marketing_sms");
    await page.fill("#f-proof", "Call recording CC-90017");
    await page.click("form[action$='/consents'] button[type=submit]");
    await page.waitForURL(/tab=consent/);
    const history = await page.locator("#consent-history").textContent();
    assert(history.includes("CC-90017"), "the consent is in the history with its proof");
  });

  await dpoConsole(t);
}

// The DPO console: the data privacy officer records a request for a demo customer from
// /privacy, lands on the request's page, is told which field a move lacks, and moves it. The
// console and the request page pass axe at 1366 and 390 px without sideways scrolling.
export async function dpoConsole(t) {
  const { base, check, assert } = t;
  await check("data privacy officer: /privacy → record a request → move it", async () => {
    const { page } = await t.session("data_privacy_officer");
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/customers?q=a`);
    const href = await page.locator("#results tbody a").first().getAttribute("href");
    const customer = href.match(/[0-9a-f-]{36}/)[0];
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/privacy`);
      assert(resp.status() === 200, `/privacy: ${resp.status()}`);
      assert((await page.locator("#consent-stats").count()) === 1, "consent per purpose");
      await t.axe(page, `privacy console @${width}`);
      await noSidewaysScroll(page, assert, `privacy console @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.fill("#f-customer-id", customer);
    await page.selectOption("#f-kind", "access");
    await page.selectOption("#f-channel", "letter");
    await page.click("form[action='/privacy/requests'] button[type=submit]");
    await page.waitForURL(/\/privacy\/requests\/[0-9a-f-]{36}$/);
    assert((await page.locator(".toast").count()) === 1, "opened, and told the deadline");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await t.axe(page, `privacy request @${width}`);
      await noSidewaysScroll(page, assert, `privacy request @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.selectOption("#f-to", "identity_verified");
    await page.click("form[action$='/transition'] button[type=submit]");
    await page.waitForSelector("#error-summary");
    assert((await page.locator("#f-note-error").count()) === 1, "the missing note is named");
    await t.axe(page, "privacy request move with an error");
    await page.selectOption("#f-to", "identity_verified");
    await page.fill("#f-note", "Signed letter with a copy of the passport");
    await page.click("form[action$='/transition'] button[type=submit]");
    await page.waitForURL(/\/privacy\/requests\/[0-9a-f-]{36}$/);
    const steps = await page.locator("#request-steps").textContent();
    assert(steps.includes("Signed letter"), "the step is recorded with its note");
  });
}
