import type * as http2 from "node:http2";
import { constants } from "node:http2";
import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { LatencySummary } from "../lib/stats.js";
import { round, summarizeLatency } from "../lib/stats.js";
import { openRawWatch, rawSession } from "../lib/raw-watch.js";
import type { RunningTarget, SwitchboardOptions } from "../servers.js";
import { startBareHttp2, startSwitchboard } from "../servers.js";
import { peerClient } from "../switchboard-exchange.js";
import type { WatchedChannel } from "./idle-streams.js";
import { watched } from "./idle-streams.js";

/** Switchboard with the lean path on or off, or the bare `node:http2` server (the floor: what Node itself does per stream). */
export type MassCancelRoute = "lean" | "connect-node" | "bare-http2";
/** `destroy-connections`: every HTTP/2 connection destroyed at once; `rst-streams`: RST_STREAM CANCEL on every stream at once. */
export type MassCancelMode = "destroy-connections" | "rst-streams";

export interface MassCancelRun {
  readonly route: MassCancelRoute;
  readonly cancel: MassCancelMode;
  readonly streams: number;
  /** Milliseconds to open each successive batch of `batch` streams (all of a batch at once). */
  readonly openMsPerBatch: number[];
  readonly batch: number;
  /** Seconds from the cancel until the server's switchboard_open_streams{kind="channel"} read 0; null for the bare server (it counts nothing). */
  readonly releasedSeconds: number | null;
  /** The unary probe (CreateChannel over gRPC on its own connection, one every 10 ms, open loop) in the second before the cancel. */
  readonly probeBefore: LatencySummary;
  /** The probe's calls that were in flight at or after the cancel, until a second after the streams were released. */
  readonly probeDuring: LatencySummary;
  /** Probe calls that failed during the whole run (should be 0). */
  readonly probeFailures: number;
}

const streamsPerConnection = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openStreams(target: RunningTarget): Promise<number> {
  const res = await fetch(`${target.url}/metrics`);
  const text = await res.text();
  const line = text.split("\n").find((l) => l.startsWith('switchboard_open_streams{kind="channel"}'));
  return line ? Number(line.split(" ").at(-1)) : Number.NaN;
}

interface ProbeSample {
  readonly start: number;
  readonly ms: number;
  readonly ok: boolean;
}

function startProbe(url: string): { samples: ProbeSample[]; stop(): Promise<void> } {
  const samples: ProbeSample[] = [];
  const worker = new Worker(new URL("../lib/unary-probe-worker.js", import.meta.url), { workerData: { url, intervalMs: 10 } });
  const stopped = new Promise<void>((resolve) => {
    worker.on("message", (m: ProbeSample | "stopped") => {
      if (m === "stopped") resolve();
      else samples.push(m);
    });
    worker.once("exit", () => resolve());
  });
  return {
    samples,
    async stop() {
      worker.postMessage("stop");
      await stopped;
      await worker.terminate();
    },
  };
}

