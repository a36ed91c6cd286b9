import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The Connect conformance suite (connectrpc.com/conformance v1.0.7) against test/conformance/server.ts:
// ConformanceService on Switchboard's own listener, RPC route (lean path + connect-node) and pipeline.
// Over Connect, gRPC and gRPC-Web, HTTP/1.1 and h2c, every codec, compression and stream type the
// config declares. Install the runner with scripts/provision-conformance.sh.

const root = new URL("..", import.meta.url).pathname;
const runnerTimeoutMs = 420_000;

function findRunner(): string | undefined {
  try {
    const gopath = execFileSync("go", ["env", "GOPATH"], { encoding: "utf8" }).trim();
    const candidate = join(gopath, "bin", "connectconformance");
    if (existsSync(candidate)) return candidate;
  } catch {
    // no Go: look on PATH below
  }
  for (const dir of (process.env["PATH"] ?? "").split(":")) {
    if (dir && existsSync(join(dir, "connectconformance"))) return join(dir, "connectconformance");
  }
  return undefined;
}

const runner = findRunner();
const required = process.env["CI"] === "true";

function runConformance(leanPath: "on" | "off"): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      runner!,
      [
        "--mode", "server",
        "--conf", "test/conformance/config.yaml",
        "--known-failing", "@test/conformance/known-failing.txt",
        // Two servers and four calls at a time: the machine is shared.
        "--max-servers", "2", "--parallel", "4",
        "--", join(root, "node_modules/.bin/vite-node"), "test/conformance/server.ts",
      ],
      { cwd: root, env: { ...process.env, SWITCHBOARD_LEAN_PATH: leanPath }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill("SIGTERM"), runnerTimeoutMs - 10_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("the Connect conformance suite, server mode", () => {
  it.runIf(runner !== undefined || required)(
    "passes every case over Connect, gRPC and gRPC-Web with the lean path on",
    async () => {
      expect(runner, "connectconformance is not installed: run scripts/provision-conformance.sh").toBeDefined();
      const { code, output } = await runConformance("on");
      const failures = output.split("\n").filter((line) => line.startsWith("FAILED"));
      expect(failures, output.slice(-4000)).toEqual([]);
      expect(output).toMatch(/Total cases: \d+/);
      expect(code, output.slice(-4000)).toBe(0);
    },
    runnerTimeoutMs,
  );
});
