// Mail templates (CMP manager): the list, one template with its languages, a text with a
// placeholder the message does not provide refused with the field named (axe clean), a
// Portuguese text added, then removed again through the confirm dialog.
// Axe at 1366 and 390 px, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("cmp manager: mail templates — listed, refused placeholder, language added and removed", async () => {
    const { page } = await t.session("cmp_manager");
    for (const path of ["/mail/templates", "/mail/templates/case-opened"]) {
      for (const width of [1366, 390]) {
        await page.setViewportSize({ width, height: 900 });
        const resp = await page.goto(`${base}${path}`);
        assert(resp.status() === 200, `${path}: ${resp.status()}`);
        await axe(page, `${path} @${width}`);
        await noSidewaysScroll(page, assert, `${path} @${width}`);
      }
    }
    await page.setViewportSize({ width: 1366, height: 900 });
    await page.selectOption("#f-language", "");
    await page.fill("#f-other-language", "pt");
    await page.fill("#f-subject", "Recebemos o seu pedido: {{subject}}");
    await page.fill("#f-text", "Olá {{first_name}}, o seu caso {{reference}} está aberto.");
    const [bad] = await Promise.all([
      page.waitForNavigation(),
      page.click("form[action='/mail/templates/case-opened'] button[type=submit]"),
    ]);
    assert(bad.status() === 422, `unknown placeholder: ${bad.status()}`);
    assert((await page.locator("#error-summary a[href='#f-text']").count()) === 1, "the text is named");
    await axe(page, "mail template with errors");
    await page.fill("#f-text", "Obrigado. O seu caso {{reference}} está aberto.");
    await Promise.all([page.waitForNavigation(), page.click("form[action='/mail/templates/case-opened'] button[type=submit]")]);
    const toast = await page.locator(".toast").textContent();
    assert(/Saved the pt text as version 1/.test(toast), `toast: ${toast}`);
    assert((await page.locator("#lang-pt").count()) === 1, "Portuguese is listed");
    await page.locator("form[action='/mail/templates/case-opened/pt/reset'] button").click();
    await page.locator("dialog.confirm-dialog button:not(.secondary)").click();
    await page.waitForURL(/\/mail\/templates\/case-opened$/);
    assert((await page.locator("#lang-pt").count()) === 0, "Portuguese is removed");
  });
}
