import { performance } from "node:perf_hooks";
import type { PinnedProcess } from "./processes.js";
import type { LatencySummary } from "./stats.js";
import { median, percentile, round, summarizeLatency } from "./stats.js";

/** How long each phase of a measurement lasts. */
export interface Timing {
  readonly warmupMs: number;
  readonly roundMs: number;
  readonly rounds: number;
}

/** One unit of work (an exchange) run by worker `slot`; relay latencies go into `relay`. */
export type Work = (slot: number, relay: number[]) => Promise<void>;

/** A process (or group of processes) whose CPU time a measurement reports beside the server's, e.g. its database. */
export interface CpuMeter {
  readonly name: string;
  /** CPU time used so far, in ms. */
  cpuMs(): number;
}

export interface RateResult {
  readonly concurrency: number;
  /** Median over the rounds of completed exchanges per second. */
  readonly ratePerSec: number;
  readonly roundRates: readonly number[];
  /** Whole-exchange duration over every measured round. */
  readonly exchangeMs: LatencySummary;
  /** Sender starting a write → the other peer receiving it. */
  readonly relayMs: LatencySummary;
  /** Median over rounds of the per-round p99 relay latency. */
  readonly relayP99MedianMs: number;
  /** CPU used by the server process, in % of one core (median over rounds). */
  readonly serverCpuPct: number;
  /**
   * Server CPU time per completed exchange, in ms (median over rounds): what one exchange
   * costs the server, a figure other work on the machine disturbs less than the rate.
   */
  readonly serverCpuMsPerExchange?: number;
  /** CPU used by the load generator, in % of one core (median over rounds). */
  readonly loadCpuPct: number;
  /** CPU time per completed exchange, in ms (median over rounds), of each process serving the server (e.g. its database). */
  readonly companionCpuMsPerExchange?: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly firstError?: string;
}

interface Round {
  completed: number;
  durations: number[];
  relay: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Closed loop: `concurrency` workers each run one exchange after another
 * for warm-up plus `rounds` × `roundMs`; each exchange counts in the round
 * it finishes in. Bounded in time: workers start nothing after the end, and
 * every exchange carries its own deadline.
 */
export async function closedLoop(concurrency: number, timing: Timing, server: PinnedProcess, work: Work, companions: readonly CpuMeter[] = []): Promise<RateResult> {
  let current: Round = { completed: 0, durations: [], relay: [] };
  let stopped = false;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async (slot: number) => {
    while (!stopped) {
      const round = current;
      const started = performance.now();
      try {
        await work(slot, round.relay);
        current.completed++;
        current.durations.push(performance.now() - started);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        await sleep(10);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, (_, slot) => worker(slot));
  await sleep(timing.warmupMs);
  const measured: { round: Round; seconds: number; serverCpu: number; serverCpuMs: number; loadCpu: number; companionMs: number[] }[] = [];
  const errorsBefore = errors;
  for (let i = 0; i < timing.rounds; i++) {
    const round: Round = { completed: 0, durations: [], relay: [] };
    current = round;
    const t0 = performance.now();
    const s0 = server.cpuMs();
    const c0 = companions.map((c) => c.cpuMs());
    const l0 = process.cpuUsage();
    await sleep(timing.roundMs);
    const seconds = (performance.now() - t0) / 1000;
    const l1 = process.cpuUsage(l0);
    const serverCpuMs = server.cpuMs() - s0;
    const serverCpu = serverCpuMs / 10 / seconds;
    const loadCpu = (l1.user + l1.system) / 10_000 / seconds;
    const companionMs = companions.map((c, k) => c.cpuMs() - c0[k]!);
    measured.push({ round, seconds, serverCpu, serverCpuMs, loadCpu, companionMs });
  }
  stopped = true;
  current = { completed: 0, durations: [], relay: [] };
  await Promise.all(workers);
  const rates = measured.map((m) => m.round.completed / m.seconds);
  const allRelay = measured.flatMap((m) => m.round.relay);
  return {
    concurrency,
    ratePerSec: round(median(rates)),
    roundRates: rates.map((r) => round(r)),
    exchangeMs: summarizeLatency(measured.flatMap((m) => m.round.durations)),
    relayMs: summarizeLatency(allRelay),
    relayP99MedianMs: round(median(measured.map((m) => percentile(m.round.relay, 99))), 3),
    serverCpuPct: round(median(measured.map((m) => m.serverCpu))),
    serverCpuMsPerExchange: round(median(measured.filter((m) => m.round.completed > 0).map((m) => m.serverCpuMs / m.round.completed)), 2),
    loadCpuPct: round(median(measured.map((m) => m.loadCpu))),
    ...(companions.length > 0 && {
      companionCpuMsPerExchange: Object.fromEntries(
        companions.map((c, k) => [c.name, round(median(measured.filter((m) => m.round.completed > 0).map((m) => m.companionMs[k]! / m.round.completed)), 2)]),
      ),
    }),
    errors: errors - errorsBefore,
    ...(firstError !== undefined && { firstError }),
  };
}

/**
 * Open loop: starts `ratePerSec` exchanges a second, at most `maxInFlight`
 * at once, until `signal` fires; returns how many started and failed.
 */
export async function pacedLoad(
  ratePerSec: number,
  maxInFlight: number,
  signal: AbortSignal,
  work: (slot: number) => Promise<void>,
): Promise<{ started: number; skipped: number; errors: number }> {
  const freeSlots = Array.from({ length: maxInFlight }, (_, i) => i);
  const running = new Set<Promise<void>>();
  let started = 0;
  let skipped = 0;
  let errors = 0;
  const t0 = performance.now();
  while (!signal.aborted) {
    const due = Math.floor(((performance.now() - t0) / 1000) * ratePerSec);
    while (started + skipped < due) {
      const slot = freeSlots.pop();
      if (slot === undefined) {
        skipped++;
        continue;
      }
      started++;
      const run: Promise<void> = work(slot)
        .catch(() => {
          errors++;
        })
        .finally(() => {
          freeSlots.push(slot);
          running.delete(run);
        });
      running.add(run);
    }
    await sleep(2);
  }
  await Promise.all(running);
  return { started, skipped, errors };
}
