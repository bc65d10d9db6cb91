// Case workflow: the CMP manager's /cases/workflow — the current version's states,
// transitions and categories, the version history, the edit form (a bad transition is told
// by line in the error summary, nothing published) and a station's business calendar saved.
// Closed to agents. Axe at 1366 and 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("CMP manager: case workflow — tables, history, a bad edit named, a calendar saved", async () => {
    const { page } = await t.session("cmp_manager");
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/`);
    assert((await page.locator("a[href='/cases/workflow']").count()) > 0, "the navigation links the workflow page");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/cases/workflow`);
      assert(resp.status() === 200, `/cases/workflow: ${resp.status()}`);
      assert((await page.locator("#wf-states tbody tr").count()) >= 5, "the states are listed");
      assert((await page.locator("#wf-transitions tbody tr").count()) >= 5, "the transitions are listed");
      assert((await page.locator("#wf-history tbody tr").count()) >= 1, "the versions are listed");
      await axe(page, `/cases/workflow @${width}`);
      await noSidewaysScroll(page, assert, `/cases/workflow @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    const transitions = await page.inputValue("#f-transitions");
    await page.fill("#f-transitions", `${transitions}\nresolved -> archived`);
    const [resp] = await Promise.all([
      page.waitForNavigation(),
      page.click("form[action='/cases/workflow'] button[type=submit]"),
    ]);
    assert(resp.status() === 422, `a transition to an unknown state: ${resp.status()}`);
    assert((await page.locator("#error-summary a[href='#f-transitions']").count()) === 1, "the summary names the transitions box");
    const summary = await page.locator("#error-summary").textContent();
    assert(/line \d+: "archived" is not one of the states/.test(summary), `summary: ${summary}`);
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await axe(page, `/cases/workflow (bad transition) @${width}`);
      await noSidewaysScroll(page, assert, `/cases/workflow (bad transition) @${width}`);
    }

    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/cases/workflow`);
    await page.fill("#f-station", "ZRH");
    await page.fill("#f-time-zone", "Europe/Zurich");
    await page.fill("#f-holidays", "2026-12-25\n2026-12-26");
    await Promise.all([
      page.waitForNavigation(),
      page.click("form[action='/cases/workflow/calendar'] button[type=submit]"),
    ]);
    const toast = await page.locator(".toast").textContent();
    assert(/Saved the calendar of ZRH/.test(toast), `toast: ${toast}`);
    assert((await page.locator("#wf-calendars tbody tr").count()) >= 1, "the calendar is listed");
    await axe(page, "/cases/workflow (calendar saved)");

    const agent = (await t.session("contact_centre_agent")).page;
    const denied = await agent.goto(`${base}/cases/workflow`);
    assert(denied.status() === 403, `agent: ${denied.status()}`);
  });
}
