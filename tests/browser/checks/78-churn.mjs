// Defection model: a contact centre agent opens a demo customer's "Retention risk" tab (risk,
// expected spend, the reasons in words); the data analyst reads the model page (AUC, the
// calibration chart with its table, coefficients). The demo trains the model at load, so both
// show real figures. Axe at 1366 and 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("contact centre: retention risk on the customer 360° page", async () => {
    const { page } = await t.session("contact_centre_agent");
    // A score profiles the customer, so only those with personalisation consent have one
    // (issue 21 item 2); the others' tab says why. Take the first result with a score.
    await page.goto(`${base}/customers?q=a`);
    const hrefs = await page.locator("#results tbody a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    let customer = null;
    for (const href of hrefs) {
      await page.goto(`${base}${href}?tab=churn`);
      if ((await page.locator("#churn-risk").count()) === 1) { customer = href; break; }
      const text = await page.locator("main").textContent();
      assert(text.includes("No retention risk"), `no score and no reason on ${href}`);
    }
    assert(customer, "a customer with personalisation consent among the results");
    const tab = `${customer}?tab=churn`;
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}${tab}`);
      assert(resp.status() === 200, `${tab}: ${resp.status()}`);
      assert((await page.locator("#churn-risk").count()) === 1, "the risk is shown (the demo trains a model)");
      const summary = await page.locator("#churn-summary").textContent();
      assert(/\d+ %/.test(summary), `risk in percent: ${summary}`);
      await axe(page, `retention risk @${width}`);
      await noSidewaysScroll(page, assert, `retention risk @${width}`);
    }
    const resp = await page.goto(`${base}/models/churn`);
    assert(resp.status() === 403, `the agent does not read the model page: ${resp.status()}`);
  });

  for (const role of ["data_analyst", "cmp_manager"]) {
    await check(`${role}: the defection model's performance`, async () => {
      const { page } = await t.session(role);
      for (const width of [1366, 390]) {
        await page.setViewportSize({ width, height: 900 });
        const resp = await page.goto(`${base}/models/churn`);
        assert(resp.status() === 200, `/models/churn: ${resp.status()}`);
        assert((await page.locator("#churn-calibration").count()) === 1, "the reliability table");
        assert((await page.locator("figure.chart svg").count()) >= 1, "the calibration chart");
        assert((await page.locator("#churn-coefficients").count()) === 1, "the coefficients");
        await axe(page, `model page @${width}`);
        await noSidewaysScroll(page, assert, `model page @${width}`);
      }
    });
  }
}
