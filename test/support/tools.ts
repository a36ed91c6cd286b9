import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { describe, it } from "vitest";

/** The repository root. */
export const repoRoot = resolve(import.meta.dirname, "../..");

/** Where `go install` puts programs, and the tests look for them after PATH. */
export const goBinDirs: readonly string[] = [
  ...(process.env["GOBIN"] ? [process.env["GOBIN"]] : []),
  join(process.env["GOPATH"] ?? join(homedir(), "go"), "bin"),
];

/** PATH with the Go bin folders appended, for child processes that run Go plugins. */
export const pathWithGoBin = [process.env["PATH"] ?? "", ...goBinDirs].join(delimiter);

/** The first executable named `name` on PATH and then in `extraDirs`, or undefined. */
export function findTool(name: string, extraDirs: readonly string[] = goBinDirs): string | undefined {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter).filter(Boolean), ...extraDirs];
  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe`, when nothing in `missing` is missing. Otherwise, with CI=true,
 * a suite whose one test fails saying what to install; elsewhere a skipped
 * suite and a note saying why.
 */
export function describeWithTools(title: string, missing: readonly string[], body: () => void): void {
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const why = `missing ${missing.join(", ")}: run \`bash scripts/provision-clients.sh\` (README: "Getting the tools")`;
  if (process.env["CI"] === "true") {
    describe(title, () => {
      it("finds the tools it needs", () => {
        throw new Error(why);
      });
    });
    return;
  }
  console.warn(`skipping "${title}": ${why}`);
  describe.skip(title, body);
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string | undefined>;
  readonly input?: string;
  /** Kills the program after this long (default 60 s), so a hung tool cannot hang the suite. */
  readonly timeoutMs?: number;
}

/** Runs a program to its end and returns its exit code and output; never throws for a non-zero exit. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = execFile(
      file,
      args,
      {
        cwd: options.cwd ?? repoRoot,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 60_000,
        killSignal: "SIGKILL",
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          if (error.killed) return done({ code: -1, stdout, stderr: `${stderr}\n(killed: ${error.message})` });
          return fail(error);
        }
        done({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}

/**
 * Whether a program a test needs is on PATH. In CI (CI=true) a missing one is
 * an error, so the run fails instead of skipping the test.
 */
export function requireTool(command: string, installHint: string): boolean {
  const found = findTool(command) !== undefined;
  if (!found && process.env["CI"] === "true") {
    throw new Error(`${command} is required in CI but is not installed: ${installHint}`);
  }
  if (!found) console.warn(`skipping: ${command} is not installed (${installHint})`);
  return found;
}
