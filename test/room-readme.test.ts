import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { fencedBlock } from "./support/readme.js";
import { startTestServer } from "./support/test-server.js";
import { describeWithTools, findTool, run } from "./support/tools.js";

const grpcurl = findTool("grpcurl");
const tools = { bash: findTool("bash", []), curl: findTool("curl", []), jq: findTool("jq", []) };
const missing = [...Object.entries(tools).filter(([, path]) => !path).map(([name]) => name), ...(grpcurl ? [] : ["grpcurl"])];

describeWithTools("the room examples in docs/rooms.md, run against a live server", missing, () => {
  let server: RunningServer;
  let workDir: string;
  beforeAll(async () => {
    server = await startTestServer();
    workDir = await mkdtemp(join(tmpdir(), "switchboard-rooms-"));
  });
  afterAll(async () => {
    await server?.shutdown(0);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const runBlock = (marker: string) =>
    run(tools.bash!, ["-e", "-o", "pipefail", "-c", fencedBlock(marker, "docs/rooms.md")], {
      cwd: workDir,
      env: { API: server.url, ADDR: `127.0.0.1:${server.port}`, PATH: `${dirname(grpcurl!)}:${process.env["PATH"]}` },
    });

  it("curl (Connect JSON): joins, sends, renews, leaves and reads the room as the comments say", async () => {
    const result = await runBlock("rooms-curl");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toBe('["alice","bob"]');
    expect(lines.slice(1, 3)).toEqual(['{"sequence":"3","recipients":1}', '{"sequence":"4","recipients":1}']);
    expect(lines[3]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(lines.slice(4)).toEqual(["{}", "not_found", '{"members":["alice"],"sequence":"5"}']);
  });

  it("grpcurl: describes the service, refuses the third member and streams the room's events until its member leaves", async () => {
    const result = await runBlock("rooms-grpcurl");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("signaling.v1.RoomService is a service:");
    expect(result.stdout).toContain("// RoomService lets any number of peers meet in a named room");
    expect(result.stdout).toContain("carol refused (grpcurl exit code 72)");
    expect(result.stderr).toContain("Code: ResourceExhausted");
    expect(result.stderr).toContain("Code: NotFound");
    expect(result.stdout.trim().split("\n").slice(-4)).toEqual([
      "alice's stream ended (grpcurl exit code 69)",
      '"memberJoined"',
      '"message"',
      '"memberLeft"',
    ]);
  });
});
