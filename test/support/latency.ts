/** Latency figures of a series of calls, in milliseconds. */
export interface LatencySummary {
  readonly calls: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { calls: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? Number.NaN) };
}

/**
 * Calls `call` one after another (the next `gapMs` after the previous ends)
 * until `stop()` is called, recording each call's time; `stop()` resolves
 * with the summary once the call in progress ends. A failed call is recorded
 * in `failures`.
 */
export function probeLatency(call: () => Promise<unknown>, gapMs = 2): { stop(): Promise<LatencySummary & { failures: number }> } {
  const samples: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await call().catch(() => failures++);
      samples.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, gapMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ...summarize(samples), failures };
    },
  };
}
