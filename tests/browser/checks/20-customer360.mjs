// The contact centre agent's main task: find a passenger from the global search, open the 360°
// page, log a call from the header's quick action, and find the notes on the Interactions tab.
// Every tab passes axe at 1366 and 390 px without sideways scrolling.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;
  let profile = null;

  await check("contact centre agent: global search → 360° page → log a call → read it back", async () => {
    const { page } = await t.session("contact_centre_agent");
    await page.setViewportSize({ width: 1366, height: 800 });
    await page.goto(`${base}/`);
    await page.fill("#global-q", "a");
    await page.press("#global-q", "Enter");
    await page.waitForURL(/\/search\?q=a/);
    await page.locator("ul.hits a").first().click();
    await page.waitForURL(/\/customers\/[0-9a-f-]{36}$/);
    profile = new URL(page.url()).pathname;
    assert(await page.locator("nav.tabs a", { hasText: "Timeline" }).count() === 1, "the timeline tab is offered");
    await page.click("text=Log an interaction");
    await page.waitForURL(/tab=interactions/);
    await page.selectOption("#i-channel", "call");
    await page.fill("#i-subject", "Seat change request");
    await page.fill("#i-body", "Wants an aisle seat on the next flight; card 4111 1111 1111 1111 read out");
    await page.click("#log button[type=submit]");
    await page.goto(`${base}${profile}?tab=interactions`);
    const item = page.locator("ol.feed li", { hasText: "Seat change request" }).first();
    await item.locator("summary").click();
    const text = await item.textContent();
    assert(text.includes("aisle seat"), "the notes are shown to the agent");
    assert(!text.includes("4111 1111 1111 1111"), "card numbers are masked");
  });

  await check("360° page: every tab passes axe at 1366 and 390 px", async () => {
    const { page } = await t.session("contact_centre_agent");
    assert(profile, "a profile was found by the previous check");
    for (const tab of ["", "?tab=timeline", "?tab=travel", "?tab=interactions", "?tab=suggestions"]) {
      for (const width of [1366, 390]) {
        await page.setViewportSize({ width, height: 800 });
        const resp = await page.goto(`${base}${profile}${tab}`);
        assert(resp.status() === 200, `${tab}: status ${resp.status()}`);
        await axe(page, `${profile}${tab} @${width}`);
        await noSidewaysScroll(page, assert, `${profile}${tab} @${width}`);
      }
    }
    await page.setViewportSize({ width: 1366, height: 800 });
  });

  await check("loyalty manager: start page shows tier changes and the review queue", async () => {
    const { page } = await t.session("loyalty_manager");
    await page.goto(`${base}/`);
    assert(await page.locator("#tier-changes").count() === 1, "tier changes panel");
    await axe(page, "loyalty manager home");
  });
}
