import type { ExchangeRates, PeerJsRates } from "./scenarios/exchanges.js";
import type { Ceiling } from "./scenarios/ceiling.js";
import type { PerCall } from "./scenarios/per-call.js";
import type { GrowthLevel } from "./scenarios/growth.js";
import type { IdleStreams } from "./scenarios/idle-streams.js";
import type { PushLatency } from "./scenarios/push-latency.js";
import type { RateResult, Timing } from "./lib/load.js";
import { round } from "./lib/stats.js";

export interface Meta {
  readonly date: string;
  readonly command: string;
  readonly quick: boolean;
  readonly store: string;
  /** The database behind `--store mongodb`, when the run started one or used MONGODB_URI. */
  readonly storeBackend?: string;
  readonly node: string;
  readonly os: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly serverCore: number;
  readonly loadCore: number;
  readonly peerVersion: string;
  readonly timing: Timing;
  readonly loadAverageStart: readonly number[];
  readonly loadAverageEnd: readonly number[];
  /** Other work was running on the machine at the start (1-minute load average above 0.5). */
  readonly noisy: boolean;
  readonly durationSeconds: number;
}

export interface Target {
  readonly name: string;
  readonly measured: string;
  /** Undefined when the run did not measure it (quick mode, scenario left out). */
  readonly met: boolean | undefined;
}

export interface Ratio {
  readonly name: string;
  readonly concurrency: number;
  readonly ratio: number;
}

export interface BenchResults {
  meta: Meta;
  targets: Target[];
  ratios: Ratio[];
  exchanges: ExchangeRates[];
  peerjs?: PeerJsRates;
  pushLatency?: PushLatency;
  idleStreams?: IdleStreams;
  growth: GrowthLevel[];
  ceiling?: Ceiling;
  /** Scenario 7: server CPU per unary call under h2load, bare stacks and both routes. */
  perCall?: PerCall;
  /** Exchanges on the MongoDB store, in a run whose main store is memory. */
  mongodb?: { readonly backend: string; readonly exchanges: ExchangeRates[] };
  pending: string[];
}

/** The headline series: gRPC with batched candidates (or, in an older report, the only gRPC series). */
export const headlineGrpc = (r: BenchResults) =>
  (r.exchanges.find((e) => e.protocol === "grpc" && e.candidates === "batch") ?? r.exchanges.find((e) => e.protocol === "grpc"))?.results;

/** How a series is named in the report. */
export const seriesLabel = (e: ExchangeRates) =>
  `Switchboard ${e.protocol}${e.candidates === undefined ? "" : e.candidates === "batch" ? ", batched candidates" : ", one call per candidate"}`;

const rateAt = (results: readonly { concurrency: number; ratePerSec: number }[] | undefined, c: number) =>
  results?.find((r) => r.concurrency === c)?.ratePerSec;

/** Side-by-side ratios: Switchboard gRPC over each PeerJS mode, at every concurrency both measured. */
export function ratios(r: BenchResults): Ratio[] {
  const grpc = headlineGrpc(r);
  if (!grpc || !r.peerjs) return [];
  const out: Ratio[] = [];
  for (const [name, peer] of [
    ["vs PeerJS connect + relay", r.peerjs.connectAndRelay],
    ["vs PeerJS relay only", r.peerjs.relayOnly],
  ] as const) {
    for (const s of grpc) {
      const p = rateAt(peer, s.concurrency);
      if (p) out.push({ name, concurrency: s.concurrency, ratio: round(s.ratePerSec / p, 2) });
    }
  }
  return out;
}

