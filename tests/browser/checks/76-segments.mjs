// Segment builder and audiences (issue 22 item 1): the marketing manager composes a segment
// with the live count (htmx under the strict CSP), adds a condition row, sees a bad row named
// in the error summary, removes it, saves, and reads the audience's consent exclusion on the
// segment page; the list shows the size. Axe at 1366 and 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("marketing manager: segment builder with live count, errors, save, audience", async () => {
    const { page } = await t.session("marketing_manager");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/segments/new`);
      assert(resp.status() === 200, `/segments/new: ${resp.status()}`);
      await axe(page, `segment builder @${width}`);
      await noSidewaysScroll(page, assert, `segment builder @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.fill("#f-name", "Browser check: gold");
    await page.selectOption("#f-c0-field", "loyalty.tier");
    await page.selectOption("#f-c0-op", "=");
    await page.fill("#f-c0-value", "gold");
    await page.locator("#f-c0-value").blur();
    await page.waitForFunction(
      () => /customers match now/.test(document.querySelector("#segment-count")?.textContent || ""),
      null,
      { timeout: 5000 },
    );
    // A second row, left without a fact: named on save.
    await Promise.all([page.waitForNavigation(), page.click("button[name=add]")]);
    assert((await page.locator("#f-c1-field").count()) === 1, "a second condition row");
    const saveResp = await Promise.all([page.waitForNavigation(), page.click("button[name=save]")]).then(([r]) => r);
    assert(saveResp.status() === 422, `save with an empty row: ${saveResp.status()}`);
    const summary = await page.locator("#error-summary").textContent();
    assert(/Condition 2: choose a fact/.test(summary), `summary: ${summary}`);
    assert((await page.locator("#error-summary a[href='#f-c1-field']").count()) === 1, "the summary links the row");
    await axe(page, "segment builder with an error");
    // Removed, then saved.
    await Promise.all([page.waitForNavigation(), page.click("button[name=remove][value='1']")]);
    assert((await page.locator("#f-c1-field").count()) === 0, "the row is gone");
    await Promise.all([page.waitForNavigation(), page.click("button[name=save]")]);
    assert(/\/segments\/[0-9a-f-]+$/.test(page.url()), `after save: ${page.url()}`);
    const toast = await page.locator(".toast").textContent();
    assert(/Segment saved/.test(toast), `toast: ${toast}`);
    const exclusion = await page.locator("#audience-exclusion").textContent();
    assert(/\d+ of \d+\s+members excluded: no consent/.test(exclusion), `exclusion: ${exclusion}`);
    assert((await page.locator("#audience-csv").count()) === 1, "the marketing manager may export");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.reload();
      await axe(page, `segment page @${width}`);
      await noSidewaysScroll(page, assert, `segment page @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await Promise.all([page.waitForNavigation(), page.click("#segment-edit")]);
    assert((await page.inputValue("#f-c0-value")) === "gold", "the edit form is filled");
    await axe(page, "segment edit");
    await Promise.all([page.waitForNavigation(), page.click("button[name=save]")]);
    assert(/Rule version 2/.test(await page.locator("body").textContent()), "saved as version 2");
    const resp = await page.goto(`${base}/segments`);
    assert(resp.status() === 200, `/segments: ${resp.status()}`);
    const list = await page.locator("#segments").textContent();
    assert(/Browser check: gold/.test(list), `list: ${list}`);
    await axe(page, "segment list");
  });

  await check("marketing manager: marketing dashboard", async () => {
    const { page } = await t.session("marketing_manager");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/analytics/marketing`);
      assert(resp.status() === 200, `/analytics/marketing: ${resp.status()}`);
      assert((await page.locator("#dashboard-segments").count()) === 1, "segment sizes");
      assert((await page.locator("#dashboard-offers figure.chart").count()) === 2, "offers by action");
      await axe(page, `marketing dashboard @${width}`);
      await noSidewaysScroll(page, assert, `marketing dashboard @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
  });
}
