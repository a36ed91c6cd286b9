import { execFile } from "node:child_process";
import * as http2 from "node:http2";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import {
  AddIceCandidatesRequestSchema,
  CreateChannelRequestSchema,
  SdpType,
  SetOfferRequestSchema,
  SignalingService,
} from "../../gen/signaling/v1/signaling_pb.js";
import type { PinnedProcess } from "../lib/processes.js";
import { freePort, startPinned, waitForTcp } from "../lib/processes.js";
import { round } from "../lib/stats.js";
import { loadCore, serverCore, startSwitchboard } from "../servers.js";
import { peerClient } from "../switchboard-exchange.js";

/**
 * Scenario 7, cost per call: server CPU per unary call under h2load (a C load
 * generator, so the client's own cost is not in the figures), for the bare
 * stacks and Switchboard on both routes, over Connect (JSON, h2c) and gRPC.
 * Each row: µs of server CPU per successful call, its ratio to bare
 * node:http2 answering a constant (same protocol, same run) and, for
 * Switchboard, to the same route's do-nothing handler of the same shape.
 */
export type Protocol = "connect" | "grpc";
export type Rpc = "CreateChannel" | "SetOffer" | "AddIceCandidates";
export const rpcs: readonly Rpc[] = ["CreateChannel", "SetOffer", "AddIceCandidates"];

export type ServerKind = "bare-http2" | "grpc-js" | "noop-connect-node" | "noop-lean" | "switchboard-connect-node" | "switchboard-lean";

export interface PerCallRow {
  readonly server: ServerKind;
  readonly protocol: Protocol;
  readonly rpc: Rpc;
  /** Median over repetitions of server CPU µs per successful call. */
  readonly usPerCall: number;
  readonly callsPerSec: number;
  /** usPerCall / bare node:http2's, same protocol and repetition set. */
  readonly vsBareHttp2?: number;
  /** Switchboard rows: usPerCall / the same route's do-nothing handler, same protocol and RPC. */
  readonly vsNoop?: number;
}

export interface PerCall {
  readonly seconds: number;
  readonly repetitions: number;
  readonly rows: PerCallRow[];
}

const sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
const candidate = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50001 typ host generation 0", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" };

interface Ids {
  readonly channelId: string;
  readonly token: string;
}

function requestOf(rpc: Rpc, ids: Ids): { schema: DescMessage; message: unknown } {
  switch (rpc) {
    case "CreateChannel":
      return { schema: CreateChannelRequestSchema, message: create(CreateChannelRequestSchema, {}) };
    case "SetOffer":
      return { schema: SetOfferRequestSchema, message: create(SetOfferRequestSchema, { ...ids, offer: { type: SdpType.OFFER, sdp } }) };
    case "AddIceCandidates":
      return { schema: AddIceCandidatesRequestSchema, message: create(AddIceCandidatesRequestSchema, { ...ids, candidates: [candidate] }) };
  }
}

function bodyOf(rpc: Rpc, protocol: Protocol, ids: Ids): Buffer {
  const { schema, message } = requestOf(rpc, ids);
  if (protocol === "connect") return Buffer.from(toJsonString(schema, message as never));
  const binary = toBinary(schema, message as never);
  const out = Buffer.alloc(5 + binary.length);
  out.writeUInt32BE(binary.length, 1);
  out.set(binary, 5);
  return out;
}

const headersOf = (protocol: Protocol): Record<string, string> =>
  protocol === "connect" ? { "content-type": "application/json" } : { "content-type": "application/grpc", te: "trailers" };

/** One call with node:http2, to check the body is answered with success before measuring it. */
function checkOnce(url: string, rpc: Rpc, protocol: Protocol, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": `/${SignalingService.typeName}/${rpc}`, ...headersOf(protocol) });
    let status = 0;
    let grpcStatus: string | undefined;
    let text = "";
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      grpcStatus ??= h["grpc-status"] as string | undefined;
    });
    stream.on("trailers", (t) => (grpcStatus = (t["grpc-status"] as string | undefined) ?? grpcStatus));
    stream.on("data", (c: Buffer) => (text += c.toString()));
    stream.on("end", () => {
      session.close();
      const ok = status === 200 && (protocol === "connect" || grpcStatus === "0");
      if (ok) resolve();
      else reject(new Error(`${rpc} over ${protocol} answered ${status} grpc-status ${grpcStatus}: ${text.slice(0, 200)}`));
    });
    stream.end(body);
  });
}

/** Runs h2load for `seconds` pinned to the load core; returns successful calls. */
function h2load(url: string, rpc: Rpc, protocol: Protocol, bodyFile: string, seconds: number): Promise<number> {
  const headerArgs = Object.entries(headersOf(protocol)).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  const args = ["-c", String(loadCore), "h2load", "-D", String(seconds), "-c", "4", "-m", "8", "-t", "1", "-d", bodyFile, ...headerArgs, `${url}/${SignalingService.typeName}/${rpc}`];
  return new Promise((resolve, reject) =>
    execFile("taskset", args, { maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) return reject(new Error(`h2load failed: ${error.message}\n${stdout}`));
      const match = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(stdout);
      if (!match) return reject(new Error(`unexpected h2load output:\n${stdout}`));
      resolve(Number(match[1]));
    }),
  );
}

const distRoot = fileURLToPath(new URL("../../", import.meta.url));

