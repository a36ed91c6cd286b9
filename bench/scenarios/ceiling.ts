import type { RateResult, Timing } from "../lib/load.js";
import { closedLoop } from "../lib/load.js";
import type { RunningTarget, SwitchboardOptions } from "../servers.js";
import { startCeiling, startSwitchboard } from "../servers.js";
import { peerClient } from "../switchboard-exchange.js";
import { idleOnBareServer } from "./idle-streams.js";

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
  return { unary, idle: { server: "ceiling", ...(await idleOnBareServer(await startCeiling(), idleStreams)) } };
}
