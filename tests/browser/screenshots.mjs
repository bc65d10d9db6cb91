// Screenshots of the workspace as each role sees it, at desktop (1366 px) and phone (390 px)
// widths, for people to judge the UI (not run in CI). Usage:
//   node tests/browser/screenshots.mjs OUT_DIR [role:path ...]
// Default: the start page of several roles and a few key pages. Files: OUT_DIR/<role>-<name>-<width>.png

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, launch, signIn } from "./lib.mjs";

const out = process.argv[2] || "screenshots";
const wanted = process.argv.slice(3);
const shots = wanted.length
  ? wanted.map((w) => w.split(/:(.*)/s).slice(0, 2))
  : [
      ["contact_centre_agent", "/"],
      ["contact_centre_agent", "/customers?q=a"],
      ["checkin_agent", "/"],
      ["administrator", "/"],
      ["data_privacy_officer", "/access/grants"],
      ["data_privacy_officer", "/mail/catcher"],
      ["security_operations_manager", "/access/roles"],
    ];
mkdirSync(out, { recursive: true });
const server = await startServer(300);
const browser = await launch();
try {
  const byRole = new Map();
  for (const [role, path] of shots) {
    if (!byRole.has(role)) byRole.set(role, []);
    byRole.get(role).push(path);
  }
  for (const [role, paths] of byRole) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.base, role);
    let customer = null;
    for (let path of paths) {
      // "{customer}" stands for the first customer a name search finds (ids differ per run).
      if (path.includes("{customer}")) {
        if (!customer) {
          await page.goto(`${server.base}/customers?q=a`);
          customer = await page.locator("#results tbody a").first().getAttribute("href");
        }
        path = path.replace("{customer}", customer);
      }
      for (const width of [1366, 390]) {
        await page.setViewportSize({ width, height: width > 500 ? 800 : 844 });
        await page.goto(`${server.base}${path}`);
        await page.waitForLoadState("networkidle");
        const name = path.replace(/[^a-z0-9]+/gi, "_").replace(/^_|_$/g, "") || "home";
        const file = join(out, `${role}-${name}-${width}.png`);
        await page.screenshot({ path: file, fullPage: true });
        console.log(file);
      }
    }
    await context.close();
  }
} finally {
  await browser.close();
  server.child.kill();
}
