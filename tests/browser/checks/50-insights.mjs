// Insights: the marketing manager, the in-flight retailer and the data analyst land on start
// pages with their aggregates, open every insights page they may, and each page passes axe at
// desktop and phone widths without scrolling sideways; groups below k never show a size.

import { noSidewaysScroll } from "./10-workspace.mjs";

const ROLES = {
  marketing_manager: { panels: ["insights-population", "insights-routes"], pages: ["/insights", "/insights/customers", "/insights/travel"] },
  inflight_retailer: { panels: ["insights-purchases", "insights-preferences"], pages: ["/insights", "/insights/purchases"] },
  data_analyst: {
    panels: ["insights-population", "insights-routes", "insights-purchases", "insights-preferences"],
    pages: ["/insights", "/insights/customers", "/insights/travel", "/insights/purchases"],
  },
};

export default async function (t) {
  const { base, check, assert, axe } = t;
  for (const [role, want] of Object.entries(ROLES)) {
    await check(`${role}: home shows its aggregates; insights pages pass axe at 1366 and 390 px`, async () => {
      const { page } = await t.session(role);
      // The first snapshot is computed in the background at start-up: wait for it.
      for (let i = 0; i < 60; i++) {
        await page.goto(`${base}/insights`);
        if (await page.locator("ul.stats").count() > 0) break;
        await page.waitForTimeout(500);
      }
      for (const width of [1366, 390]) {
        await page.setViewportSize({ width, height: 800 });
        const home = await page.goto(`${base}/`);
        assert(home.status() === 200, `home: ${home.status()}`);
        for (const id of want.panels) {
          assert(await page.locator(`section#${id} figure.chart`).count() > 0, `home lacks a chart in #${id}`);
        }
        await axe(page, `${role} home @${width}`);
        await noSidewaysScroll(page, assert, `${role} home @${width}`);
        for (const path of want.pages) {
          const resp = await page.goto(`${base}${path}`);
          assert(resp.status() === 200, `${path}: ${resp.status()}`);
          assert((await page.textContent("main")).includes("UTC"), `${path} says when the snapshot was taken`);
          await axe(page, `${role} ${path} @${width}`);
          await noSidewaysScroll(page, assert, `${role} ${path} @${width}`);
        }
      }
      await page.setViewportSize({ width: 1366, height: 800 });
      const rail = await page.locator("nav.rail a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      assert(rail.includes("/insights"), "the rail offers Insights");
    });
  }

  await check("data_analyst: the view filter changes the rows, and a table downloads as CSV", async () => {
    const { page } = await t.session("data_analyst");
    await page.goto(`${base}/insights/customers`);
    await page.selectOption("#f-rows", "10");
    await page.selectOption("#f-order", "name");
    await page.click("form.filter-bar button[type=submit]");
    await page.waitForURL(/rows=10/);
    const rows = await page.locator("#population-nationality-table tbody tr").count();
    assert(rows > 0 && rows <= 10, `${rows} nationality rows`);
    const cells = await page.locator("td").allTextContents();
    assert(!cells.some((c) => /^[1-9]$/.test(c.trim())), "no group is shown with fewer than 10 customers");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("a[href='/insights/customers.csv?table=population.tier']"),
    ]);
    assert(download.suggestedFilename().startsWith("aloft-population-tier-"), download.suggestedFilename());
  });
}
