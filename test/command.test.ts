import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helpText } from "../src/server/config.js";
import { freePort } from "../src/lib/free-port.js";
import type { InstalledPackage } from "./support/installed-package.js";
import { cleanEnv, installPackedPackage } from "./support/installed-package.js";
import { repoRoot, run } from "./support/tools.js";
import { commandNodeFlags } from "../src/server/node-flags.js";

let installed: InstalledPackage;
beforeAll(async () => {
  installed = await installPackedPackage();
}, 300_000);
afterAll(() => installed?.remove());

/** The installed package's own copy of one of the patched Connect modules. */
function installedConnectFile(): string {
  return join(installed.libDir, "node_modules/switchboard/node_modules/@connectrpc/connect/dist/esm/protocol-grpc/trailer-status.js");
}

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  /** The JSON log lines written so far. */
  readonly records: Record<string, unknown>[];
  /** The "listening" record. */
  readonly listening: Record<string, unknown>;
  readonly exited: Promise<number | null>;
}

/** Starts the installed command and waits for its "listening" log line. */
async function startCommand(args: readonly string[]): Promise<Started> {
  const child = spawn(installed.command, args, { env: cleanEnv() as NodeJS.ProcessEnv });
  const records: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let buffered = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
        const record = JSON.parse(buffered.slice(0, end)) as Record<string, unknown>;
        buffered = buffered.slice(end + 1);
        records.push(record);
        if (record["msg"] === "listening") resolve(record);
      }
    });
    void exited.then((code) => reject(new Error(`the command exited with ${code} before listening: ${stderr}`)));
  });
  return { child, records, listening, exited };
}

describe("the switchboard command, installed globally from the packed package", () => {
  it("prints every setting for --help, and exits 0", async () => {
    const result = await installed.run(["--help"]);
    expect(result).toEqual({ code: 0, stdout: helpText(), stderr: "" });
  });

  it("ships its Connect modules with the fixes in patches/ applied (a plain `npm install -g`, no install scripts)", async () => {
    expect(await readFile(installedConnectFile(), "utf8")).toContain("rawMessage.toWellFormed()");
  });

  it("refuses to start, in one line naming the fix, when its Connect modules lack one", async () => {
    const file = installedConnectFile();
    const patched = await readFile(file, "utf8");
    await writeFile(file, patched.replace("rawMessage.toWellFormed()", "rawMessage"));
    try {
      const result = await installed.run(["--port", "0"]);
      expect(result.code).not.toBe(0);
      expect(result.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/lack Switchboard's fixes \(a gRPC status message quoting a lone surrogate is sent/)]);
    } finally {
      await writeFile(file, patched);
    }
  });

  it("runs as `npx switchboard --help` in the source tree", async () => {
    const result = await run("npx", ["switchboard", "--help"], { cwd: installed.sourceDir, env: cleanEnv(), timeoutMs: 120_000 });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(helpText());
  });

  it("starts on port 0, logs the address it is bound to and a usable URL, serves, and stops on SIGTERM with 0", async () => {
    const started = await startCommand(["--port", "0"]);
    const { address, url, urls } = started.listening as { address: string; url: string; urls: string[] };
    const port = Number(new URL(url).port);
    expect(port).toBeGreaterThan(0);
    expect(address).toBe(`0.0.0.0:${port}`);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(urls[0]).toBe(url);

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Node runs with the command's own flags (its first line): the young generation's cap (docs/benchmarks.md).
    const nodeArgs = (await readFile(`/proc/${started.child.pid}/cmdline`, "utf8")).split("\0");
    expect(nodeArgs).toEqual(expect.arrayContaining(commandNodeFlags(join(repoRoot, "src/server/cli.ts"))));
    expect(await (await fetch(`${url}/demo`)).text()).toContain("<title>Switchboard demo");
    expect(await (await fetch(`${url}/`)).text()).toContain(`grpcurl -plaintext 127.0.0.1:${port} list`);

    started.child.kill("SIGTERM");
    expect(await started.exited).toBe(0);
    expect(started.records.map((r) => r["msg"])).toEqual(["listening", "signal received", "shutting down", "stopped"]);
  });

  it("logs the one address it listens on when given --host", async () => {
    const started = await startCommand(["--host", "127.0.0.1", "--port", "0"]);
    const { address, url, urls } = started.listening as { address: string; url: string; urls: string[] };
    expect(url).toBe(`http://${address}`);
    expect(urls).toEqual([url]);
    started.child.kill("SIGINT");
    expect(await started.exited).toBe(0);
  });

  it("is a library when imported: importing starts nothing, and startServer serves", async () => {
    const script = `
      const lib = await import("switchboard");
      console.log(JSON.stringify(Object.keys(lib).sort()));
      const server = await lib.startServer({ ...lib.defaultConfig(), host: "127.0.0.1", port: 0 });
      console.log((await fetch(server.url + "/healthz")).status);
      const { createRequire } = await import("node:module");
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes("/node_modules/mongodb/"))));
      await server.shutdown(0);`;
    const result = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: installed.libDir, env: cleanEnv() });
    expect(result.stderr).toBe("");
    const [exports, health, mongodbModules] = result.stdout.trim().split("\n");
    expect(JSON.parse(exports!)).toEqual(expect.arrayContaining(["defaultConfig", "loadConfig", "startServer", "StartupError"]));
    expect(health).toBe("200");
    // On the memory store (the default) the MongoDB driver is never loaded: its code and heap are not paid for.
    expect(JSON.parse(mongodbModules!)).toEqual([]);
    expect(result.code).toBe(0);
  });
});

