// The workspace every role gets: its start page and the style guide pass axe at desktop and
// phone widths without scrolling sideways, and no navigation entry leads to a refusal.

export const STAFF_ROLES = [
  "contact_centre_agent", "checkin_agent", "cabin_crew", "customer_affairs_executive",
  "loyalty_manager", "marketing_manager", "inflight_retailer", "data_analyst",
  "data_privacy_officer", "security_operations_manager", "cmp_manager", "administrator",
];

export async function noSidewaysScroll(page, assert, label) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert(overflow <= 1, `${label}: horizontal overflow of ${overflow}px`);
}

export default async function (t) {
  const { base, check, assert, axe } = t;
  for (const role of STAFF_ROLES) {
    await check(`${role}: home and every navigation entry open (no 403), axe at 1366 and 390 px`, async () => {
      const { page } = await t.session(role);
      for (const width of [1366, 390]) {
        await page.setViewportSize({ width, height: 800 });
        const resp = await page.goto(`${base}/`);
        assert(resp.status() === 200, `home: status ${resp.status()}`);
        await axe(page, `${role} home @${width}`);
        await noSidewaysScroll(page, assert, `${role} home @${width}`);
      }
      await page.setViewportSize({ width: 1366, height: 800 });
      const hrefs = await page.locator("nav.rail a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      assert(hrefs.length > 1, "the rail has entries");
      for (const href of hrefs) {
        const resp = await page.goto(`${base}${href}`);
        assert(resp.status() < 400, `${href} answered ${resp.status()}`);
      }
    });
  }

  await check("style guide /ui shows every component and passes axe at 1366 and 390 px", async () => {
    const { page } = await t.session("contact_centre_agent");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 800 });
      await page.goto(`${base}/ui`);
      for (const sel of ["nav.breadcrumbs", "nav.tabs", ".badge", "dl.facts", ".empty-state", "table.data-table", "ol.feed", "#error-summary", "form[data-confirm]", "figure.chart svg", "details.chart-data table"]) {
        assert(await page.locator(sel).count() > 0, `missing ${sel}`);
      }
      await axe(page, `/ui @${width}`);
      await noSidewaysScroll(page, assert, `/ui @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 800 });
  });

  await check("confirmation dialog: a confirm button asks first and Cancel keeps the page", async () => {
    const { page } = await t.session("contact_centre_agent");
    await page.goto(`${base}/ui`);
    await page.click("form[data-confirm] button");
    await page.waitForSelector("dialog.confirm-dialog[open]");
    await axe(page, "/ui confirmation dialog");
    await page.click("dialog.confirm-dialog button.secondary");
    // The dialog's `close` event (which removes it) is dispatched as a task of its own: wait.
    await page.waitForSelector("dialog.confirm-dialog", { state: "detached", timeout: 5000 }).catch(() => {});
    assert(await page.locator("dialog.confirm-dialog").count() === 0, "dialog closed");
    assert(page.url().endsWith("/ui"), "still on the page");
  });

  await check("global search: '/' focuses the search box; a name finds customers", async () => {
    const { page } = await t.session("contact_centre_agent");
    await page.goto(`${base}/ui`);
    await page.keyboard.press("/");
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    assert(focused === "global-q", `focus on ${focused}`);
    await page.keyboard.type("mar");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/(search|customers)/);
    await axe(page, "global search results");
  });
}
