import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { startTestServer } from "./support/test-server.js";
import { fencedBlock } from "./support/readme.js";
import { requireTool } from "./support/tools.js";

const haveTools = requireTool("curl", "bash scripts/provision-core.sh") && requireTool("jq", "bash scripts/provision-core.sh");

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.shutdown(0));

describe("the curl walk-through in docs/api.md", () => {
  it.runIf(haveTools)("runs against a live server and prints what the README says", async () => {
    const script = `set -euo pipefail\n${fencedBlock("curl-walkthrough", "docs/api.md")}`;
    const { stdout } = await promisify(execFile)("bash", ["-c", script], { env: { ...process.env, API: server.url } });
    expect(stdout).toBe(fencedBlock("curl-walkthrough-output", "docs/api.md"));
  });
});
