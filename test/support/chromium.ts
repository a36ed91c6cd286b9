import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { chromium } from "playwright-core";
import { it } from "vitest";

/**
 * Debian's Chromium, installed by scripts/provision-chromium.sh; Playwright's own browser download is never used.
 * CHROMIUM_PATH points the test at another Chromium or Chrome (say on a Mac).
 */
export const chromiumPath = process.env["CHROMIUM_PATH"] || "/usr/bin/chromium";

export const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Two tabs of one machine meet through host candidates with raw addresses. Chromium hides them behind mDNS
  // `.local` names by default, and resolving those would send multicast queries onto the network.
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];

/**
 * Whether this run can use Chromium. Missing under CI=true is an error the caller must
 * turn into a failing test; elsewhere the caller may skip with this message.
 */
export function chromiumStatus(): { available: true } | { available: false; message: string } {
  // A file, not merely a path that exists: some systems have a /nonexistent directory (the nobody user's home).
  if (statSync(chromiumPath, { throwIfNoEntry: false })?.isFile()) return { available: true };
  return { available: false, message: `Chromium is not installed at ${chromiumPath}: run \`bash scripts/provision-chromium.sh\`` };
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile that is removed on close. */
export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "switchboard-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Whether a browser suite can run. Under CI=true a missing Chromium registers a failing test instead
 * (CI must provide it); elsewhere the suite is skipped with a warning naming it.
 */
export function chromiumForSuite(suite: string): boolean {
  const status = chromiumStatus();
  if (status.available) return true;
  if (process.env["CI"] === "true") {
    it("finds Chromium, which CI must provide", () => {
      throw new Error(status.message);
    });
  } else {
    console.warn(`${suite} skipped: ${status.message}`);
  }
  return false;
}

