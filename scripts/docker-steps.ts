// Runs the Dockerfile's steps without a Docker engine (CI has none): every stage in a directory of
// its own standing in for the image's root, each COPY from the repository or from an earlier stage,
// each RUN with sh in the WORKDIR and the ENV set so far. Then it starts the last stage's
// ENTRYPOINT + CMD with the image's environment on a free SWITCHBOARD_PORT, waits for the HEALTHCHECK
// command to pass (so the health check follows SWITCHBOARD_PORT), calls the server, checks the
// health check fails where nothing listens, and stops it with the STOPSIGNAL: it must exit 0.
// Usage: npx vite-node scripts/docker-steps.ts   (scripts/check-docker-steps.sh)
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import type { Stage } from "./lib/dockerfile.js";
import { lastStep, parseDockerfile, stageEnv } from "./lib/dockerfile.js";
import { freePort } from "../src/lib/free-port.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const stages = parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"));
const work = mkdtempSync(join(tmpdir(), "switchboard-docker-"));
const stageDirs = new Map<string, string>();

function fail(message: string): never {
  process.stderr.write(`docker steps: ${message}\n`);
  process.exit(1);
}

/** The environment of a step: this machine's (for PATH and npm's cache), without settings of ours. */
function baseEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !/^(SWITCHBOARD_|MONGODB_URI$)/.test(e[0])),
  );
}

/** Runs one stage's build steps; returns its root directory and final WORKDIR (a path in the image). */
function build(stage: Stage, index: number): { dir: string; workdir: string } {
  const major = /^node:(\d+)/.exec(stage.image)?.[1];
  if (major !== process.versions.node.split(".")[0]) {
    fail(`stage ${stage.name ?? index} is FROM ${stage.image}, but these steps run on Node ${process.version}: use the same major`);
  }
  const dir = join(work, `stage-${index}`);
  mkdirSync(dir, { recursive: true });
  const inImage = (path: string) => join(dir, path);
  let workdir = "/";
  const env: Record<string, string> = {};
  for (const step of stage.steps) {
    switch (step.kind) {
      case "workdir":
        workdir = posix.resolve(workdir, step.path);
        mkdirSync(inImage(workdir), { recursive: true });
        break;
      case "copy": {
        const from = step.from === undefined ? root : stageDirs.get(step.from);
        if (from === undefined) fail(`COPY --from=${step.from}: no earlier stage of that name`);
        const dest = posix.resolve(workdir, step.dest);
        const intoDir = step.dest.endsWith("/") || step.sources.length > 1;
        for (const source of step.sources) {
          const path = join(from, step.from === undefined ? source : posix.resolve("/", source));
          if (!existsSync(path)) fail(`COPY ${source}: not found`);
          const target = intoDir && !statSync(path).isDirectory() ? join(inImage(dest), basename(source)) : inImage(dest);
          cpSync(path, target, { recursive: true });
        }
        break;
      }
      case "run": {
        process.stdout.write(`docker steps: RUN ${step.command}\n`);
        const result = spawnSync("sh", ["-c", step.command], { cwd: inImage(workdir), stdio: "inherit", env: { ...baseEnv(), ...env } });
        if (result.status !== 0) fail(`RUN ${step.command} exited with ${result.status ?? result.signal}`);
        break;
      }
      case "env":
        env[step.name] = step.value;
        break;
      default:
        break; // USER, EXPOSE, HEALTHCHECK, STOPSIGNAL, ENTRYPOINT, CMD: used when the image runs
    }
  }
  if (stage.name !== undefined) stageDirs.set(stage.name, dir);
  stageDirs.set(String(index), dir);
  return { dir, workdir };
}

async function main(): Promise<void> {
  let image = { dir: "", workdir: "/" };
  stages.forEach((stage, index) => (image = build(stage, index)));
  const runtime = stages.at(-1)!;
  const cwd = join(image.dir, image.workdir);
  for (const dev of ["vitest", "typescript", "esbuild"]) {
    if (existsSync(join(cwd, "node_modules", dev))) fail(`the dev dependency ${dev} survived into the image`);
  }
  const user = lastStep(runtime, "user")?.user ?? "root";
  if (/^(root|0)(:|$)/.test(user)) fail(`the image runs as ${user}; it must not run as root`);

  const command = [...(lastStep(runtime, "entrypoint")?.command ?? []), ...(lastStep(runtime, "cmd")?.command ?? [])];
  const healthcheck = lastStep(runtime, "healthcheck")?.command;
  if (command.length === 0 || !healthcheck) fail("the last stage needs ENTRYPOINT or CMD, and HEALTHCHECK");
  const port = await freePort();
  const env = { ...baseEnv(), ...stageEnv(runtime), SWITCHBOARD_PORT: String(port) };
  const check = (overrides: Record<string, string> = {}) =>
    spawnSync(healthcheck[0]!, healthcheck.slice(1), { cwd, env: { ...env, ...overrides }, encoding: "utf8", timeout: 10_000 });

  let log = "";
  const server = spawn(command[0]!, command.slice(1), { cwd, env });
  server.stdout.on("data", (chunk: Buffer) => (log += chunk.toString()));
  server.stderr.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
  try {
    let healthy = false;
    for (let i = 0; i < 150 && !healthy && server.exitCode === null; i++) {
      healthy = check().status === 0;
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (!healthy) fail(`the HEALTHCHECK never passed on SWITCHBOARD_PORT=${port}; server log:\n${log}`);
    const elsewhere = await freePort();
    if (check({ SWITCHBOARD_PORT: String(elsewhere) }).status === 0) fail(`the HEALTHCHECK passed on port ${elsewhere}, where nothing listens`);

    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/signaling.v1.SignalingService/CreateChannel`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    if (!(await created.text()).includes('"channelId"')) fail("CreateChannel gave no channelId");
    if (!(await (await fetch(`${base}/demo`)).text()).includes("<title>Switchboard demo")) fail("/demo is not the demo page");
    if ((await fetch(`${base}/demo/demo.js`)).status !== 200) fail("/demo/demo.js is missing");
    if (!(await (await fetch(`${base}/`)).text()).includes("/demo")) fail("GET / does not point to /demo");
  } catch (error) {
    server.kill("SIGKILL");
    throw error;
  }
  const signal = (lastStep(runtime, "stopsignal")?.signal ?? "SIGTERM") as NodeJS.Signals;
  server.kill(signal);
  const code = await exited;
  if (code !== 0) fail(`the server exited with ${code} after ${signal}; its log:\n${log}`);
  process.stdout.write(`docker steps: ${stages.length} stages built; the image's command served on SWITCHBOARD_PORT=${port}, passed its health check and stopped cleanly on ${signal}\n`);
}

main()
  .catch((error: unknown) => fail(String(error instanceof Error ? (error.stack ?? error.message) : error)))
  .finally(() => rmSync(work, { recursive: true, force: true }));
