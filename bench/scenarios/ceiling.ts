import { setMaxListeners } from "node:events";
import type { RateResult, Timing } from "../lib/load.js";
import { closedLoop } from "../lib/load.js";
import { round } from "../lib/stats.js";
import type { RunningTarget, SwitchboardOptions } from "../servers.js";
import { startCeiling, startSwitchboard } from "../servers.js";
import { peerClient } from "../switchboard-exchange.js";
import { holdStreams } from "./idle-streams.js";

export interface UnaryRates {
  /** `ceiling`: the bare stack (bench/ceiling-server.ts); `switchboard`: the real server. */
  readonly server: "ceiling" | "switchboard";
  /** CreateChannel calls per second over gRPC, one HTTP/2 connection per caller; `ratePerSec` counts calls here. */
  readonly results: RateResult[];
}

export interface IdleMemory {
  readonly server: "ceiling" | "switchboard";
  readonly streams: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  readonly kibPerStream: number;
}

export interface Ceiling {
  readonly unary: UnaryRates[];
  /** Idle streams on the bare stack (the Switchboard figure is scenario 3's). */
  readonly idle?: IdleMemory;
}

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function unaryRates(target: RunningTarget, concurrencies: readonly number[], timing: Timing): Promise<RateResult[]> {
  const clients = Array.from({ length: Math.max(...concurrencies) }, () => peerClient("grpc", target.url));
  const out: RateResult[] = [];
  for (const concurrency of concurrencies) {
    out.push(await closedLoop(concurrency, timing, target.process, async (slot) => void (await clients[slot]!.createChannel({}))));
  }
  return out;
}

/**
 * Scenario 6, the stack ceiling: CreateChannel calls per second against the
 * bare stack and against Switchboard with the same load generator, and the
 * memory of idle WatchChannel streams on the bare stack.
 */
export async function ceiling(concurrencies: readonly number[], timing: Timing, idleStreams: number, server: SwitchboardOptions): Promise<Ceiling> {
  const unary: UnaryRates[] = [];
  const bare = await startCeiling();
  try {
    unary.push({ server: "ceiling", results: await unaryRates(bare, concurrencies, timing) });
  } finally {
    await bare.process.stop();
  }
  const switchboard = await startSwitchboard({ ...server, args: [...(server.args ?? []), "--max-channels", "10000000"] });
  try {
    unary.push({ server: "switchboard", results: await unaryRates(switchboard, concurrencies, timing) });
  } finally {
    await switchboard.process.stop();
  }
  if (idleStreams === 0) return { unary };
  const idleTarget = await startCeiling();
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const held: Promise<void>[] = [];
  try {
    // The same warm-up as scenario 3, whose channels are created over one connection before measuring.
    const creator = peerClient("grpc", idleTarget.url);
    for (let i = 0; i < idleStreams / 2; i += 200) await Promise.all(Array.from({ length: 200 }, () => creator.createChannel({})));
    await sleep(1000);
    const before = idleTarget.process.rssBytes();
    const ids = Array.from({ length: Math.ceil(idleStreams / 2) }, (_, i) => ({ channelId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, token: "" }));
    held.push(...(await holdStreams(idleTarget.url, ids, idleStreams, stop.signal, () => {})));
    await sleep(1000);
    const after = idleTarget.process.rssBytes();
    const idle: IdleMemory = {
      server: "ceiling",
      streams: idleStreams,
      rssBeforeMiB: round(before / MiB),
      rssAfterMiB: round(after / MiB),
      kibPerStream: round((after - before) / 1024 / idleStreams, 2),
    };
    return { unary, idle };
  } finally {
    stop.abort();
    await Promise.all(held);
    await idleTarget.process.stop();
  }
}
