import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RunningServer } from "../../src/server/app.js";
import type { Browser } from "./chromium.js";
import { launchChromium } from "./chromium.js";
import { startTestServer } from "./test-server.js";

/** Where the browser suites save their screenshots. */
export const outputDir = join(process.cwd(), "test-output");

export interface DemoFixture {
  /** Serves the freshly built demo at /demo; the suites point the pages at an API on another origin (`?api=`). */
  readonly demoServer: RunningServer;
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Builds the demo into a temporary directory, serves it from a real server, launches headless Chromium. */
export async function startDemoFixture(): Promise<DemoFixture> {
  const demoDir = await mkdtemp(join(tmpdir(), "switchboard-demo-"));
  await promisify(execFile)(process.execPath, ["scripts/build-demo.mjs", demoDir]);
  const demoServer = await startTestServer({ demo: true }, { demoDir });
  const browser = await launchChromium();
  await mkdir(outputDir, { recursive: true });
  return {
    demoServer,
    browser,
    close: async () => {
      await browser.close();
      await demoServer.shutdown(0);
      await rm(demoDir, { recursive: true, force: true });
    },
  };
}
