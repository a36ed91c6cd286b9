import { setMaxListeners } from "node:events";
import type { Timing } from "../lib/load.js";
import { pacedLoad } from "../lib/load.js";
import type { PushSamples } from "../lib/push-probe.js";
import { newPushSamples, pushProbe } from "../lib/push-probe.js";
import type { LatencySummary } from "../lib/stats.js";
import { median, percentile, round, summarizeLatency } from "../lib/stats.js";
import type { SwitchboardOptions } from "../servers.js";
import { startSwitchboard } from "../servers.js";
import { peerClient, switchboardExchange } from "../switchboard-exchange.js";
import { peerPairs } from "./exchanges.js";

export interface PushLatency {
  readonly backgroundRatePerSec: number;
  readonly backgroundStarted: number;
  readonly backgroundErrors: number;
  readonly probes: number;
  readonly probeIntervalMs: number;
  /** Write acknowledged → event at the watcher. */
  readonly ackToWatcherMs: LatencySummary;
  /** Median over rounds of the per-round p99. */
  readonly ackToWatcherP99MedianMs: number;
  /** Write started → event at the watcher. */
  readonly sendToWatcherMs: LatencySummary;
  /** Share of events that reached the watcher before the writer had its acknowledgement. */
  readonly arrivedBeforeAckPct: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const probes = 4;
const probeIntervalMs = 20;

/** Measures push latency with probes while exchanges run in the background at `backgroundRate` a second. */
export async function measurePush(url: string, backgroundRate: number, timing: Timing, maxInFlight = 64) {
  const pairs = peerPairs("grpc", url, maxInFlight);
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const background = backgroundRate > 0
    ? pacedLoad(backgroundRate, maxInFlight, stop.signal, (slot) => switchboardExchange(pairs[slot]!))
    : Promise.resolve({ started: 0, skipped: 0, errors: 0 });
  let current = newPushSamples();
  const running = Array.from({ length: probes }, () =>
    pushProbe(peerClient("grpc", url), peerClient("grpc", url), probeIntervalMs, stop.signal, () => current),
  );
  await sleep(timing.warmupMs);
  const rounds: PushSamples[] = [];
  for (let i = 0; i < timing.rounds; i++) {
    current = newPushSamples();
    rounds.push(current);
    await sleep(timing.roundMs);
  }
  current = newPushSamples();
  stop.abort();
  const [load] = await Promise.all([background, ...running]);
  const ack = rounds.flatMap((r) => r.ack);
  const beforeAck = rounds.reduce((n, r) => n + r.beforeAck, 0);
  return {
    backgroundRatePerSec: round(backgroundRate),
    backgroundStarted: load.started,
    backgroundErrors: load.errors + load.skipped,
    probes,
    probeIntervalMs,
    ackToWatcherMs: summarizeLatency(ack),
    ackToWatcherP99MedianMs: round(median(rounds.map((r) => percentile(r.ack, 99))), 3),
    sendToWatcherMs: summarizeLatency(rounds.flatMap((r) => r.send)),
    arrivedBeforeAckPct: round((100 * beforeAck) / Math.max(1, ack.length)),
  } satisfies PushLatency;
}

/** Scenario 2: push latency on one instance at half the measured peak exchange rate. */
export async function pushLatency(peakRatePerSec: number, timing: Timing, server: SwitchboardOptions): Promise<PushLatency> {
  const target = await startSwitchboard(server);
  try {
    return await measurePush(target.url, peakRatePerSec / 2, timing);
  } finally {
    await target.process.stop();
  }
}
