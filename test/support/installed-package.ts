import { cp, mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunResult } from "./tools.js";
import { repoRoot, run } from "./tools.js";

/** What the package's build reads: copied so the build never writes into the checkout's dist/. */
const buildInputs = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "README.md", "src", "gen", "proto", "docs", "patches", "scripts/build-demo.mjs"];

export interface InstalledPackage {
  /** A copy of the source tree, built by `npm pack` (prepack). */
  readonly sourceDir: string;
  /** The `switchboard` command of a global install of the packed tarball. */
  readonly command: string;
  /** The directory holding node_modules/switchboard of that install: `import("switchboard")` works from here. */
  readonly libDir: string;
  /** Runs the installed command to its end. */
  run(args: readonly string[], env?: Record<string, string>): Promise<RunResult>;
  remove(): Promise<void>;
}

/** The environment of npm and of the command: this one without npm's per-run variables or our settings. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    env[key] = /^(npm_|SWITCHBOARD_|MONGODB_URI$)/i.test(key) ? undefined : value;
  }
  return { ...env, ...extra };
}

async function npm(args: readonly string[], cwd: string): Promise<RunResult> {
  const result = await run("npm", args, { cwd, env: cleanEnv(), timeoutMs: 240_000 });
  if (result.code !== 0) throw new Error(`npm ${args.join(" ")} exited with ${result.code}:\n${result.stderr}`);
  return result;
}

/**
 * Packs the package as `npm pack` would publish it (building it through prepack) and installs the
 * tarball globally into a temporary prefix, as a user would with `npm install -g`: only what the
 * "files" field ships, plus the production dependencies.
 */
export async function installPackedPackage(): Promise<InstalledPackage> {
  const dir = await mkdtemp(join(tmpdir(), "switchboard-package-"));
  const sourceDir = join(dir, "source");
  await mkdir(join(sourceDir, "scripts"), { recursive: true });
  for (const input of buildInputs) await cp(join(repoRoot, input), join(sourceDir, input), { recursive: true });
  await symlink(join(repoRoot, "node_modules"), join(sourceDir, "node_modules"), "dir");

  await npm(["pack", "--pack-destination", dir], sourceDir);
  const { name, version } = JSON.parse(await readFile(join(sourceDir, "package.json"), "utf8")) as { name: string; version: string };
  const tarball = `${name}-${version}.tgz`;
  const prefix = join(dir, "global");
  // As a user would: the tarball bundles its patched Connect modules, so it needs no install script.
  await npm(["install", "--global", "--prefix", prefix, "--no-audit", "--no-fund", "--prefer-offline", join(dir, tarball)], dir);

  const command = join(prefix, "bin", "switchboard");
  return {
    sourceDir,
    command,
    libDir: join(prefix, "lib"),
    run: (args, env = {}) => run(command, args, { cwd: dir, env: cleanEnv(env), timeoutMs: 30_000 }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
