import type { ChildProcess } from "node:child_process";
import { execFile, spawn } from "node:child_process";
import * as dgram from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { IceService } from "../gen/signaling/v1/ice_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { waitForTcp } from "../src/lib/free-port.js";
import { loadConfig } from "../src/server/config.js";
import { FakeClock } from "./support/fake-clock.js";
import { signalingClient, startTestServer, transportFor } from "./support/test-server.js";
import { requireTool } from "./support/tools.js";

/*
 * A real coturn on loopback with use-auth-secret, and turnutils_uclient
 * allocating a relay with the credentials our GetIceServers hands out.
 * Install with scripts/provision-coturn.sh; under CI=true a missing coturn
 * fails this file.
 */
const provision = "run bash scripts/provision-coturn.sh";
const available = requireTool("turnserver", provision) && requireTool("turnutils_uclient", provision);

const sharedSecret = "coturn-test-secret-Vx93";
const realm = "switchboard.test";

let turnserver: ChildProcess | undefined;
let workDir: string;
let turnPort: number;
const servers: RunningServer[] = [];

/** A port free for both UDP and TCP on loopback right now. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const socket = dgram.createSocket("udp4");
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", () => {
        const { port } = socket.address();
        socket.close(() => resolve(port));
      });
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (tcpFree) return port;
  }
  throw new Error("no free port found on 127.0.0.1");
}


/** Our server, minting TURN REST credentials for the local coturn with `secret`. */
async function switchboard(secret: string, clock?: FakeClock): Promise<RunningServer> {
  const result = loadConfig([], {
    SWITCHBOARD_TURN_REST_URLS: `turn:127.0.0.1:${turnPort}?transport=udp`,
    SWITCHBOARD_TURN_REST_SECRET: secret,
    SWITCHBOARD_TURN_CREDENTIAL_TTL_SECONDS: "3600",
  });
  if (result.help) throw new Error("unexpected --help");
  const server = await startTestServer({ ice: result.config.ice }, clock ? { clock } : {});
  servers.push(server);
  return server;
}

async function mintedTurnServer(server: RunningServer) {
  const ice = createClient(IceService, transportFor("connect", server.url));
  // The service mints TURN credentials only for a channel's token holders (ice-require-token on by default).
  const { channelId, offererToken: token } = await signalingClient("connect", server.url).createChannel({});
  const [turn] = (await ice.getIceServers({ channelId, token })).iceServers;
  if (!turn) throw new Error("no TURN server returned");
  const match = /^turn:([\d.]+):(\d+)\?transport=udp$/.exec(turn.urls[0] ?? "");
  if (!match) throw new Error(`unexpected TURN URL ${turn.urls[0]}`);
  return { host: match[1]!, port: match[2]!, username: turn.username, credential: turn.credential };
}

/** Expects uclient to have been refused by a turnserver that is still up (so the refusal was about the credential). */
async function expectRefused(result: { exitCode: number; output: string }): Promise<void> {
  expect(result.exitCode).not.toBe(0);
  expect(result.output).toMatch(/Cannot complete Allocation/);
  expect(turnserver?.exitCode).toBeNull();
  await waitForTcp(turnPort);
}

/** Runs turnutils_uclient: allocate a relay and send a few messages through it (client to client). */
function uclient(turn: { host: string; port: string; username: string; credential: string }) {
  return new Promise<{ exitCode: number; output: string }>((resolve) => {
    execFile(
      "turnutils_uclient",
      ["-p", turn.port, "-u", turn.username, "-w", turn.credential, "-y", "-c", "-n", "3", "-l", "50", turn.host],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ exitCode, output: `${stdout}${stderr}` });
      },
    );
  });
}

describe.skipIf(!available)("TURN REST credentials against a real coturn", () => {
  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "switchboard-coturn-"));
    turnPort = await freePort();
    const relayBase = 40000 + Math.floor(Math.random() * 200) * 100;
    turnserver = spawn(
      "turnserver",
      [
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        `--listening-port=${turnPort}`,
        `--min-port=${relayBase}`,
        `--max-port=${relayBase + 99}`,
        "--use-auth-secret",
        `--static-auth-secret=${sharedSecret}`,
        `--realm=${realm}`,
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--allow-loopback-peers",
        `--userdb=${join(workDir, "turndb")}`,
        `--pidfile=${join(workDir, "turnserver.pid")}`,
        "--log-file=stdout",
      ],
      { stdio: "ignore" },
    );
    await waitForTcp(turnPort);
  });

  afterAll(async () => {
    for (const server of servers) await server.shutdown(0);
    turnserver?.kill("SIGTERM");
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("accepts a credential minted by GetIceServers with the shared secret", async () => {
    const turn = await mintedTurnServer(await switchboard(sharedSecret));
    const result = await uclient(turn);
    expect(result.output).not.toMatch(/Cannot complete Allocation/);
    expect(result.exitCode).toBe(0);
    const received = [...result.output.matchAll(/tot_recv_msgs=(\d+)/g)].at(-1)?.[1];
    expect(Number(received ?? 0)).toBeGreaterThan(0);
  });

  it("refuses a credential minted with another secret, and a tampered one", async () => {
    const wrong = await mintedTurnServer(await switchboard("some-other-secret"));
    await expectRefused(await uclient(wrong));

    const good = await mintedTurnServer(servers[0] ?? (await switchboard(sharedSecret)));
    const tampered = { ...good, username: good.username.replace(/^(\d+)/, (s) => String(Number(s) + 1)) };
    await expectRefused(await uclient(tampered));
  });

  it("refuses a credential once its expiry has passed", async () => {
    // A server whose clock is two hours behind mints credentials that expired an hour ago.
    const clock = new FakeClock(Date.now() - 2 * 3600_000);
    const expired = await mintedTurnServer(await switchboard(sharedSecret, clock));
    expect(Number(expired.username.split(":")[0])).toBeLessThan(Date.now() / 1000);
    await expectRefused(await uclient(expired));
  });
});
