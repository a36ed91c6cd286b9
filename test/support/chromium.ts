import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { chromium } from "playwright-core";

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
  if (existsSync(chromiumPath)) return { available: true };
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
