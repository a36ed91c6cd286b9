import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The real program (src/server/cli.ts) in a child process: what a user runs, so a crash or a leak is its own. */
export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Whether the process is still running. */
  alive(): boolean;
  /** process.memoryUsage() of the server right after a full garbage collection. */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage>;
  /** Resident memory of the server process now (VmRSS), in bytes. */
  rssBytes(): number;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then the exit code. */
  kill(): Promise<number | null>;
}

/**
 * Starts the server program with these SWITCHBOARD_* variables (port 0 on loopback unless given), and
 * these options for node (e.g. `--max-old-space-size=96`). It waits for the "listening" line, so the log
 * level must stay at info or below.
 */
export async function startServerProcess(env: Record<string, string> = {}, nodeArgs: readonly string[] = []): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, "--expose-gc", `${root}node_modules/vite-node/vite-node.mjs`, `${root}test/support/server-main-gc.ts`], {
    cwd: root,
    env: {
      ...process.env,
      SWITCHBOARD_HOST: "127.0.0.1",
      SWITCHBOARD_PORT: "0",
      SWITCHBOARD_DEMO: "off",
      // The lean-path-off test project (vitest.config.ts) holds the program to connect-node's route too.
      ...(process.env["SWITCHBOARD_TEST_LEAN_PATH"] === "off" && { SWITCHBOARD_LEAN_PATH: "off" }),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    let pending = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          logs.push(record);
          if (record["msg"] === "listening") resolve(String(record["url"]));
        } catch {
          logs.push({ level: "raw", msg: line });
        }
      }
    });
    void exited.then((code) => reject(new Error(`the server exited (${code}) before listening:\n${stderr}`)));
  });
  return {
    url,
    pid: child.pid!,
    logs,
    alive: () => exitCode === undefined,
    async memoryAfterGc() {
      const seen = logs.length;
      child.kill("SIGUSR2");
      for (;;) {
        const line = logs.slice(seen).find((r) => r["msg"] === "memory after gc");
        if (line) return line as unknown as NodeJS.MemoryUsage;
        if (exitCode !== undefined) throw new Error("the server exited");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    rssBytes() {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return match ? Number(match[1]) * 1024 : Number.NaN;
    },
    async stop() {
      if (exitCode === undefined) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (exitCode === undefined) child.kill("SIGKILL");
      return exited;
    },
  };
}
