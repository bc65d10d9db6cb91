// Server time of the insights pages and the start pages that show their panels, over loopback,
// signed in through the real pages (password + TOTP of the demo accounts).
//
// Usage (release build; a population made first with `aloft demo`):
//   target/release/aloft demo --data-dir /tmp/insights-100k --customers 100000
//   ALOFT_BIN=target/release/aloft node crates/insights/bench/pages.mjs /tmp/insights-100k [requests]
// (PostgreSQL: `aloft demo --database-url URL --data-dir KEYS_DIR …`, then give the URL instead
// of the directory, with ALOFT_KEYS_DIR=KEYS_DIR where the instance keys are.)
// Starts `aloft serve --demo` on that directory (demo accounts only: customers exist already),
// waits for the first snapshot (computed at start-up when none exists; its time is in the log
// line "insights snapshot computed"), then requests each page sequentially and prints
// p50/p99/max of the time to the last byte per page.

import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { launch, signIn } from "../../../tests/browser/lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.ALOFT_BIN || join(here, "..", "..", "..", "target", "release", "aloft");
const dataDir = process.argv[2];
const n = Number(process.argv[3] || 1000);
if (!dataDir) throw new Error("usage: pages.mjs DATA_DIR|POSTGRES_URL [requests]");

const storage = dataDir.startsWith("postgres://")
  ? ["--database-url", dataDir, "--data-dir", process.env.ALOFT_KEYS_DIR || "aloft-data"]
  : ["--data-dir", dataDir];
const child = spawn(bin, ["serve", "--bind", "127.0.0.1:0", ...storage, "--demo"], {
  env: { ...process.env, ALOFT_LOG: "info,aloft=info", ALOFT_LOG_FORMAT: "json" },
  stdio: ["ignore", "pipe", "pipe"],
});
let logs = "";
child.stderr.on("data", (d) => { logs += d; });
const base = await new Promise((resolve, reject) => {
  let out = "";
  const timer = setTimeout(() => reject(new Error(`no start:\n${out}\n${logs}`)), 600000);
  child.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  child.on("exit", (c) => reject(new Error(`exited ${c}:\n${out}\n${logs}`)));
});

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const browser = await launch();
try {
  const cookies = {};
  for (const role of ["data_analyst", "marketing_manager", "inflight_retailer"]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, base, role);
    cookies[role] = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  }
  const get = (role, path) => fetch(base + path, { headers: { cookie: cookies[role] }, redirect: "manual" });
  const started = Date.now();
  for (;;) {
    const body = await (await get("data_analyst", "/insights")).text();
    if (body.includes('class="stats"')) break;
    if (Date.now() - started > 600000) throw new Error("no snapshot after 10 minutes");
    await new Promise((r) => setTimeout(r, 250));
  }
  const computed = logs.split("\n").filter((l) => l.includes("insights snapshot computed")).pop();
  console.log(`snapshot: ${computed ? JSON.stringify(JSON.parse(computed).fields || JSON.parse(computed)) : "(computed before this run)"}`);
  const pages = [
    ["data_analyst", "/insights"],
    ["data_analyst", "/insights/customers"],
    ["data_analyst", "/insights/customers?rows=all"],
    ["data_analyst", "/insights/travel"],
    ["data_analyst", "/insights/purchases"],
    ["data_analyst", "/insights/customers.csv?table=population.nationality"],
    ["data_analyst", "/"],
    ["marketing_manager", "/"],
    ["inflight_retailer", "/"],
  ];
  console.log(`${n} sequential requests per page after 50 warm-up requests`);
  console.log("role               page                                                  p50 ms   p99 ms   max ms");
  for (const [role, path] of pages) {
    for (let i = 0; i < 50; i++) await (await get(role, path)).arrayBuffer();
    const times = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      const r = await get(role, path);
      await r.arrayBuffer();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 200) throw new Error(`${role} ${path}: ${r.status}`);
    }
    times.sort((a, b) => a - b);
    console.log(`${role.padEnd(18)} ${path.padEnd(52)} ${pct(times, 50).toFixed(2).padStart(7)} ${pct(times, 99).toFixed(2).padStart(8)} ${times[times.length - 1].toFixed(2).padStart(8)}`);
  }
} finally {
  await browser.close();
  child.kill("SIGTERM");
}
