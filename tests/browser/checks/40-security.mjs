// Security operations: the security operations manager's start page, the audit trail (filter by
// the auth.* family, page on, CSV export link), the sign-in anomalies view; the administrator's,
// data privacy officer's and CMP manager's start pages. Axe at 1366 and 390 px on each.

import { noSidewaysScroll } from "./10-workspace.mjs";

async function atBothWidths(page, t, label, fn) {
  for (const width of [1366, 390]) {
    await page.setViewportSize({ width, height: 800 });
    if (fn) await fn(width);
    await t.axe(page, `${label} @${width}`);
    await noSidewaysScroll(page, t.assert, `${label} @${width}`);
  }
  await page.setViewportSize({ width: 1366, height: 800 });
}

export default async function (t) {
  const { base, check, assert } = t;

  await check("security operations manager: home shows sign-in activity and the chain status", async () => {
    const { page } = await t.session("security_operations_manager");
    const resp = await page.goto(`${base}/`);
    assert(resp.status() === 200, `home: ${resp.status()}`);
    assert(await page.locator("#security-activity figure.chart svg").count() === 1, "activity chart");
    assert(await page.locator("#security-activity .stats li").count() === 3, "three figures");
    assert(await page.locator("#security-activity a[href='/audit/verify']").count() > 0, "chain status links to verification");
    assert(await page.locator("#privacy-oversight").count() === 1, "the privacy panel (audit.read)");
    await atBothWidths(page, t, "security operations manager home");
  });

  await check("audit trail: filter by auth.* and page on; every row is a sign-in event", async () => {
    const { page } = await t.session("security_operations_manager");
    await page.goto(`${base}/audit`);
    await page.selectOption("#f-action", "auth.*");
    await page.click("form.filter-bar button[type=submit]");
    await page.waitForURL(/action=auth\.\*/);
    const actions = await page.locator("#audit-records tbody code").allTextContents();
    assert(actions.length > 0, "sign-in events listed");
    assert(actions.every((a) => a.startsWith("auth.")), `only auth.* rows: ${actions.join(", ")}`);
    const exportHref = await page.locator("a[href^='/audit/export.csv']").getAttribute("href");
    assert(decodeURIComponent(exportHref).includes("action=auth.*"), `export keeps the filter: ${exportHref}`);
    const csv = await page.request.get(`${base}${exportHref}`);
    assert(csv.status() === 200, `export: ${csv.status()}`);
    assert((csv.headers()["content-type"] || "").startsWith("text/csv"), "CSV");
    const text = await csv.text();
    assert(text.startsWith("sequence,occurred_at_utc,actor_id,actor_name"), "CSV header");
    await atBothWidths(page, t, "/audit?action=auth.*");
    // Paging: the whole trail has more than a page after a few sign-ins; the next page opens.
    await page.goto(`${base}/audit`);
    const next = page.locator("a[rel=next]");
    if (await next.count()) {
      const first = await page.locator("#audit-records tbody tr").count();
      assert(first === 50, `a full first page: ${first}`);
      await next.click();
      await page.waitForURL(/after=/);
      assert(await page.locator("#audit-records tbody tr").count() > 0, "the next page has rows");
      await t.axe(page, "/audit next page");
    }
    // A bad date range is explained, not ignored.
    const bad = await page.goto(`${base}/audit?from=2026-12-10&to=2026-12-01`);
    assert(bad.status() === 422, `bad range: ${bad.status()}`);
    assert(await page.locator("#error-summary").count() === 1, "error summary");
    await t.axe(page, "/audit with an error");
  });

  await check("sign-in anomalies: chart, tabs, axe at both widths", async () => {
    const { page } = await t.session("security_operations_manager");
    for (const path of ["/security", "/security?window=14d"]) {
      const resp = await page.goto(`${base}${path}`);
      assert(resp.status() === 200, `${path}: ${resp.status()}`);
      assert(await page.locator("figure.chart svg").count() === 1, "chart");
      assert(await page.locator("nav.tabs a[aria-current=page]").count() === 1, "current period marked");
      await atBothWidths(page, t, path);
    }
  });

  await check("administrator, data privacy officer and CMP manager land on their panels", async () => {
    for (const [role, panel] of [
      ["administrator", "#access-administration"],
      ["data_privacy_officer", "#privacy-oversight"],
      ["cmp_manager", "#cmp-configuration"],
    ]) {
      const { page } = await t.session(role);
      const resp = await page.goto(`${base}/`);
      assert(resp.status() === 200, `${role} home: ${resp.status()}`);
      assert(await page.locator(panel).count() === 1, `${role}: ${panel}`);
      assert(await page.locator("#security-activity").count() === 0, `${role} does not get the security panel`);
      await atBothWidths(page, t, `${role} home`);
    }
    const { page } = await t.session("cmp_manager");
    await page.goto(`${base}/access/roles`);
    assert(await page.locator("#roles-matrix tbody tr").count() > 10, "the matrix lists the permissions");
    await atBothWidths(page, t, "/access/roles matrix");
  });
}
