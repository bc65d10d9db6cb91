// Shared by the browser tests (run.mjs) and the screenshot tool (screenshots.mjs): start the
// real binary with demo data, compute the demo accounts' TOTP codes, launch Debian's Chromium
// with the flags this closed network needs, and sign in.

import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash, createHmac } from "node:crypto";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const bin = process.env.ALOFT_BIN || join(here, "..", "..", "target", "debug", "aloft");
export const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

export function startServer(customers = 300) {
  const dataDir = mkdtempSync(join(tmpdir(), "aloft-browser-"));
  const args = ["serve", "--bind", "127.0.0.1:0", "--data-dir", dataDir, "--demo", "--demo-customers", String(customers)];
  const child = spawn(bin, args, { env: { ...process.env, ALOFT_LOG_FORMAT: "json" }, stdio: ["ignore", "pipe", "pipe"] });
  let logs = "";
  child.stderr.on("data", (d) => { logs += d; });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${logs}`)), 60000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1], dataDir, logs: () => logs });
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${out}\n${logs}`)));
  });
}

export // The demo accounts' TOTP secrets are derived like aloft_access::demo::demo_secret.
function demoSecret(role) {
  return createHash("sha256").update(`aloft-demo-totp:${role}`).digest().subarray(0, 20);
}

// RFC 6238: HMAC-SHA1 over the 30-second step, dynamic truncation, 6 digits.
export function totp(secret, unixSeconds = Math.floor(Date.now() / 1000)) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(value).padStart(6, "0");
}

export function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

// Signs `page` in as the demo account of `role` (password, then the TOTP code).
export async function signIn(page, base, role) {
  await page.goto(`${base}/sign-in`);
  await page.fill("#username", role);
  await page.fill("#password", "aloft-demo-password");
  await page.click("main button[type=submit]");
  await page.waitForURL(/\/sign-in\/mfa/);
  await page.fill("#code", totp(demoSecret(role)));
  await page.click("form[action='/sign-in/mfa'] button[type=submit]");
  await page.waitForLoadState("networkidle");
}
