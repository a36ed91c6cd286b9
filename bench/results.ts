import type { ExchangeRates, PeerJsRates } from "./scenarios/exchanges.js";
import type { CandidateMode, Protocol } from "./switchboard-exchange.js";
import type { Ceiling } from "./scenarios/ceiling.js";
import type { MassCancelRun } from "./scenarios/mass-cancel.js";
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
  /** Scenario 8: many watch streams opened, then cancelled at once, on both routes. */
  massCancel?: MassCancelRun[];
  /** Exchanges on the MongoDB store, in a run whose main store is memory: the first (default) backend. */
  mongodb?: MongoRows;
  /** The same on every backend the run measured (`--mongodb-backends`), the first being `mongodb`. */
  mongodbBackends?: MongoRows[];
  /** The memory store's gRPC rows measured beside them (same pairs), when the run did not measure scenario 1. */
  mongodbMemoryBaseline?: ExchangeRates[];
  pending: string[];
}

/** Exchanges on one MongoDB backend; `name` short for tables (absent in older reports). */
export interface MongoRows {
  readonly backend: string;
  readonly name?: string;
  readonly exchanges: ExchangeRates[];
  /** When and how these rows were measured, where that was another run than the report's (rows merged in with --merge-mongodb). */
  readonly measured?: string;
}

/** The headline series: gRPC, the short exchange (or, in an older report, the first gRPC series). */
export const headlineGrpc = (r: BenchResults) => headlineSeries(r, "grpc");

/** The headline series of a protocol: the short exchange where measured, else its first series. */
export const headlineSeries = (r: BenchResults, protocol: Protocol) =>
  (r.exchanges.find((e) => e.protocol === protocol && e.candidates === "short") ?? r.exchanges.find((e) => e.protocol === protocol))?.results;

const modeLabels: Record<CandidateMode, string> = {
  short: "short exchange (4 calls)",
  batch: "create + offer + batched candidates + close (8 calls)",
  single: "one call per candidate (16 calls)",
};

/** How a series is named in the report. */
export const seriesLabel = (e: ExchangeRates) => `Switchboard ${e.protocol}${e.candidates === undefined ? "" : `, ${modeLabels[e.candidates]}`}`;

const rateAt = (results: readonly { concurrency: number; ratePerSec: number }[] | undefined, c: number) =>
  results?.find((r) => r.concurrency === c)?.ratePerSec;

const protocolNames: Record<Protocol, string> = { grpc: "gRPC", connect: "Connect" };

/** The name of a ratio row: `gRPC vs PeerJS connect + relay`. */
export const ratioName = (protocol: Protocol, peer: "connect + relay" | "relay only") => `${protocolNames[protocol]} vs PeerJS ${peer}`;

/** Side-by-side ratios: each protocol's headline series over each PeerJS mode, at every concurrency both measured. */
export function ratios(r: BenchResults): Ratio[] {
  if (!r.peerjs) return [];
  const out: Ratio[] = [];
  for (const protocol of ["grpc", "connect"] as const) {
    const ours = headlineSeries(r, protocol);
    for (const [peerMode, peer] of [
      ["connect + relay", r.peerjs.connectAndRelay],
      ["relay only", r.peerjs.relayOnly],
    ] as const) {
      for (const s of ours ?? []) {
        const p = rateAt(peer, s.concurrency);
        if (p) out.push({ name: ratioName(protocol, peerMode), concurrency: s.concurrency, ratio: round(s.ratePerSec / p, 2) });
      }
    }
  }
  return out;
}

/** The issue's targets, each with the figure it is judged on. */
export function evaluateTargets(r: BenchResults, fullIdleStreams: number, fullTopLevel: number): Target[] {
  const ratioAt64 = (protocol: Protocol, peer: "connect + relay" | "relay only") =>
    r.ratios.find((x) => x.name === ratioName(protocol, peer) && x.concurrency === 64)?.ratio;
  const ratioTarget = (protocol: Protocol): Target => {
    const ratio = ratioAt64(protocol, "connect + relay");
    const rate = rateAt(headlineSeries(r, protocol), 64);
    return {
      name: `${protocolNames[protocol]}: exchanges/s ÷ PeerJS connect + relay ≥ 1.0 (64 pairs, short exchange)`,
      measured: ratio === undefined ? "not measured" : `${ratio} (${rate}/s; ${ratioAt64(protocol, "relay only") ?? "?"} vs PeerJS relay only)`,
      met: ratio === undefined ? undefined : ratio >= 1,
    };
  };
  const push = r.pushLatency?.ackToWatcherMs.p99;
  const idle = r.idleStreams;
  const low = r.growth[0];
  const high = r.growth.at(-1);
  const growthRatio = low && high && high !== low ? high.rate.ratePerSec / low.rate.ratePerSec : undefined;
  return [
    ratioTarget("grpc"),
    ratioTarget("connect"),
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
    ...(r.mongodbBackends ?? (r.mongodb ? [r.mongodb] : [])).flatMap((m) =>
      m.exchanges.map((e): [string, RateResult[]] => [`${seriesLabel(e)}, ${m.name ?? "mongodb"}`, e.results]),
    ),
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
  for (const m of r.massCancel ?? []) {
    if (m.probeFailures > 0) problems.push(`mass cancel (${m.route}, ${m.cancel}): ${m.probeFailures} unary probe calls failed`);
    if (m.route !== "bare-http2" && (m.releasedSeconds === null || Number.isNaN(m.releasedSeconds))) problems.push(`mass cancel (${m.route}, ${m.cancel}): the streams were never all released`);
  }
  if (r.idleStreams) {
    if (r.idleStreams.streamsEndedEarly > 0) problems.push(`idle streams: ${r.idleStreams.streamsEndedEarly} ended while held`);
    if (r.idleStreams.pushWhileHeld.ackToWatcherMs.count === 0) problems.push("idle streams: no change reached a watcher while they were held");
  }
  return problems;
}
