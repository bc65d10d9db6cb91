// Next best action: a contact centre agent opens a demo customer's "Offer now" tab (the best
// action, its explanation, why not the others), records the offer with the customer's answer
// and sees the toast; the marketing manager reads the outcome report by action. Axe at 1366
// and 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("contact centre: offer now on the customer 360° page", async () => {
    const { page } = await t.session("contact_centre_agent");
    await page.goto(`${base}/customers?q=a`);
    const customer = await page.locator("#results tbody a").first().getAttribute("href");
    const tab = `${customer}?tab=offer`;
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}${tab}`);
      assert(resp.status() === 200, `${tab}: ${resp.status()}`);
      assert((await page.locator("#offer-considered").count()) === 1, "every action is explained");
      await axe(page, `offer now @${width}`);
      await noSidewaysScroll(page, assert, `offer now @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    const accept = page.locator("form.offer-form button[value=accepted]");
    if ((await accept.count()) === 1) {
      await Promise.all([page.waitForNavigation(), accept.click()]);
      const toast = await page.locator(".toast").textContent();
      assert(/Offer recorded|Not recorded/.test(toast), `toast: ${toast}`);
      await axe(page, "offer now after recording");
    }
  });

  await check("marketing manager: offers by action", async () => {
    const { page } = await t.session("marketing_manager");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/offers/report`);
      assert(resp.status() === 200, `/offers/report: ${resp.status()}`);
      assert((await page.locator("#offer-report").count()) === 1, "the table per action");
      await axe(page, `offer report @${width}`);
      await noSidewaysScroll(page, assert, `offer report @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    const resp = await page.goto(`${base}/offers/report?from=someday`);
    assert(resp.status() === 422, `bad period: ${resp.status()}`);
    await axe(page, "offer report with an error");
  });
}
