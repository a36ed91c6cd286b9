import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { startTestServer } from "./support/test-server.js";
import type { RunResult } from "./support/tools.js";
import { describeWithTools, findTool, isExecutable, pathWithGoBin, repoRoot, run } from "./support/tools.js";

/** What each client prints after the whole exchange: the same for every language. */
const expectedSummary = {
  secondAnswerCode: Code.AlreadyExists,
  offererCandidates: ["candidate:1 1 udp 2122260223 192.0.2.1 54000 typ host"],
  answererCandidates: ["candidate:2 1 udp 2122260223 192.0.2.2 54001 typ host"],
  watchEvents: [
    "snapshot",
    "offer",
    "answer",
    "ice_candidate_added:SIDE_OFFERER",
    "ice_candidates_complete:SIDE_OFFERER",
    "ice_candidate_added:SIDE_ANSWERER",
    "ice_candidates_complete:SIDE_ANSWERER",
    // Both sides are done: the stream ends by itself (the clients then close the channel all the same).
    "exchange_complete",
  ],
  watchVersions: [1, 2, 3, 4, 5, 6, 7, 7],
};

/** A client program that takes the server's host:port and runs the exchange. */
type Client = (addr: string) => Promise<RunResult>;

function interopSuite(language: string, missing: readonly string[], prepare: () => Promise<Client>): void {
  describeWithTools(`${language} gRPC client (test/interop/${language})`, missing, () => {
    let server: RunningServer;
    let client: Client;

    beforeAll(async () => {
      client = await prepare();
      server = await startTestServer();
    }, 300_000);

    afterAll(() => server?.shutdown(0));

    it("runs the whole exchange: watch stream, offer, answer, ALREADY_EXISTS for a second answer, ICE, close", async () => {
      const result = await client(`127.0.0.1:${server.port}`);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const summary = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(summary).toMatchObject(expectedSummary);
      expect(summary["channelId"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(server.openWatchStreams()).toBe(0);
    });
  });
}

/** Fails with the tool's own output when a preparation step does not work. */
async function step(what: string, result: Promise<RunResult>): Promise<void> {
  const { code, stdout, stderr } = await result;
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${stdout}${stderr}`);
}

const go = findTool("go", ["/usr/local/go/bin"]);
const goDir = join(repoRoot, "test/interop/go");
let goBuildDir: string | undefined;

interopSuite(
  "go",
  ["go", "protoc-gen-go", "protoc-gen-go-grpc"].filter((name) => !(name === "go" ? go : findTool(name))),
  async () => {
    const buf = join(repoRoot, "node_modules/.bin/buf");
    await step(
      "buf generate (Go stubs)",
      run(buf, ["generate", "--template", "test/interop/go/buf.gen.yaml"], { env: { PATH: pathWithGoBin } }),
    );
    goBuildDir = await mkdtemp(join(tmpdir(), "switchboard-interop-go-"));
    const binary = join(goBuildDir, "interop");
    await step("go build", run(go!, ["build", "-o", binary, "."], { cwd: goDir, timeoutMs: 280_000 }));
    return (addr) => run(binary, ["-addr", addr]);
  },
);

afterAll(async () => {
  if (goBuildDir) await rm(goBuildDir, { recursive: true, force: true });
});

const python = join(repoRoot, ".tools/venv/bin/python");
const pythonDir = join(repoRoot, "test/interop/python");

interopSuite("python", isExecutable(python) ? [] : ["grpcio in .tools/venv"], async () => {
  await step("grpcio-tools (Python stubs)", run("bash", [join(pythonDir, "generate.sh")], { env: { PYTHON: python } }));
  return (addr) => run(python, [join(pythonDir, "interop.py"), addr]);
});
