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
  await legalHolds(t);
  await partnerForms(t);
  await passengerConsent(t);
}

// Legal holds in the DPO console: a hold on a whole data category is refused without a reason
// (the field named, axe clean), placed with one (listed, the dry run counts it), then lifted
// with a reason. The records of processing are a tab of the console, with a CSV download.
export async function legalHolds(t) {
  const { base, check, assert } = t;
  await check("data privacy officer: /privacy → place a legal hold → lift it", async () => {
    const { page } = await t.session("data_privacy_officer");
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/privacy`);
    // The console's views are tabs: Records of processing, then Retention and holds.
    await Promise.all([page.waitForNavigation(), page.click("nav.tabs a[href='/privacy?tab=records']")]);
    assert((await page.locator("#records-purposes").count()) === 1, "records of processing shown");
    await t.axe(page, "records of processing tab");
    const csv = await page.request.get(`${base}/privacy/records-of-processing.csv`);
    assert(csv.status() === 200 && (await csv.text()).startsWith("section,name,"), "records CSV");
    await Promise.all([page.waitForNavigation(), page.click("nav.tabs a[href='/privacy?tab=retention']")]);
    assert((await page.locator("nav.tabs a[aria-current='page']").textContent()) === "Retention and holds", "the tab says where one is");
    await t.axe(page, "retention and holds tab");
    await page.selectOption("#f-hold-category", "interactions");
    await page.evaluate(() => document.querySelector("#f-hold-reason").removeAttribute("required"));
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/holds'] button[type=submit]")]);
    await page.waitForSelector("#error-summary");
    assert((await page.locator("#f-hold-reason-error").count()) === 1, "the missing reason is named");
    await t.axe(page, "legal hold form with an error");
    await page.selectOption("#f-hold-category", "interactions");
    await page.fill("#f-hold-reason", "Regulator's audit of contact handling 2026");
    await page.fill("#f-hold-reference", "AUD-2026-7");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/holds'] button[type=submit]")]);
    assert((await page.locator(".toast").count()) === 1, "placed, and told so");
    const holds = await page.locator("#privacy-holds").textContent();
    assert(holds.includes("AUD-2026-7"), "the hold is listed with its matter");
    await page.fill("#f-lift-hold-reason", "Audit closed");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/holds/lift'] button[type=submit]")]);
    assert((await page.locator(".toast").count()) === 1, "lifted, and told so");
    assert((await page.locator("#privacy-holds").count()) === 0, "no active hold left");
  });
}

// Partner shares and differentially private releases from the DPO console's forms: a partner is
// registered (a missing agreement named first, axe clean); a share with k = 1 is refused naming
// k (axe clean), released with k = 5 (listed, its CSV downloads); a lifetime budget is set, a
// release the budget cannot pay for is refused naming ε (axe clean), one it can is released and
// the remaining budget shown. Axe and no sideways scroll at 390 px.
export async function partnerForms(t) {
  const { base, check, assert } = t;
  await check("data privacy officer: /privacy → release a share → set a budget → release counts", async () => {
    const { page } = await t.session("data_privacy_officer");
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/privacy?tab=partners`);
    const partner = `Browser Partner ${Date.now()}`;
    await page.fill("#f-partner-name", partner);
    await page.fill("#f-partner-contact", "privacy@partner.example");
    await page.evaluate(() => document.querySelector("#f-partner-agreement-ref").removeAttribute("required"));
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/partners'] button[type=submit]")]);
    await page.waitForSelector("#error-summary");
    assert((await page.locator("#f-partner-agreement-ref-error").count()) === 1, "the missing agreement is named");
    await t.axe(page, "partner form with an error");
    await page.fill("#f-partner-agreement-ref", "DSA-BROWSER-1");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/partners'] button[type=submit]")]);
    assert((await page.locator("#privacy-partners").textContent()).includes(partner), "the partner is registered");
    await page.fill("#f-share-partner", partner);
    await page.fill("#f-share-k", "1");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/shares'] button[type=submit]")]);
    await page.waitForSelector("#error-summary");
    assert((await page.locator("#f-share-k-error").count()) === 1, "k below 2 is named");
    await t.axe(page, "share form with an error");
    await page.fill("#f-share-k", "5");
    await page.selectOption("#f-share-sensitive", "cabin");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/shares'] button[type=submit]")]);
    assert((await page.locator(".toast").count()) === 1, "released, and told the counts");
    const shares = await page.locator("#partner-shares").textContent();
    assert(shares.includes(partner), "the share is listed");
    const href = await page.locator("#partner-shares a[href$='/csv']").first().getAttribute("href");
    const csv = await page.request.get(`${base}${href}`);
    assert(csv.status() === 200 && (await csv.text()).startsWith("age_band,region,travel_frequency,"), "the share's CSV");

    await page.fill("#f-budget-partner", partner);
    await page.fill("#f-budget-epsilon", "1");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/dp/budgets'] button[type=submit]")]);
    assert((await page.locator(".toast").count()) === 1, "budget set");
    assert((await page.locator("#privacy-budgets").textContent()).includes(partner), "the budget is listed");
    // The release form offers registered partners with a budget, by id.
    const partnerId = await page.locator("#f-dp-partner option", { hasText: partner }).getAttribute("value");
    await page.selectOption("#f-dp-partner", partnerId);
    await page.selectOption("#f-dp-dimension", "age_band");
    await page.fill("#f-dp-epsilon", "2");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/dp/releases'] button[type=submit]")]);
    await page.waitForSelector("#error-summary");
    assert((await page.locator("#f-dp-epsilon-error").count()) === 1, "ε over the budget is named");
    await t.axe(page, "release form refused for the budget");
    await page.selectOption("#f-dp-partner", partnerId);
    await page.fill("#f-dp-epsilon", "0.25");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/privacy/dp/releases'] button[type=submit]")]);
    assert((await page.locator(".toast").count()) === 1, "released, and told the counts");
    assert((await page.locator("#privacy-budgets").textContent()).includes("0.750"), "the remaining budget is shown");
    await page.setViewportSize({ width: 390, height: 900 });
    await page.goto(`${base}/privacy?tab=partners`);
    await t.axe(page, "privacy console with shares and budgets @390");
    await noSidewaysScroll(page, assert, "privacy console with shares and budgets @390");
  });
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
      let resp = await page.goto(`${base}/privacy?tab=consent`);
      assert(resp.status() === 200, `/privacy?tab=consent: ${resp.status()}`);
      assert((await page.locator("#consent-stats").count()) === 1, "consent per purpose");
      await t.axe(page, `privacy console, consent @${width}`);
      await noSidewaysScroll(page, assert, `privacy console, consent @${width}`);
      resp = await page.goto(`${base}/privacy`);
      assert(resp.status() === 200, `/privacy: ${resp.status()}`);
      assert((await page.locator("#audit-lookup-h").count()) === 1, "any customer's audit trail");
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

