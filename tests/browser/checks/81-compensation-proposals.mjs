// Compensation proposals: the customer affairs executive's queue, a proposal with its reasons
// and sources, the disruption view (flight → passengers → entitlements → status) and the
// "Compensation" tab of a passenger's profile, all from the demo disruptions. Axe at 1366 and
// 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("customer affairs: queue, proposal, disruption view and profile tab", async () => {
    const { page } = await t.session("customer_affairs_executive");
    const visit = async (path, label) => {
      for (const width of [1366, 390]) {
        await page.setViewportSize({ width, height: 900 });
        const resp = await page.goto(`${base}${path}`);
        assert(resp.status() === 200, `${path}: ${resp.status()}`);
        await axe(page, `${label} @${width}`);
        await noSidewaysScroll(page, assert, `${label} @${width}`);
      }
      await page.setViewportSize({ width: 1366, height: 900 });
    };
    await visit("/compensation/disruptions", "disruptions");
    const flight = page.locator("main table a").first();
    assert((await flight.count()) === 1, "the demo has disruptions");
    const disruption = await flight.getAttribute("href");
    await visit(disruption, "disruption view");
    const proposal = await page.locator("main table a[href^='/compensation/proposals/']").first().getAttribute("href");
    await visit(proposal, "proposal");
    const text = await page.locator("main").textContent();
    assert(text.includes("Why") && text.includes("Sources"), "reasons and sources shown");
    await visit("/compensation/proposals?status=approved", "approved proposals");
    await visit("/compensation/proposals", "queue");
    const profile = await page.locator("main table a[href^='/customers/']").first().getAttribute("href");
    if (profile) {
      await visit(`${profile}?tab=compensation`, "profile compensation tab");
    }
  });
  await goodwill(t);
}

// The goodwill policy editor: the CMP manager saves a version, simulates it on the demo's
// past disruptions, publishes it. A bad amount is named in the error summary and its field.
export async function goodwill(t) {
  const { base, check, assert, axe } = t;
  await check("cmp manager: goodwill policy — edit, error named, simulate, publish; axe at 1366 and 390", async () => {
    const { page } = await t.session("cmp_manager");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/compensation/goodwill`);
      assert(resp.status() === 200, `goodwill: ${resp.status()}`);
      await axe(page, `goodwill policy @${width}`);
      await noSidewaysScroll(page, assert, `goodwill policy @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.fill("#f-amount-0", "lots");
    await page.click("form.goodwill-editor button[type=submit]");
    assert((await page.locator(".error-summary a[href='#f-amount-0']").count()) === 1, "the bad amount is named");
    await page.fill("#f-amount-0", "10000");
    await page.fill("#f-note", "Browser check");
    await page.click("form.goodwill-editor button[type=submit]");
    await page.waitForURL(/version=\d+/);
    await page.click("form[action$='/simulation'] button");
    await page.waitForURL(/version=\d+/);
    assert((await page.locator("main").textContent()).includes("Passengers replayed"), "the simulation is shown");
    await axe(page, "goodwill draft with simulation");
    await page.click("form[action$='/publication'] button");
    await page.waitForURL(/\/compensation\/goodwill$/);
    assert((await page.locator("main").textContent()).includes("published"), "the version is in force");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/compensation/settings`);
      assert(resp.status() === 200, `settings: ${resp.status()}`);
      await axe(page, `compensation settings @${width}`);
      await noSidewaysScroll(page, assert, `compensation settings @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
  });
}
