import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { startTestServer } from "./support/test-server.js";
import type { RunResult } from "./support/tools.js";
import { describeWithTools, findTool, repoRoot, run } from "./support/tools.js";
import { servedServices } from "./support/services.js";

const grpcurl = findTool("grpcurl");
const jq = findTool("jq", []);
const bash = findTool("bash", []);
const missing = [!grpcurl && "grpcurl", !jq && "jq", !bash && "bash"].filter((t): t is string => !!t);

const marker = "<!-- grpcurl-walkthrough";

const walkthroughFile = "docs/api.md";

/** The bash block that follows the walk-through marker in docs/api.md. */
async function readmeWalkthrough(): Promise<string> {
  const readme = await readFile(join(repoRoot, walkthroughFile), "utf8");
  const match = readme.slice(readme.indexOf(marker)).match(/```bash\n([\s\S]*?)```/);
  if (!readme.includes(marker) || !match?.[1]) {
    throw new Error(`${walkthroughFile} has no bash block after "${marker}": the grpcurl walk-through must stay in it`);
  }
  return match[1];
}

/** grpcurl prints each streamed message as an indented JSON object; split them. */
function jsonMessages(text: string): Record<string, unknown>[] {
  return text
    .split(/\n(?=\{)/)
    .filter((part) => part.trim() !== "")
    .map((part) => JSON.parse(part) as Record<string, unknown>);
}

describeWithTools("grpcurl walk-through in docs/api.md, run by real grpcurl", missing, () => {
  let server: RunningServer;
  let workDir: string;
  let result: RunResult;

  beforeAll(async () => {
    server = await startTestServer();
    workDir = await mkdtemp(join(tmpdir(), "switchboard-grpcurl-"));
    const script = await readmeWalkthrough();
    result = await run(bash!, ["-e", "-o", "pipefail", "-c", script], {
      cwd: workDir,
      env: { ADDR: `127.0.0.1:${server.port}`, PATH: `${dirname(grpcurl!)}:${dirname(jq!)}:${process.env["PATH"]}` },
    });
  }, 90_000);

  afterAll(async () => {
    await server?.shutdown(0);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("runs to the end", () => {
    expect(result.stderr.replace(/ERROR:\n  Code: AlreadyExists\n  Message: .*\n/, "")).toBe("");
    expect(result.code).toBe(0);
  });

  it("lists every service through reflection", () => {
    expect(result.stdout).toContain(servedServices.join("\n") + "\n");
  });

  it("describes the service and a message without .proto files", () => {
    expect(result.stdout).toContain("signaling.v1.SignalingService is a service:");
    // The proto comments are the API documentation, and describe shows them.
    expect(result.stdout).toContain("// SignalingService pairs two WebRTC peers through a channel.");
    expect(result.stdout).toContain(
      "rpc WatchChannel ( .signaling.v1.WatchChannelRequest ) returns ( stream .signaling.v1.WatchChannelResponse );",
    );
    expect(result.stdout).toContain(
      "rpc AddIceCandidates ( .signaling.v1.AddIceCandidatesRequest ) returns ( .signaling.v1.AddIceCandidatesResponse );",
    );
    expect(result.stdout).toContain("// Adds several ICE candidates, and optionally the end-of-candidates marker");
    expect(result.stdout).toContain("signaling.v1.AddIceCandidateRequest is a message:");
    expect(result.stdout).toMatch(/oneof item \{\s+(?:\/\/.*\n\s+)*\.signaling\.v1\.IceCandidate candidate = 3;\s+(?:\/\/.*\n\s+)*bool end_of_candidates = 4;/);
  });

  it("reports the service SERVING through grpc.health.v1.Health", () => {
    expect(result.stdout).toContain('"status": "SERVING"');
  });

  it("refuses the second answer with ALREADY_EXISTS (grpcurl exit code 64 + 6)", () => {
    expect(result.stderr).toMatch(/Code: AlreadyExists\n  Message: channel .* is already answered/);
    expect(result.stdout).toContain("second answer refused (grpcurl exit code 70)");
  });

  it("reads the offer and lists the offerer's candidates", () => {
    expect(result.stdout).toContain('"sdp": "v=0 offer"');
    expect(result.stdout).toContain('"candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54000 typ host"');
    expect(result.stdout).toContain('"complete": true');
  });

  it("streams every change through WatchChannel, and ends the stream by itself once the exchange is complete", async () => {
    const messages = jsonMessages(await readFile(join(workDir, "watch.json"), "utf8"));
    const events = messages.map((m) => Object.keys(m).filter((k) => k !== "version").join());
    expect(events).toEqual([
      "offer",
      "answer",
      "iceCandidateAdded",
      "iceCandidatesComplete",
      "iceCandidateAdded",
      "iceCandidatesComplete",
      "exchangeComplete",
    ]);
    expect(messages.map((m) => m["version"])).toEqual([2, 3, 4, 5, 6, 7, 7]);
    expect(messages[2]).toMatchObject({ iceCandidateAdded: { side: "SIDE_OFFERER" } });
    expect(messages[4]).toMatchObject({ iceCandidateAdded: { side: "SIDE_ANSWERER" } });
    expect(messages[6]).toEqual({ version: 7, exchangeComplete: {} });
  });
});
