import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { freePort } from "../../src/lib/free-port.js";

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Resident memory of the server process now, in bytes. */
  rssBytes(): number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

/** Runs the server program (src/server/main.ts, as `npm start` would) in its own process on a free loopback port. */
export async function startServerProcess(args: readonly string[] = [], nodeArgs: readonly string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [...nodeArgs, "node_modules/vite-node/vite-node.mjs", "src/server/main.ts", "--", "--host", "127.0.0.1", "--port", String(port), ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let alive = true;
  void exited.then(() => (alive = false));
  for (let i = 0; ; i++) {
    if (!alive) throw new Error(`the server exited before it was ready:\n${output}`);
    if (i > 300) throw new Error(`the server was not ready after 30 s:\n${output}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output: () => output,
    exited,
    rssBytes() {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return match ? Number(match[1]) * 1024 : Number.NaN;
    },
  };
}
