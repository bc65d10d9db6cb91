// Cases: a contact centre agent opens the baggage queue (demo cases), the at-risk view and a
// case with its timeline, replies to the customer and sees the toast and the reply in the
// timeline; a customer's 360° page has a "Cases" tab with "Open a case" (its form names a bad
// booking reference and keeps what was typed, then opens the case); a supervisor's case dashboard (charts,
// tables, a period filter that names a bad date), closed to agents. Axe at 1366 and 390 px, no
// sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("contact centre: work queue, case detail, reply", async () => {
    const { page } = await t.session("contact_centre_agent");
    for (const path of ["/cases?view=queue&queue=baggage", "/cases?view=at_risk", "/cases"]) {
      for (const width of [1366, 390]) {
        await page.setViewportSize({ width, height: 900 });
        const resp = await page.goto(`${base}${path}`);
        assert(resp.status() === 200, `${path}: ${resp.status()}`);
        await axe(page, `${path} @${width}`);
        await noSidewaysScroll(page, assert, `${path} @${width}`);
      }
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/cases?view=queue&queue=baggage`);
    const link = page.locator("#cases a[href^='/cases/']").first();
    assert((await link.count()) === 1, "the demo has baggage cases");
    await Promise.all([page.waitForNavigation(), link.click()]);
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await axe(page, `case detail @${width}`);
      await noSidewaysScroll(page, assert, `case detail @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.fill("#f-body", "We are tracing your bag and will call you today.");
    await Promise.all([page.waitForNavigation(), page.click("form[action$='/reply'] button[type=submit]")]);
    const toast = await page.locator(".toast").textContent();
    assert(/Reply sent/.test(toast), `toast: ${toast}`);
    const timeline = await page.locator("ol.feed").textContent();
    assert(timeline.includes("We are tracing your bag"), "the reply is in the timeline");
    await axe(page, "case after reply");

    const customer = await page.locator("#case-customer").getAttribute("href");
    const resp = await page.goto(`${base}${customer}?tab=cases`);
    assert(resp.status() === 200, `customer cases tab: ${resp.status()}`);
    await axe(page, "customer cases tab");

    // Open a case from the tab: an empty form names its fields, a filled one opens the case.
    await Promise.all([page.waitForNavigation(), page.click("a[href^='/cases/new?customer=']")]);
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await axe(page, `open a case @${width}`);
      await noSidewaysScroll(page, assert, `open a case @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.selectOption("#f-category", "complaint");
    await page.selectOption("#f-channel", "phone");
    await page.fill("#f-booking-reference", "K7");
    await page.fill("#f-subject", "Rude staff at the transfer desk");
    await page.fill("#f-description", "The passenger called about how she was treated in Frankfurt.");
    const [bad] = await Promise.all([
      page.waitForNavigation(),
      page.click("form[action='/cases/new'] button[type=submit]"),
    ]);
    assert(bad.status() === 422, `short booking reference: ${bad.status()}`);
    assert((await page.locator("#error-summary a[href='#f-booking-reference']").count()) === 1, "the booking reference is named");
    assert((await page.inputValue("#f-subject")) === "Rude staff at the transfer desk", "what was typed is kept");
    await axe(page, "open a case (errors)");
    await page.fill("#f-booking-reference", "");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/cases/new'] button[type=submit]")]);
    assert(/\/cases\/[0-9a-f-]{36}$/.test(page.url()), `the new case: ${page.url()}`);
    const opened = await page.locator(".toast").textContent();
    assert(/is open|joined it/.test(opened), `toast: ${opened}`);
  });

  await check("supervisor: case dashboard — backlog, SLA risk, attainment; a bad date named", async () => {
    const { page } = await t.session("customer_affairs_executive");
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/`);
    assert((await page.locator("a[href='/cases/dashboard']").count()) > 0, "the navigation links the dashboard");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/cases/dashboard`);
      assert(resp.status() === 200, `/cases/dashboard: ${resp.status()}`);
      assert((await page.locator("#backlog tbody tr").count()) > 0, "the demo cases make a backlog");
      assert((await page.locator("figure.chart").count()) > 0, "the backlog chart is drawn");
      await axe(page, `/cases/dashboard @${width}`);
      await noSidewaysScroll(page, assert, `/cases/dashboard @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.fill("#f-from", "2026-03-02");
    await page.fill("#f-to", "2026-03-01");
    const [resp] = await Promise.all([
      page.waitForNavigation(),
      page.click("form[action='/cases/dashboard'] button[type=submit]"),
    ]);
    assert(resp.status() === 422, `reversed period: ${resp.status()}`);
    assert((await page.locator("#error-summary a[href='#f-to']").count()) === 1, "the summary names the end date");
    await axe(page, "/cases/dashboard (bad period)");

    const agent = (await t.session("contact_centre_agent")).page;
    const denied = await agent.goto(`${base}/cases/dashboard`);
    assert(denied.status() === 403, `agent: ${denied.status()}`);
  });
}