/** The targets, each with the figure it is judged on. */
export function evaluateTargets(r: BenchResults, fullIdleStreams: number, fullTopLevel: number): Target[] {
  const grpc64 = rateAt(headlineGrpc(r), 64);
  const ratio64 = r.ratios.find((x) => x.name === "vs PeerJS connect + relay" && x.concurrency === 64)?.ratio;
  const strict64 = r.ratios.find((x) => x.name === "vs PeerJS relay only" && x.concurrency === 64)?.ratio;
  const push = r.pushLatency?.ackToWatcherMs.p99;
  const idle = r.idleStreams;
  const low = r.growth[0];
  const high = r.growth.at(-1);
  const growthRatio = low && high && high !== low ? high.rate.ratePerSec / low.rate.ratePerSec : undefined;
  return [
    {
      name: "≥ 1,000 exchanges/s over gRPC, 64 pairs",
      measured: grpc64 === undefined ? "not measured" : `${grpc64}/s`,
      met: grpc64 === undefined ? undefined : grpc64 >= 1000,
    },
    {
      name: "ratio Switchboard ÷ PeerJS ≥ 1.0 (64 pairs; PeerJS connect + relay as the issue defines it)",
      measured: ratio64 === undefined ? "not measured" : `${ratio64} (${strict64 ?? "?"} vs PeerJS relay only)`,
      met: ratio64 === undefined ? undefined : ratio64 >= 1,
    },
    {
      name: "push latency p99 ≤ 5 ms at half peak (write ack → watcher, one instance)",
      measured: push === undefined ? "not measured" : `${push} ms`,
      met: push === undefined ? undefined : push <= 5,
    },
    {
      name: `${fullIdleStreams} idle watch streams in ≤ 300 MiB`,
      measured: idle ? `${idle.rssAfterMiB} MiB with ${idle.streams} streams (${idle.kibPerStream} KiB each)` : "not measured",
      met: idle && idle.streams >= fullIdleStreams ? idle.rssAfterMiB <= 300 : undefined,
    },
    {
      name: `rate at ${fullTopLevel} live channels within 10 % of the rate at 1,000`,
      measured:
        growthRatio === undefined ? "not measured" : `${high!.rate.ratePerSec}/s at ${high!.liveChannels} vs ${low!.rate.ratePerSec}/s at ${low!.liveChannels} (${round(growthRatio * 100)} %)`,
      met: growthRatio === undefined || high!.liveChannels < fullTopLevel ? undefined : growthRatio >= 0.9,
    },
  ];
}

/**
 * What says the harness itself is broken, as opposed to slow: no exchange
 * completing even with one pair, exchanges failing for a reason other than
 * their deadline, idle streams ending, no push delivered. No timing is judged.
 */
export function harnessProblems(r: BenchResults): string[] {
  const problems: string[] = [];
  const series: [string, readonly RateResult[]][] = [
    ...r.exchanges.map((e): [string, RateResult[]] => [seriesLabel(e), e.results]),
    ...(r.peerjs
      ? [["PeerJS connect + relay", r.peerjs.connectAndRelay] as [string, RateResult[]], ["PeerJS relay only", r.peerjs.relayOnly] as [string, RateResult[]]]
      : []),
    ...r.growth.map((g): [string, RateResult[]] => [`growth at ${g.liveChannels} channels`, [g.rate]]),
    ...(r.mongodb?.exchanges ?? []).map((e): [string, RateResult[]] => [`${seriesLabel(e)}, mongodb`, e.results]),
    ...(r.ceiling?.unary ?? []).map((u): [string, RateResult[]] => [`ceiling scenario, ${u.server}`, u.results]),
  ];
  for (const [name, results] of series) {
    const lowest = results[0];
    if (lowest && lowest.ratePerSec === 0 && lowest.concurrency === 1) problems.push(`${name}: no exchange completed with one pair`);
    for (const x of results) {
      if (x.errors > 0 && !/longer than/.test(x.firstError ?? "")) problems.push(`${name} at ${x.concurrency} pairs: ${x.errors} failed: ${x.firstError}`);
    }
  }
  if (r.pushLatency && r.pushLatency.ackToWatcherMs.count === 0) problems.push("push latency: no event reached a watcher");
  if (r.idleStreams) {
    if (r.idleStreams.streamsEndedEarly > 0) problems.push(`idle streams: ${r.idleStreams.streamsEndedEarly} ended while held`);
    if (r.idleStreams.pushWhileHeld.ackToWatcherMs.count === 0) problems.push("idle streams: no change reached a watcher while they were held");
  }
  return problems;
}
