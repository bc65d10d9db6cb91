// Segment builder, nested groups (issue 22 item 1): the marketing manager builds "gold, and
// any of: at least 4 flights, or a negative text in 90 days" with the keyboard only — adding a
// group and a condition to it with Enter on named buttons, the page landing on what was added
// so the next Tab reaches its first control, tabbing through each condition —
// while the live count follows every change in its polite status region. Groups are fieldsets
// named by their legend ("Group 2"), so a screen reader announces where a control belongs.
// Saved, the segment's rule holds the group, and the edit form opens with it. Axe at 1366 and
// 390 px with a group open, no sideways scroll.

import { noSidewaysScroll } from "./10-workspace.mjs";

export default async function (t) {
  const { base, check, assert, axe } = t;

  await check("marketing manager: segment builder with a nested group, by keyboard, live count", async () => {
    const { page } = await t.session("marketing_manager");
    await page.setViewportSize({ width: 1366, height: 900 });
    const resp = await page.goto(`${base}/segments/new`);
    assert(resp.status() === 200, `/segments/new: ${resp.status()}`);
    const count = async () => (await page.locator("#segment-count").textContent()) || "";

    await page.fill("#f-name", "Browser check: gold and engaged");
    await page.selectOption("#f-c0-field", "loyalty.tier");
    await page.selectOption("#f-c0-op", "=");
    await page.fill("#f-c0-value", "gold");
    await page.locator("#f-c0-value").blur();
    await page.waitForFunction(
      () => /customers match now/.test(document.querySelector("#segment-count")?.textContent || ""),
      null,
      { timeout: 5000 },
    );
    const gold = await count();

    // "Add a group" by keyboard: focus the named button, press Enter.
    await page.focus("button[name=add_group]");
    await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    // The page lands on the new group: the next Tab reaches its first control.
    assert(page.url().endsWith("#c1-item"), `landed at ${page.url()}`);
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement?.id);
    assert(first === "f-c1-join", `after adding a group, Tab reaches: ${first}`);
    const group = page.getByRole("group", { name: "Group 2", exact: true });
    assert((await group.count()) === 1, "the group is a fieldset named by its legend");
    assert((await page.locator("#f-c1-join").count()) === 1, "the group has its own join");
    assert(
      (await group.getByRole("group", { name: "Condition 2.1" }).count()) === 1,
      "its condition is numbered within it",
    );
    await page.selectOption("#f-c1-0-field", "travel.flights_12m");
    await page.selectOption("#f-c1-0-op", ">=");
    await page.fill("#f-c1-0-value", "4");
    // Tab order follows the reading order: value, then the condition's own remove button.
    await page.focus("#f-c1-0-value");
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert(focused === "Remove condition 2.1", `after the value, focus is on: ${focused}`);

    // A second condition in the group, by keyboard too.
    await page.focus("button[name=add][value='1']");
    const addLabel = await page.evaluate(() => document.activeElement?.textContent?.trim());
    assert(addLabel === "Add a condition to group 2", `button: ${addLabel}`);
    await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    assert((await page.inputValue("#f-c1-0-value")) === "4", "the form keeps what was typed");
    await page.keyboard.press("Tab");
    const next = await page.evaluate(() => document.activeElement?.id);
    assert(next === "f-c1-1-field", `after adding a condition, Tab reaches: ${next}`);
    await page.selectOption("#f-c1-1-field", "sentiment.negative_90d");
    await page.selectOption("#f-c1-1-op", ">");
    await page.fill("#f-c1-1-value", "0");
    // The live count follows each change: htmx posts the whole form, groups included.
    const recount = async (change) => {
      const answered = page.waitForResponse((r) => r.url().endsWith("/segments/count"), { timeout: 5000 });
      await change();
      await answered;
      await page.waitForTimeout(100); // the swap follows the response
      return Number((await page.locator("#segment-count-value").textContent()) || "NaN");
    };
    const anyCount = await recount(() => page.selectOption("#f-c1-join", "any"));
    assert(/customers match now/.test(await count()), `live count with the group: ${await count()}`);
    assert((await page.getAttribute("#segment-count", "aria-live")) === "polite", "announced politely");
    // "None of" the group's conditions counts the rest of the gold members.
    const noneCount = await recount(() => page.selectOption("#f-c1-join", "none"));
    const goldCount = Number(/\d+/.exec(gold)?.[0] ?? "NaN");
    assert(anyCount + noneCount === goldCount, `any ${anyCount} + none ${noneCount} = gold ${goldCount}`);
    await recount(() => page.selectOption("#f-c1-join", "any"));

    for (const width of [1366, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await axe(page, `segment builder with a group @${width}`);
      await noSidewaysScroll(page, assert, `segment builder with a group @${width}`);
    }
    await page.setViewportSize({ width: 1366, height: 900 });

    // A bad value in the group is named by its number, linked from the summary.
    await page.fill("#f-c1-1-value", "few");
    const bad = await Promise.all([page.waitForNavigation(), page.click("button[name=save]")]).then(([r]) => r);
    assert(bad.status() === 422, `save with a bad value: ${bad.status()}`);
    const summary = await page.locator("#error-summary").textContent();
    assert(/Condition 2\.2/.test(summary), `summary: ${summary}`);
    assert((await page.locator("#error-summary a[href='#f-c1-1-value']").count()) === 1, "the summary links the control");
    await axe(page, "segment builder with an error in a group");
    await page.fill("#f-c1-1-value", "0");
    await Promise.all([page.waitForNavigation(), page.click("button[name=save]")]);
    assert(/\/segments\/[0-9a-f-]+$/.test(page.url()), `after save: ${page.url()}`);
    const rule = await page.locator("#segment-rule").textContent();
    assert(/"any"/.test(rule) && /sentiment\.negative_90d/.test(rule), `rule: ${rule}`);
    await Promise.all([page.waitForNavigation(), page.click("#segment-edit")]);
    assert((await page.inputValue("#f-c1-1-value")) === "0", "the edit form opens with the group");
    assert((await page.inputValue("#f-c1-join")) === "any", "and its join");
    await axe(page, "segment edit with a group");
  });
}
