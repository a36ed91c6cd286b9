import type { ChildProcess } from "node:child_process";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
export { freePort, waitForTcp } from "../../src/lib/free-port.js";

/** Pins this process (every thread) to one core, so the load generator stays off the server's core. */
export function pinSelf(core: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(core), String(process.pid)], { stdio: "ignore" });
}

export interface PinnedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resident memory now, in bytes (VmRSS). */
  rssBytes(): number;
  /** CPU time used so far (user + system), in milliseconds. */
  cpuMs(): number;
  /** Everything it wrote to stderr, for error messages. */
  stderr(): string;
  stop(): Promise<void>;
}

const clockTicksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** Starts `node args…` pinned to `core` with taskset, and waits until `ready` resolves. */
export function startPinned(
  name: string,
  core: number,
  nodeArgs: readonly string[],
  ready: (child: ChildProcess) => Promise<void>,
  timeoutMs = 20_000,
): Promise<PinnedProcess> {
  return startPinnedCommand(name, core, [process.execPath, ...nodeArgs], ready, timeoutMs);
}

/** Starts `command` (program and arguments) pinned to `core` with taskset, and waits until `ready` resolves. */
export async function startPinnedCommand(
  name: string,
  core: number,
  command: readonly string[],
  ready: (child: ChildProcess) => Promise<void>,
  timeoutMs = 20_000,
): Promise<PinnedProcess> {
  // taskset execs the program, so the child's pid is the server's own.
  const child = spawn("taskset", ["-c", String(core), ...command], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-8000);
  });
  child.stdout!.resume();
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`${name} exited with code ${code} before it was ready:\n${err}`))),
  );
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} was not ready after ${timeoutMs} ms:\n${err}`)), timeoutMs);
  });
  try {
    await Promise.race([ready(child), exited, timedOut]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const pid = child.pid!;
  return {
    name,
    pid,
    rssBytes: () => {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return match ? Number(match[1]) * 1024 : Number.NaN;
    },
    cpuMs: () => {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) start at state, field 3.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
    },
    stderr: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** Polls `url` until it answers 200, every 50 ms. */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

