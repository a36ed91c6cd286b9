import { fileURLToPath } from "node:url";
import type { PinnedProcess } from "./lib/processes.js";
import { freePort, startPinned, waitForHttp, waitForTcp } from "./lib/processes.js";
import { commandNodeFlags } from "../src/server/node-flags.js";

/** The core the servers under test run on; the load generator takes the other one. */
export const serverCore = 0;
export const loadCore = 1;

export interface RunningTarget {
  readonly process: PinnedProcess;
  /** Base URL for clients (http:// for Switchboard, ws:// for PeerJS). */
  readonly url: string;
}

export interface SwitchboardOptions {
  /** The server's --store value. */
  readonly store: string;
  /** More server flags, e.g. --max-channels for the growth scenario or a store's connection settings. */
  readonly args?: readonly string[];
  /** Write a V8 CPU profile of the server into this directory. */
  readonly cpuProfileDir?: string;
}

/**
 * One load generator is one client address: per-client limits (rates, tokenless watchers: every answerer
 * watches before it has a token) would measure the limiter, not the server.
 */
export const unlimitedClientArgs = [
  "--rate-limit-create", "0", "--rate-limit-write", "0", "--rate-limit-read", "0", "--rate-limit-stream", "0",
  "--max-tokenless-watchers-per-client", "1000000",
];

const distRoot = fileURLToPath(new URL("../", import.meta.url));

/** Starts the built server (dist/src/server/cli.js) pinned to the server core, on a free loopback port. */
export async function startSwitchboard(options: SwitchboardOptions): Promise<RunningTarget> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const profile = options.cpuProfileDir ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir] : [];
  const cli = `${distRoot}src/server/cli.js`;
  const args = [
    ...profile,
    // As the `switchboard` command, npm start and the Dockerfile start it.
    ...commandNodeFlags(cli),
    cli,
    "--host", "127.0.0.1",
    "--port", String(port),
    "--log-level", "warn",
    "--shutdown-grace-ms", "1000",
    "--store", options.store,
    ...unlimitedClientArgs,
    ...(options.args ?? []),
  ];
  const process = await startPinned("switchboard", serverCore, args, () => waitForHttp(`${url}/healthz`));
  return { process, url };
}

/** Starts the PeerJS server (npm `peer`) pinned to the server core, on a free loopback port. */
export async function startPeerJs(): Promise<RunningTarget> {
  const port = await freePort();
  const process = await startPinned("peerjs", serverCore, [`${distRoot}bench/peerjs-server.js`, String(port)], () =>
    waitForHttp(`http://127.0.0.1:${port}/`),
  );
  return { process, url: `ws://127.0.0.1:${port}` };
}

/** Starts the stack-ceiling server (bench/ceiling-server.ts) pinned to the server core, on a free loopback port. */
export async function startCeiling(): Promise<RunningTarget> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = await startPinned("ceiling", serverCore, [`${distRoot}bench/ceiling-server.js`, String(port)], () => waitForHttp(`${url}/healthz`));
  return { process, url };
}

/** Starts the bare node:http2 server (bench/bare-http2-server.ts) pinned to the server core, on a free loopback port. */
export async function startBareHttp2(): Promise<RunningTarget> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = await startPinned("bare-http2", serverCore, [`${distRoot}bench/bare-http2-server.js`, String(port)], () => waitForTcp(port));
  return { process, url };
}
