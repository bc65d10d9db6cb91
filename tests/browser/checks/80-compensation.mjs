// Compensation: a customer affairs executive types a delayed flight in local times and reads
// each regime's decision with its reasons and sources; a claim with a missing fact comes back
// with an error summary naming the field. Axe at 1366 and 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("customer affairs: a claim typed in local times answers at once with reasons and sources", async () => {
    const { page } = await t.session("customer_affairs_executive");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/compensation/claim`);
      assert(resp.status() === 200, `/compensation/claim: ${resp.status()}`);
      await axe(page, `claim form @${width}`);
      await noSidewaysScroll(page, assert, `claim form @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.fill("#f-flight", "LH400");
    await page.fill("#f-carrier-country", "DE");
    await page.fill("#f-from", "FRA");
    await page.fill("#f-to", "JFK");
    await page.fill("#f-scheduled-departure", "2026-07-01T10:00");
    await page.fill("#f-scheduled-arrival", "2026-07-01T12:40");
    await page.fill("#f-actual-arrival", "2026-07-01T16:05");
    await page.selectOption("#f-kind", "delay");
    await page.selectOption("#f-cause", "technical");
    await Promise.all([page.waitForNavigation(), page.click("form.claim-form button[type=submit]")]);
    const decisions = await page.locator("#decisions").textContent();
    assert(decisions.includes("300.00 EUR"), `decision: ${decisions}`);
    assert(decisions.includes("Art. 7(2)(c)"), "cites the reduction");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await axe(page, `claim decision @${width}`);
      await noSidewaysScroll(page, assert, `claim decision @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });

    // A cancellation without its notice: named in the error summary, which takes the focus.
    await page.selectOption("#f-kind", "cancellation");
    await page.fill("#f-notice-days", "");
    await Promise.all([page.waitForNavigation(), page.click("form.claim-form button[type=submit]")]);
    const summary = await page.locator("#error-summary").textContent();
    assert(/days of notice|notice_days|required for a cancellation/i.test(summary), `summary: ${summary}`);
    await axe(page, "claim errors");
  });
}
