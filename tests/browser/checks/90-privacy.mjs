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
}
