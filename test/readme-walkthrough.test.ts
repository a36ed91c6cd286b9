import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { startTestServer } from "./support/test-server.js";
import { requireTool } from "./support/tools.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

function fencedBlock(marker: string): string {
  const section = readme.split(`<!-- ${marker}:start -->`)[1]?.split(`<!-- ${marker}:end -->`)[0];
  const body = section?.match(/```\w*\n([\s\S]*?)```/)?.[1];
  if (body === undefined) throw new Error(`README.md has no fenced block between the ${marker} markers`);
  return body;
}

const haveTools = requireTool("curl", "bash scripts/provision-core.sh") && requireTool("jq", "bash scripts/provision-core.sh");

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.shutdown(0));

describe("the README's curl walk-through", () => {
  it.runIf(haveTools)("runs against a live server and prints what the README says", async () => {
    const script = `set -euo pipefail\n${fencedBlock("curl-walkthrough")}`;
    const { stdout } = await promisify(execFile)("bash", ["-c", script], { env: { ...process.env, API: server.url } });
    expect(stdout).toBe(fencedBlock("curl-walkthrough-output"));
  });
});
