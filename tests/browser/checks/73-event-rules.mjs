// Case event rules (CMP manager): the shipped rule listed, a rule with a malformed condition
// refused with the line named (axe clean), a rule added as a new version, switched off.
// Axe at 1366 and 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("cmp manager: case event rules — listed, refused line, added, switched off", async () => {
    const { page } = await t.session("cmp_manager");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/cases/event-rules`);
      assert(resp.status() === 200, `event rules: ${resp.status()}`);
      await axe(page, `event rules @${width}`);
      await noSidewaysScroll(page, assert, `event rules @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    assert((await page.locator("main").textContent()).includes("Mishandled bag"), "the shipped rule");
    await page.fill("#f-name", "Lounge complaint");
    await page.selectOption("#f-event-type", "aloft.travel.feedback.recorded");
    await page.fill("#f-when", "outcome created");
    await page.fill("#f-subject", "Feedback needs an answer");
    await page.click("form[action='/cases/event-rules'] button[type=submit]");
    let text = await page.locator("main").textContent();
    assert(text.includes("Line 1 is not"), "the malformed line is named");
    await axe(page, "event rules with errors");
    await page.fill("#f-when", "outcome = created");
    await page.click("form[action='/cases/event-rules'] button[type=submit]");
    await page.waitForURL(/\/cases\/event-rules$/);
    text = await page.locator("main").textContent();
    assert(text.includes("Lounge complaint") && text.includes("Version 2"), "added as version 2");
    await page.locator("form[action='/cases/event-rules/1/toggle'] button").click();
    await page.waitForURL(/\/cases\/event-rules$/);
    text = await page.locator("main").textContent();
    assert(text.includes("Version 3") && text.includes("Switch on"), "switched off as version 3");
  });
}