describe("the switchboard command refuses a bad configuration in one line", () => {
  /** Expects exit `code` and exactly one line on stderr, with no stack trace; returns that line. */
  async function refused(args: readonly string[], code: number): Promise<string> {
    const result = await installed.run(args);
    expect(result.stdout).toBe("");
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.code).toBe(code);
    return result.stderr;
  }

  it("--store mongodb with no MongoDB listening: names the host, what failed and the settings to change, never the password", async () => {
    const port = await freePort();
    const uri = `mongodb://alice:correct-horse-battery@127.0.0.1:${port}/?directConnection=true`;
    const line = await refused(["--store", "mongodb", "--mongodb-uri", uri, "--mongodb-server-selection-timeout-ms", "300"], 1);
    expect(line).toContain(`cannot reach MongoDB at 127.0.0.1:${port} within 300 ms`);
    expect(line).toContain("ECONNREFUSED");
    expect(line).toContain("--mongodb-uri");
    expect(line).toContain("--mongodb-server-selection-timeout-ms");
    expect(line).not.toContain("correct-horse-battery");
    expect(line).not.toContain("alice");
  });

  it("a MongoDB URI the driver refuses: names the setting", async () => {
    const line = await refused(["--store", "mongodb", "--mongodb-uri", "mongodb://db.example/?notAnOption=1"], 1);
    expect(line).toMatch(/^switchboard: --mongodb-uri .* is not a usable connection string: .*notanoption/i);
  });

  it("settings that contradict each other: names both values", async () => {
    const line = await refused(["--min-ttl-seconds", "60", "--default-ttl-seconds", "30"], 2);
    expect(line).toContain("--default-ttl-seconds (30) must lie between --min-ttl-seconds (60) and --max-ttl-seconds (3600)");
  });

  it("a port another process holds: names the address and --port", async () => {
    const holder = net.createServer();
    const port = await new Promise<number>((resolve) => holder.listen(0, "127.0.0.1", () => resolve((holder.address() as net.AddressInfo).port)));
    try {
      const line = await refused(["--host", "127.0.0.1", "--port", String(port)], 1);
      expect(line).toBe(`switchboard: cannot listen on 127.0.0.1:${port}: another process listens on 127.0.0.1:${port}; change --port (SWITCHBOARD_PORT), or stop that process\n`);
    } finally {
      holder.close();
    }
  });
});
