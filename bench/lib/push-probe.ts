import { performance } from "node:perf_hooks";
import { SdpType } from "../../gen/signaling/v1/signaling_pb.js";
import type { SignalingClient } from "../switchboard-exchange.js";
import { offerSdp } from "./payloads.js";

/** Push latency samples, in ms. */
export interface PushSamples {
  /** Write acknowledged → event at the watcher; 0 when the event arrived first. */
  readonly ack: number[];
  /** Write started → event at the watcher. */
  readonly send: number[];
  /** How many events reached the watcher before the writer had its acknowledgement. */
  beforeAck: number;
}

export const newPushSamples = (): PushSamples => ({ ack: [], send: [], beforeAck: 0 });

interface Timestamps {
  start?: number;
  ack?: number;
  arrived?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One writer replaces the offer of its own channel every `intervalMs` while
 * another client watches the channel; each write is matched to its event by
 * the channel version. Runs until `signal` fires; samples go to `sink()`.
 */
export async function pushProbe(
  writer: SignalingClient,
  watcher: SignalingClient,
  intervalMs: number,
  signal: AbortSignal,
  sink: () => PushSamples,
): Promise<void> {
  const { channelId, offererToken } = await writer.createChannel({});
  const byVersion = new Map<number, Timestamps>();
  const settle = (version: number, update: Timestamps) => {
    const t = Object.assign(byVersion.get(version) ?? {}, update);
    byVersion.set(version, t);
    if (t.start === undefined || t.ack === undefined || t.arrived === undefined) return;
    byVersion.delete(version);
    const samples = sink();
    samples.send.push(t.arrived - t.start);
    samples.ack.push(Math.max(0, t.arrived - t.ack));
    if (t.arrived < t.ack) samples.beforeAck++;
  };
  const stream = watcher.watchChannel({ channelId, token: offererToken }, { signal });
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next(); // the snapshot: the stream is open
  const watching = (async () => {
    for (let m = await iterator.next(); !m.done; m = await iterator.next()) {
      if (m.value.event.case === "offer") settle(m.value.version, { arrived: performance.now() });
    }
  })().catch(() => {});
  const offer = { type: SdpType.OFFER, sdp: offerSdp };
  while (!signal.aborted) {
    const start = performance.now();
    try {
      const { version } = await writer.setOffer({ channelId, token: offererToken, offer }, { signal });
      settle(version, { start, ack: performance.now() });
    } catch {
      break;
    }
    await sleep(intervalMs);
  }
  await watching;
  await writer.closeChannel({ channelId, token: offererToken }).catch(() => {});
}