async function startServer(kind: ServerKind): Promise<{ process: PinnedProcess; url: string }> {
  if (kind === "switchboard-lean" || kind === "switchboard-connect-node") {
    return startSwitchboard({ store: "memory", args: ["--lean-path", kind === "switchboard-lean" ? "on" : "off", "--max-channels", "10000000"] });
  }
  const port = await freePort();
  const process = await startPinned(kind, serverCore, [`${distRoot}bench/per-call-servers.js`, kind, String(port)], () => waitForTcp(port));
  return { process, url: `http://127.0.0.1:${port}` };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Every (server, protocol, RPC) cell, `repetitions` times interleaved, `seconds` of load each. */
export async function perCall(
  seconds: number,
  repetitions: number,
  log: (line: string) => void = () => {},
  servers: readonly ServerKind[] = ["bare-http2", "grpc-js", "noop-connect-node", "noop-lean", "switchboard-connect-node", "switchboard-lean"],
): Promise<PerCall> {
  const dir = mkdtempSync(path.join(tmpdir(), "switchboard-per-call-"));
  const samples = new Map<string, { us: number[]; rate: number[] }>();
  for (let rep = 0; rep < repetitions; rep++) {
    for (const server of servers) {
      const target = await startServer(server);
      try {
        let ids: Ids = { channelId: "00000000-0000-4000-8000-000000000000", token: "A".repeat(43) };
        if (server.startsWith("switchboard")) {
          const created = await peerClient("connect", target.url).createChannel({});
          ids = { channelId: created.channelId, token: created.offererToken };
        }
        const protocols: Protocol[] = server === "grpc-js" ? ["grpc"] : ["connect", "grpc"];
        const cells: Rpc[] = server === "bare-http2" ? ["CreateChannel"] : [...rpcs];
        for (const protocol of protocols) {
          for (const rpc of cells) {
            const body = bodyOf(rpc, protocol, ids);
            const file = path.join(dir, `${rpc}-${protocol}.bin`);
            writeFileSync(file, body);
            await checkOnce(target.url, rpc, protocol, body);
            await h2load(target.url, rpc, protocol, file, 1); // warm-up
            const before = target.process.cpuMs();
            const calls = await h2load(target.url, rpc, protocol, file, seconds);
            const cpuMs = target.process.cpuMs() - before;
            const key = `${server}|${protocol}|${rpc}`;
            const s = samples.get(key) ?? { us: [], rate: [] };
            s.us.push((cpuMs * 1000) / Math.max(1, calls));
            s.rate.push(calls / seconds);
            samples.set(key, s);
            log(`per-call: ${server} ${protocol} ${rpc}: ${round(s.us.at(-1)!)} µs CPU/call, ${Math.round(calls / seconds)}/s`);
          }
        }
      } finally {
        await target.process.stop();
      }
    }
  }
  const rows: PerCallRow[] = [];
  const us = (key: string) => (samples.has(key) ? median(samples.get(key)!.us) : undefined);
  for (const [key, s] of samples) {
    const [server, protocol, rpc] = key.split("|") as [ServerKind, Protocol, Rpc];
    const mine = median(s.us);
    const bare = us(`bare-http2|${protocol}|CreateChannel`);
    const noopKind = server === "switchboard-lean" ? "noop-lean" : server === "switchboard-connect-node" ? "noop-connect-node" : undefined;
    const noop = noopKind ? us(`${noopKind}|${protocol}|${rpc}`) : undefined;
    rows.push({
      server,
      protocol,
      rpc,
      usPerCall: round(mine),
      callsPerSec: Math.round(median(s.rate)),
      ...(bare !== undefined && { vsBareHttp2: round(mine / bare, 2) }),
      ...(noop !== undefined && { vsNoop: round(mine / noop, 2) }),
    });
  }
  return { seconds, repetitions, rows };
}

const serverLabels: Record<ServerKind, string> = {
  "bare-http2": "bare `node:http2` (constant answer)",
  "grpc-js": "`@grpc/grpc-js` (constant answer)",
  "noop-connect-node": "do-nothing handlers, connect-node route",
  "noop-lean": "do-nothing handlers, lean path",
  "switchboard-connect-node": "Switchboard, connect-node route (`--lean-path off`)",
  "switchboard-lean": "Switchboard, lean path (default)",
};

/** The Markdown table of scenario 7. */
export function perCallTable(p: PerCall): string[] {
  const lines = [
    "| server | protocol | RPC | µs CPU per call | calls/s | × bare node:http2 | × same route's do-nothing handler |",
    "|---|---|---|---:|---:|---:|---:|",
  ];
  for (const r of p.rows) {
    lines.push(
      `| ${serverLabels[r.server]} | ${r.protocol === "connect" ? "Connect JSON" : "gRPC"} | ${r.rpc} | ${r.usPerCall} | ${r.callsPerSec} | ${r.vsBareHttp2 ?? ""} | ${r.vsNoop ?? ""} |`,
    );
  }
  return lines;
}

// Standalone: node dist/bench/scenarios/per-call.js [seconds] [repetitions] [server,server,…]
// (a subset of servers for a quick comparison, e.g. bare-http2,noop-lean,switchboard-lean)
if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  const [seconds = "3", repetitions = "1", only] = process.argv.slice(2);
  const servers = only?.split(",") as ServerKind[] | undefined;
  const result = await perCall(Number(seconds), Number(repetitions), (line) => process.stderr.write(`${line}\n`), servers);
  process.stdout.write(`${perCallTable(result).join("\n")}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
