// Role dashboards (issue 22, item 5): customer affairs, the in-flight retailer, the CMP manager
// and the data analyst open their dashboards on the demo data; each passes axe at 1366 and
// 390 px without sideways scroll; the live script connects to the page's event stream (the
// status region says so); a reversed period answers 422 with the summary naming the end date;
// a contact-centre agent gets 403.

import { noSidewaysScroll } from "./10-workspace.mjs";

const ROLES = {
  customer_affairs_executive: ["/insights/service"],
  inflight_retailer: ["/insights/routes"],
  cmp_manager: ["/insights/cmp"],
  data_analyst: ["/insights/service", "/insights/routes", "/insights/cmp"],
};

// A year back, so the demo history is inside the period.
function period() {
  const to = new Date();
  const from = new Date(to.getTime() - 365 * 24 * 3600 * 1000);
  const day = (d) => d.toISOString().slice(0, 10);
  return `from=${day(from)}&to=${day(to)}`;
}

export default async function (t) {
  const { base, check, assert, axe } = t;
  for (const [role, paths] of Object.entries(ROLES)) {
    await check(`${role}: dashboards pass axe at 1366 and 390 px and go live`, async () => {
      const { page } = await t.session(role);
      for (const path of paths) {
        for (const width of [1366, 390]) {
          await page.setViewportSize({ width, height: 900 });
          const resp = await page.goto(`${base}${path}?${period()}`);
          assert(resp.status() === 200, `${path}: ${resp.status()}`);
          assert((await page.locator("#dash-headline ul.stats").count()) === 1, `${path}: headline figures`);
          assert((await page.locator(`nav a[href='${path}']`).count()) > 0, `${path}: in the navigation`);
          await page.waitForFunction(
            () => /Live/.test(document.querySelector("#dash-live-status")?.textContent || ""),
            null,
            { timeout: 5000 },
          );
          await axe(page, `${role} ${path} @${width}`);
          await noSidewaysScroll(page, assert, `${role} ${path} @${width}`);
        }
      }
    });
  }

  await check("data analyst: a reversed period is refused naming the end date", async () => {
    const { page } = await t.session("data_analyst");
    await page.setViewportSize({ width: 1366, height: 900 });
    const resp = await page.goto(`${base}/insights/service?from=2026-11-30&to=2026-11-01`);
    assert(resp.status() === 422, `reversed period: ${resp.status()}`);
    assert((await page.locator("#error-summary a[href='#f-to']").count()) === 1, "the summary names the end date");
    await axe(page, "dashboard with a bad period");
  });

  await check("contact centre agent: no dashboard", async () => {
    const { page } = await t.session("contact_centre_agent");
    for (const path of ["/insights/service", "/insights/routes", "/insights/cmp"]) {
      const resp = await page.goto(`${base}${path}`);
      assert(resp.status() === 403, `${path}: ${resp.status()}`);
    }
  });
}
