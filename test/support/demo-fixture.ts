import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RunningServer } from "../../src/server/app.js";
import type { Browser } from "./chromium.js";
import { launchChromium } from "./chromium.js";
import { freePort } from "../../src/lib/free-port.js";
import { startTestServer } from "./test-server.js";

/** Where the browser suites save their screenshots. */
export const outputDir = join(process.cwd(), "test-output");

export interface DemoFixture {
  /** Serves the freshly built demo at /demo; the suites point the pages at an API on another origin (`?api=`). */
  readonly demoServer: RunningServer;
  readonly browser: Browser;
  /**
   * A port for an API server (or a proxy in front of one) that the pages may use: the demo's `?api=` and its CSP
   * allow only the origins the demo server was started with (--demo-api-origins), so they are reserved up front.
   */
  nextApiPort(): number;
  close(): Promise<void>;
}

/** API origins a suite may use at most. */
const apiPortCount = 8;

/** Builds the demo into a temporary directory, serves it from a real server, launches headless Chromium. */
export async function startDemoFixture(): Promise<DemoFixture> {
  const demoDir = await mkdtemp(join(tmpdir(), "switchboard-demo-"));
  await promisify(execFile)(process.execPath, ["scripts/build-demo.mjs", demoDir]);
  const apiPorts: number[] = [];
  while (apiPorts.length < apiPortCount) {
    const port = await freePort();
    if (!apiPorts.includes(port)) apiPorts.push(port);
  }
  const demoApiOrigins = apiPorts.map((port) => `http://127.0.0.1:${port}`);
  const demoServer = await startTestServer({ demo: true, demoApiOrigins }, { demoDir });
  let used = 0;
  const browser = await launchChromium();
  await mkdir(outputDir, { recursive: true });
  return {
    demoServer,
    browser,
    nextApiPort: () => {
      const port = apiPorts[used++];
      if (port === undefined) throw new Error(`a browser suite may use at most ${apiPortCount} API origins`);
      return port;
    },
    close: async () => {
      await browser.close();
      await demoServer.shutdown(0);
      await rm(demoDir, { recursive: true, force: true });
    },
  };
}
