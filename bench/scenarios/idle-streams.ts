import { setMaxListeners } from "node:events";
import type { Timing } from "../lib/load.js";
import { round } from "../lib/stats.js";
import type { RunningTarget, SwitchboardOptions } from "../servers.js";
import { startBareHttp2, startSwitchboard } from "../servers.js";
import type { SignalingClient } from "../switchboard-exchange.js";
import { peerClient } from "../switchboard-exchange.js";
import type { PushLatency } from "./push-latency.js";
import { measurePush } from "./push-latency.js";

export interface IdleStreams {
  readonly streams: number;
  readonly channels: number;
  readonly streamsPerConnection: number;
  readonly openSeconds: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  readonly kibPerStream: number;
  readonly idleSeconds: number;
  readonly keepAliveIntervalMs: number;
  /** Server CPU while idle (keep-alives included), in % of one core. */
  readonly idleCpuPct: number;
  /** Streams that ended before the scenario let them go (should be 0). */
  readonly streamsEndedEarly: number;
  /** A change made while the streams are held, measured with probes. */
  readonly pushWhileHeld: PushLatency;
  /** The same streams held by a bare node:http2 server (bench/bare-http2-server.ts): what Node itself costs. */
  readonly floor?: IdleFloor;
}

export interface IdleFloor {
  readonly streams: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  readonly kibPerStream: number;
}

const MiB = 1024 * 1024;
const streamsPerConnection = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

/** A channel to watch, with the token that lets a watcher take one of its slots. */
export interface WatchedChannel {
  readonly channelId: string;
  readonly token: string;
}

export const watched = (created: { channelId: string; offererToken: string }): WatchedChannel => ({ channelId: created.channelId, token: created.offererToken });

/**
 * Opens `streams` WatchChannel streams over gRPC, `streamsPerConnection` per
 * HTTP/2 connection, spread over `channelIds`; resolves once each has its
 * first message, with one promise per stream that settles when the stream
 * ends (`endedEarly` is called when that happens before `stop` fires).
 */
export async function holdStreams(
  url: string,
  channels: readonly WatchedChannel[],
  streams: number,
  stop: AbortSignal,
  endedEarly: () => void,
): Promise<Promise<void>[]> {
  const held: Promise<void>[] = [];
  const clients = Array.from({ length: Math.ceil(streams / streamsPerConnection) }, () => peerClient("grpc", url));
  const watch = async (client: SignalingClient, { channelId, token }: WatchedChannel) => {
    // With the channel's token: tokenless watchers are capped per client (max-tokenless-watchers-per-client).
    const iterator = client.watchChannel({ channelId, token }, { signal: stop })[Symbol.asyncIterator]();
    await iterator.next();
    held.push(
      (async () => {
        while (!(await iterator.next()).done) {
          // keep-alives; nothing else happens on these channels
        }
        if (!stop.aborted) endedEarly();
      })().catch(() => {
        if (!stop.aborted) endedEarly();
      }),
    );
  };
  const slots = Array.from({ length: streams }, (_, i) => i);
  await inBatches(slots, 500, (i) => watch(clients[i % clients.length]!, channels[i % channels.length]!));
  return held;
}

/**
 * RSS before and after `streams` idle streams on a do-nothing server (the
 * bare stack, the bare node:http2 server), opened as scenario 3 opens them:
 * after as many CreateChannel calls over one connection, 100 per connection.
 * Stops the server.
 */
export async function idleOnBareServer(target: RunningTarget, streams: number): Promise<IdleFloor> {
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const held: Promise<void>[] = [];
  try {
    const creator = peerClient("grpc", target.url);
    for (let i = 0; i < streams / 2; i += 200) await Promise.all(Array.from({ length: 200 }, () => creator.createChannel({})));
    await sleep(1000);
    const before = target.process.rssBytes();
    const ids = Array.from({ length: Math.ceil(streams / 2) }, (_, i) => ({ channelId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, token: "" }));
    held.push(...(await holdStreams(target.url, ids, streams, stop.signal, () => {})));
    await sleep(1000);
    const after = target.process.rssBytes();
    return { streams, rssBeforeMiB: round(before / MiB), rssAfterMiB: round(after / MiB), kibPerStream: round((after - before) / 1024 / streams, 2) };
  } finally {
    stop.abort();
    await Promise.all(held);
    await target.process.stop();
  }
}

/** Scenario 3: hold `streams` idle WatchChannel streams (two per channel, as two peers would). */
export async function idleStreams(streams: number, idleMs: number, probeTiming: Timing, server: SwitchboardOptions): Promise<IdleStreams> {
  const keepAliveIntervalMs = 15_000;
  const target = await startSwitchboard({
    ...server,
    args: [...(server.args ?? []), "--max-watch-streams", String(streams + 1000), "--keep-alive-interval-ms", String(keepAliveIntervalMs)],
  });
  const stop = new AbortController();
  // Every held stream listens to this one signal.
  setMaxListeners(0, stop.signal);
  const held: Promise<void>[] = [];
  let endedEarly = 0;
  try {
    const creator = peerClient("grpc", target.url);
    const channels: WatchedChannel[] = [];
    await inBatches(Array.from({ length: Math.ceil(streams / 2) }), 200, async () => {
      channels.push(watched(await creator.createChannel({})));
    });
    await sleep(1000);
    const rssBefore = target.process.rssBytes();
    const opened = Date.now();
    held.push(...(await holdStreams(target.url, channels, streams, stop.signal, () => endedEarly++)));
    const openSeconds = (Date.now() - opened) / 1000;
    await sleep(1000);
    const rssAfter = target.process.rssBytes();
    const cpu0 = target.process.cpuMs();
    await sleep(idleMs);
    const idleCpuPct = (target.process.cpuMs() - cpu0) / 10 / (idleMs / 1000);
    const pushWhileHeld = await measurePush(target.url, 0, probeTiming);
    const health = await fetch(`${target.url}/healthz`);
    await health.arrayBuffer();
    return {
      streams,
      channels: channels.length,
      streamsPerConnection,
      openSeconds: round(openSeconds),
      rssBeforeMiB: round(rssBefore / MiB),
      rssAfterMiB: round(rssAfter / MiB),
      kibPerStream: round((rssAfter - rssBefore) / 1024 / streams, 2),
      idleSeconds: idleMs / 1000,
      keepAliveIntervalMs,
      idleCpuPct: round(idleCpuPct, 2),
      streamsEndedEarly: endedEarly,
      pushWhileHeld,
    };
  } finally {
    stop.abort();
    await Promise.all(held);
    await target.process.stop();
  }
}

/** Scenario 3 and its floor: Switchboard first, then the bare node:http2 server with as many streams. */
export async function idleStreamsWithFloor(streams: number, idleMs: number, probeTiming: Timing, server: SwitchboardOptions): Promise<IdleStreams> {
  const ours = await idleStreams(streams, idleMs, probeTiming, server);
  return { ...ours, floor: await idleOnBareServer(await startBareHttp2(), streams) };
}