async function oneRun(route: MassCancelRoute, mode: MassCancelMode, streams: number, server: SwitchboardOptions): Promise<MassCancelRun> {
  const batch = Math.min(1000, streams);
  const bare = route === "bare-http2";
  const target = bare
    ? await startBareHttp2()
    : await startSwitchboard({
        ...server,
        args: [...(server.args ?? []), "--lean-path", route === "lean" ? "on" : "off", "--max-watch-streams", String(streams + 1000)],
      });
  const sessions: http2.ClientHttp2Session[] = [];
  const held: http2.ClientHttp2Stream[] = [];
  try {
    const creator = peerClient("grpc", target.url);
    const channels: WatchedChannel[] = [];
    // The bare server answers every WatchChannel alike: any ids do.
    if (bare) for (let i = 0; i < streams / 2; i++) channels.push({ channelId: randomUUID(), token: "" });
    else for (let i = 0; i < streams / 2; i += 200) {
      channels.push(...(await Promise.all(Array.from({ length: Math.min(200, streams / 2 - i) }, async () => watched(await creator.createChannel({}))))));
    }
    const openMsPerBatch: number[] = [];
    for (let first = 0; first < streams; first += batch) {
      const started = performance.now();
      const opened = await Promise.all(
        Array.from({ length: Math.min(batch, streams - first) }, (_, k) => {
          const i = first + k;
          const s = Math.floor(i / streamsPerConnection);
          while (sessions.length <= s) sessions.push(rawSession(target.url));
          const channel = channels[i >> 1]!;
          return openRawWatch(sessions[s]!, channel.channelId, channel.token);
        }),
      );
      openMsPerBatch.push(round(performance.now() - started));
      held.push(...opened);
    }
    const open = bare ? held.length : await openStreams(target);
    if (open !== streams) throw new Error(`mass-cancel: the server counts ${open} open channel streams, not ${streams}`);
    const probe = startProbe(target.url);
    await sleep(1500);
    const cancelAt = performance.timeOrigin + performance.now();
    if (mode === "destroy-connections") for (const session of sessions) session.destroy();
    else for (const stream of held) stream.close(constants.NGHTTP2_CANCEL);
    let releasedAt = Number.NaN;
    const deadline = Date.now() + 180_000;
    // The bare server counts nothing: its probe window is the lean path's usual one (release, then a second).
    if (bare) await sleep(1000);
    while (!bare && Date.now() < deadline) {
      if ((await openStreams(target)) === 0) {
        releasedAt = performance.timeOrigin + performance.now();
        break;
      }
      await sleep(100);
    }
    await sleep(1000);
    await probe.stop();
    const end = bare ? cancelAt + 2000 : Number.isNaN(releasedAt) ? Infinity : releasedAt + 1000;
    const before = probe.samples.filter((s) => s.ok && s.start >= cancelAt - 1000 && s.start + s.ms < cancelAt);
    const during = probe.samples.filter((s) => s.start + s.ms >= cancelAt && s.start <= end);
    return {
      route,
      cancel: mode,
      streams,
      batch,
      openMsPerBatch,
      releasedSeconds: bare ? null : round((releasedAt - cancelAt) / 1000, 2),
      probeBefore: summarizeLatency(before.map((s) => s.ms)),
      probeDuring: summarizeLatency(during.map((s) => s.ms)),
      probeFailures: probe.samples.filter((s) => !s.ok).length,
    };
  } finally {
    for (const session of sessions) session.destroy();
    await target.process.stop();
  }
}

/**
 * Scenario 8, mass cancel: `streams` WatchChannel streams (gRPC, 100 per
 * HTTP/2 connection, 2 per channel) opened in batches of 1,000 (the time of
 * each batch shows whether opening slows as streams accumulate), then all
 * cancelled in one turn, while a unary probe in its own thread measures how
 * long the server keeps a CreateChannel waiting. The bare node:http2 server
 * (the floor) and both routes (lean path on and off), both ways of
 * cancelling: a fresh server for each of the six runs.
 */
export async function massCancel(streams: number, server: SwitchboardOptions, log: (msg: string) => void): Promise<MassCancelRun[]> {
  const runs: MassCancelRun[] = [];
  for (const route of ["bare-http2", "lean", "connect-node"] as const) {
    for (const mode of ["destroy-connections", "rst-streams"] as const) {
      log(`mass cancel: ${route}, ${mode}, ${streams} streams`);
      runs.push(await oneRun(route, mode, streams, server));
    }
  }
  return runs;
}

/** Running as a program: `node dist/bench/scenarios/mass-cancel.js [streams] [lean|connect-node] [destroy-connections|rst-streams]` prints one run. */
if (process.argv[1] && import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1]).href) {
  const [streams = "20000", route = "lean", mode = "rst-streams", profileDir] = process.argv.slice(2);
  const run = await oneRun(route as MassCancelRoute, mode as MassCancelMode, Number(streams), {
    store: "memory",
    ...(profileDir && { cpuProfileDir: profileDir }),
  });
  process.stdout.write(`${JSON.stringify(run, null, 1)}\n`);
  process.exit(0);
}