// The passenger's /my/consent: a demo passenger (another than the portal check's) signs up,
// turns a purpose on, asks for their data; the page passes axe at 1366 and 390 px and does not
// scroll sideways at 360 px.
export async function passengerConsent(t) {
  const { base, check, assert } = t;
  const dpo = await t.session("data_privacy_officer");
  await check("passenger: /my/consent → turn a purpose on → request my data", async () => {
    const r = await dpo.page.request.get(`${base}/api/v1/customers?limit=100`);
    const candidates = (await r.json()).items.filter((c) => c.loyalty_number && c.email);
    const passenger = candidates[candidates.length - 1];
    assert(passenger, "a demo customer with a loyalty number and an e-mail");
    const context = await t.browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${base}/my/sign-up`);
    await page.fill("#f-loyalty-number", passenger.loyalty_number);
    await page.fill("#f-email", passenger.email);
    await page.fill("#f-password", "a long and unusual passphrase");
    await page.click("main button[type=submit]");
    await page.waitForURL(/\/my\/verify$/);
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
    assert(await page.locator("h2", { hasText: "My consents" }).count() === 1, "the overview panel");
    const resp = await page.goto(`${base}/my/consent`);
    assert(resp.status() === 200, `/my/consent: ${resp.status()}`);
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 800 });
      await t.axe(page, `/my/consent @${width}`);
      await noSidewaysScroll(page, assert, `/my/consent @${width}`);
    }
    await page.setViewportSize({ width: 360, height: 740 });
    await noSidewaysScroll(page, assert, "/my/consent @360");
    await page.setViewportSize({ width: 1366, height: 800 });
    await Promise.all([page.waitForNavigation(), page.locator("form[action='/my/consent'] button", { hasText: "Turn on" }).first().click()]);
    assert(await page.locator(".toast").count() === 1, "turned on, and told so");
    assert(await page.locator("#my-consent-history").count() === 1, "the history shows the change");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/my/consent/data-request'] button")]);
    assert((await page.locator(".toast").textContent()).includes("answer by"), "the request's deadline is told");
    assert(await page.locator("#my-requests").count() === 1, "the request is listed");
    await t.axe(page, "/my/consent after a request");
    assert(errors.length === 0, errors.join("\n"));
    await context.close();
  });
}
