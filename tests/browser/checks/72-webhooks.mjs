// Webhooks (CMP manager): an address other than https refused with the field named (axe clean),
// an endpoint added with its secret shown once, listed with "Nothing sent yet", then removed.
// Axe at 1366 and 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("cmp manager: webhooks — refused address, added with its secret once, removed", async () => {
    const { page } = await t.session("cmp_manager");
    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      const resp = await page.goto(`${base}/webhooks`);
      assert(resp.status() === 200, `webhooks: ${resp.status()}`);
      await axe(page, `webhooks @${width}`);
      await noSidewaysScroll(page, assert, `webhooks @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.fill("#f-name", "Complaints CRM");
    await page.fill("#f-url", "http://crm.example.com/aloft");
    await page.check("#family-aloft-case");
    await page.click("form[action='/webhooks'] button[type=submit]");
    let text = await page.locator("main").textContent();
    assert(text.includes("must use https"), "the address is refused in words");
    await axe(page, "webhooks with errors");

    await page.fill("#f-url", "https://crm.example.com/aloft");
    await page.click("form[action='/webhooks'] button[type=submit]");
    text = await page.locator("main").textContent();
    assert(text.includes("whsec_"), "the secret is shown once");
    assert(text.includes("Complaints CRM") && text.includes("Nothing sent yet"), "listed");
    await axe(page, "webhooks with an endpoint");
    for (const width of [390]) {
      await page.setViewportSize({ width, height: 900 });
      await noSidewaysScroll(page, assert, `webhooks with an endpoint @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.goto(`${base}/webhooks`);
    assert(!(await page.locator("main").textContent()).includes("whsec_"), "not shown again");
    await page.click("form[action$='/remove'] button");
    await page.waitForSelector("dialog.confirm-dialog[open]");
    await page.click("dialog.confirm-dialog button:not(.secondary)");
    await page.waitForURL(/\/webhooks$/);
    await page.waitForLoadState();
    assert((await page.locator("main").textContent()).includes("removed"), "marked removed");
  });
}
