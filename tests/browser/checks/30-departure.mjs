// Departure control: a check-in agent scans a boarding pass and sees the passenger; cabin crew
// open a manifest, which stays readable offline (served by the service worker with a stale
// banner). Every page passes axe at 1366 and 390 px without scrolling sideways.

import { noSidewaysScroll } from "./10-workspace.mjs";

// Chromium applies a context's offline mode to a service worker's own fetches only when
// Playwright watches service workers' network (read when a worker starts, so set it here, before
// the crew's session registers one). Without it the worker still reaches the server "offline".
process.env.PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS = "1";

// A format-M boarding pass of one leg (IATA Resolution 792 mandatory items).
function boardingPass({ surname, given, pnr, from, to, flight, date, seat }) {
  const name = `${surname}/${given}`.toUpperCase().slice(0, 20).padEnd(20);
  const carrier = flight.slice(0, 2);
  let number = flight.slice(2);
  let suffix = " ";
  if (/[A-Z]$/.test(number)) { suffix = number.slice(-1); number = number.slice(0, -1); }
  const d = new Date(`${date}T00:00:00Z`);
  const day = Math.round((d - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1;
  let seatText = "    ";
  const m = /^(\d+)([A-Z])$/.exec(seat || "");
  if (m) { seatText = m[1].padStart(3, "0") + m[2]; }
  return `M1${name}E${pnr.padEnd(7)}${from}${to}${carrier.padEnd(3)}${number.padStart(4, "0")}${suffix}${String(day).padStart(3, "0")}Y${seatText}0001 100`;
}

async function axeAt(page, t, label, widths = [1366, 390]) {
  for (const width of widths) {
    await page.setViewportSize({ width, height: 900 });
    await t.axe(page, `${label} @${width}`);
    await noSidewaysScroll(page, t.assert, `${label} @${width}`);
  }
  await page.setViewportSize({ width: 1366, height: 900 });
}

export default async function (t) {
  const { base, check, assert } = t;

  await check("check-in agent: today's departures, a flight's passengers, a scanned boarding pass finds the passenger", async () => {
    const { page } = await t.session("checkin_agent");
    let resp = await page.goto(`${base}/departure`);
    assert(resp.status() === 200, `/departure: ${resp.status()}`);
    await axeAt(page, t, "/departure");
    const flights = await page.locator("#departures tbody tr").evaluateAll((rows) => rows.map((r) => ({
      href: r.querySelector("a").getAttribute("href"),
      to: r.querySelectorAll("td")[2].textContent.trim(),
    })));
    assert(flights.length > 0, "the demo has departures from DXB today");

    // The first flight with a passenger whose name a boarding pass can print (ASCII).
    let chosen = null;
    for (const f of flights) {
      resp = await page.goto(`${base}${f.href}`);
      assert(resp.status() === 200, `${f.href}: ${resp.status()}`);
      const rows = await page.locator("#passengers tbody tr").evaluateAll((trs) => trs.map((tr) => {
        const td = tr.querySelectorAll("td");
        return { seat: td[0].textContent.trim(), name: td[1].textContent.trim(), pnr: td[2].textContent.trim() };
      }));
      const p = rows.find((r) => /^[\p{Script=Latin}' -]+, [\p{Script=Latin}' -]+$/u.test(r.name));
      if (p) { chosen = { ...p, ...f }; break; }
    }
    assert(chosen, "a passenger with a Latin-script name departs from DXB in the next hours");
    await axeAt(page, t, "flight passengers");

    const [, , , flight, date] = chosen.href.split("/");
    // A boarding pass prints names in ASCII, transliterated as ICAO 9303 does (MÜLLER → MUELLER).
    const icao = (n) => n.toUpperCase().replace(/[ÄÆ]/g, "AE").replace(/[ÖØ]/g, "OE").replace(/Ü/g, "UE")
      .replace(/Å/g, "AA").replace(/ß/g, "SS").normalize("NFD").replace(/[\u0300-\u036f]/g, "");
    const [surname, given] = chosen.name.split(", ").map(icao);
    const pass = boardingPass({ surname, given: given.split(" ")[0], pnr: chosen.pnr, from: "DXB", to: chosen.to, flight, date, seat: chosen.seat });
    await page.goto(`${base}/departure`);
    await page.fill("#bcbp", pass);
    // A barcode reader types the code and Enter.
    await Promise.all([page.waitForNavigation(), page.press("#bcbp", "Enter")]);
    const result = page.locator("#scan-result");
    assert(await result.count() === 1, "the passenger is shown");
    const text = await result.textContent();
    assert(text.includes(chosen.name), `scan shows ${chosen.name}: ${text}`);
    assert(text.includes(chosen.pnr), "and the booking");
    await axeAt(page, t, "scan result");

    // A damaged pass: the error names the item and its position.
    await page.fill("#bcbp", pass.slice(0, 47) + "y" + pass.slice(48));
    await Promise.all([page.waitForNavigation(), page.press("#bcbp", "Enter")]);
    const summary = await page.locator("#error-summary").textContent();
    assert(/Compartment code at position 48/.test(summary), `error summary: ${summary}`);
    await axeAt(page, t, "scan error");

    // The scanned pass (check-in sequence 0001) recorded the check-in; another passenger is
    // checked in at the desk, and the page comes back with a toast.
    await page.goto(`${base}${chosen.href}`);
    const row = page.locator("#passengers tbody tr", { hasText: chosen.name }).first();
    assert((await row.textContent()).includes("Checked in"), "the scanned passenger is checked in");
    const button = page.locator("#passengers tbody tr button", { hasText: "Check in" }).first();
    if (await button.count() > 0) {
      await Promise.all([page.waitForNavigation(), button.click()]);
      const toast = await page.locator(".toast").textContent();
      assert(/Checked in\./.test(toast), `toast: ${toast}`);
    }
    await axeAt(page, t, "flight with check-ins");
  });

  await check("cabin crew: rostered flights, a manifest at tablet and phone widths, offline copy with a stale banner", async () => {
    // A context of its own with the crew's session: one whose service worker starts after the
    // flag above (the workspace checks may already have opened /departure/roster in the shared
    // context, starting the worker there without it).
    const crew = await t.session("cabin_crew");
    const context = await t.browser.newContext({ bypassCSP: true, storageState: await crew.context.storageState() });
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => {
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource: the server responded with a status of")) { errors.push(m.text()); }
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    try {
      let resp = await page.goto(`${base}/departure/roster`);
      assert(resp.status() === 200, `/departure/roster: ${resp.status()}`);
      await axeAt(page, t, "/departure/roster");
      const href = await page.locator("#roster a[href^='/departure/roster/']").first().getAttribute("href");
      assert(href, "a rostered flight has an open manifest");
      resp = await page.goto(`${base}${href}`);
      assert(resp.status() === 200, `${href}: ${resp.status()}`);
      assert(await page.locator("#manifest tbody tr").count() > 0, "the manifest lists passengers");
      assert(await page.locator("#offline-banner").isHidden(), "online: no stale banner");
      await axeAt(page, t, "manifest", [1366, 768, 390]);

      // The service worker takes the page; its copy is kept.
      await page.evaluate(async () => { await navigator.serviceWorker.ready; });
      await page.waitForFunction(async (path) => {
        const cache = await caches.open("aloft-departure-v1");
        return !!(await cache.match(path)) && !!navigator.serviceWorker.controller;
      }, new URL(`${base}${href}`).pathname, { polling: 200, timeout: 10000 }).catch(async () => {
        // Not yet controlling: a reload online puts the page under the worker.
        await page.reload();
      });
      await context.setOffline(true);
      try {
        await page.reload();
        const banner = page.locator("#offline-banner");
        await banner.waitFor({ state: "visible", timeout: 5000 });
        const text = (await banner.textContent()).replace(/\s+/g, " ");
        assert(/Offline copy from \d\d:\d\d — may be stale/.test(text), `banner: ${text}`);
        assert(await page.locator("#manifest tbody tr").count() > 0, "offline: the passengers are still listed");
        await axeAt(page, t, "offline manifest");
      } finally {
        await context.setOffline(false);
      }
      assert(errors.length === 0, `console errors: ${errors.join("\n")}`);
    } finally {
      await context.close();
    }
  });
}
